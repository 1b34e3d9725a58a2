// The embedded adapters: blobs and tags kept under one directory (default ./.disco).
//   <dir>/blobs/<2 hex>/<name$version>   immutable blob files
//   <dir>/tags/<tag>/<revision>.json     one file per tag version; the highest revision is current
//   <dir>/tmp/                           partial writes, renamed/linked into place when complete
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, constants as fsc, createWriteStream, fstatSync, fsyncSync, linkSync, lstatSync, openSync, promises as fsp, renameSync, rmSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { FileHandle } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { isMainThread } from 'node:worker_threads'
import { DiscoError } from '../errors.js'
import { readChunks } from '../util/read-chunks.js'
import type { BlobInfo, BlobSource, BlobStore, GetOptions, PutOptions, TagRecord, TagState, TagStore } from './types.js'

/** Hash directories LocalBlobStore.list reads at once. */
const LIST_AHEAD = 16

/** URL prefix of the local blob store, shaped like the original's replica URLs. */
export const LOCAL_BLOB_PREFIX = 'disco://localhost/ddfs/vol0/blob/'

function tmpName(dir: string, what: string): string {
  return join(dir, `${what}.${process.pid}.${randomBytes(6).toString('hex')}.partial`)
}

async function removeOlder(dir: string, olderThanMs: number, keep: (name: string) => boolean = () => false, dryRun = false): Promise<number> {
  let n = 0
  const now = Date.now()
  let names: string[]
  try { names = await fsp.readdir(dir) } catch { return 0 }
  for (const name of names) {
    if (keep(name)) continue
    try {
      const st = await fsp.lstat(join(dir, name))
      if (now - st.mtimeMs >= olderThanMs) {
        if (!dryRun) await fsp.rm(join(dir, name), { recursive: true, force: true })
        n++
      }
    } catch { /* raced with another sweeper */ }
  }
  return n
}

/**
 * Creates a directory and its missing parents, one level at a time (Node's recursive mkdir spins
 * forever under paths such as /proc/x). A path that cannot be a directory is `DDFS_STORE_UNAVAILABLE`.
 * Resolves to true when `path` itself was created.
 */
export async function ensureDir(path: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.mkdir(path)
      return true
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EEXIST') {
        const st = await fsp.stat(path).catch(() => undefined)
        if (st?.isDirectory()) return false
        throw new DiscoError('DDFS_STORE_UNAVAILABLE', `expected ${path} to be a directory, found ${st ? 'a file' : 'a dangling link'}`)
      }
      if (code === 'ENOENT' && attempt === 0 && dirname(path) !== path) { await ensureDir(dirname(path)); continue }
      throw new DiscoError('DDFS_STORE_UNAVAILABLE', `cannot create the store directory ${path}: ${code ?? String(e)}`, { cause: e })
    }
  }
  return false
}

/** The read buffer for a file of `size` bytes: 1 MiB, or the size (plus one, to see the end in one read) when smaller. */
function readSize(size: number): number {
  return Math.max(1, Math.min(1 << 20, size + 1))
}

/** Flushes a file or directory to stable storage (directories: the entries in them). */
async function syncPath(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

/** Writes a small file and flushes it before returning (when `durable`). */
async function writeDurable(path: string, data: string | Uint8Array, durable: boolean): Promise<void> {
  const fh = await fsp.open(path, 'wx')
  try {
    await fh.writeFile(data)
    if (durable) await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * The file operations of blob puts, checks and deletes: asynchronous on the main thread,
 * synchronous off it. A pool worker's asynchronous call waits its turn in the process's libuv
 * threadpool behind every other thread's file work while the worker idles (a map task storing its
 * partitions, a reduce task locating its inputs and storing its result), where the call itself
 * takes microseconds.
 */
interface BlobFileOps {
  /** Creates `path` (failing if it exists) with `data`, flushed when `durable`. */
  writeNew(path: string, data: Uint8Array, durable: boolean): Promise<void>
  rename(from: string, to: string): Promise<void>
  link(from: string, to: string): Promise<void>
  stat(path: string): Promise<Stats>
  lstat(path: string): Promise<Stats>
  unlink(path: string): Promise<void>
  /** Removes a file if it is there. */
  remove(path: string): Promise<void>
}

const asyncOps: BlobFileOps = {
  writeNew: (path, data, durable) => writeDurable(path, data, durable),
  rename: (from, to) => fsp.rename(from, to),
  link: (from, to) => fsp.link(from, to),
  stat: (path) => fsp.stat(path),
  lstat: (path) => fsp.lstat(path),
  unlink: (path) => fsp.unlink(path),
  remove: (path) => fsp.rm(path, { force: true }),
}

// Async functions, so that a failure is a rejection as on the main thread.
const syncOps: BlobFileOps = {
  async writeNew(path, data, durable) {
    const fd = openSync(path, 'wx')
    try {
      for (let at = 0; at < data.byteLength;) at += writeSync(fd, data, at)
      if (durable) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  },
  async rename(from, to) { renameSync(from, to) },
  async link(from, to) { linkSync(from, to) },
  async stat(path) { return statSync(path) },
  async lstat(path) { return lstatSync(path) },
  async unlink(path) { unlinkSync(path) },
  async remove(path) { rmSync(path, { force: true }) },
}

const blobOps = isMainThread ? asyncOps : syncOps

/** Options of the local adapters. */
export interface LocalStoreOptions {
  /** fsync blobs, tag versions and their directories before they become visible (default true). */
  durable?: boolean
  /** Blobs: the URL prefix (default LOCAL_BLOB_PREFIX); Disco's job data store has its own, so DDFS never claims its URLs. */
  urlPrefix?: string
}

/** True when a decoded blob name could be a file name here: not empty, no `/`, `\\` or NUL, not `.`/`..`. */
export function fileNameOk(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && Buffer.byteLength(name) <= 255
}

/**
 * Blobs as files under `<dir>/blobs`, written to `<dir>/tmp` first and renamed into place.
 *
 * @example
 * const b = new LocalBlobStore('/tmp/store')
 * (await b.put('x$1', Buffer.from('hi'))).url // 'disco://localhost/ddfs/vol0/blob/9d/x$1'
 */
export class LocalBlobStore implements BlobStore {
  /** Absolute store directory. */
  readonly dir: string
  private readonly blobDir: string
  private readonly tmpDir: string
  private readonly durable: boolean
  /** The URL prefix of this store's blobs. */
  readonly prefix: string

  constructor(dir: string, opts: LocalStoreOptions = {}) {
    this.dir = resolve(dir)
    this.blobDir = join(this.dir, 'blobs')
    this.tmpDir = join(this.dir, 'tmp')
    this.durable = opts.durable ?? true
    this.prefix = opts.urlPrefix ?? LOCAL_BLOB_PREFIX
  }

  /** The 2-hex hash directory of a versioned name. */
  private static hashDir(name: string): string {
    return createHash('md5').update(name).digest('hex').slice(0, 2)
  }

  /** The URL of a stored name (percent-encoded except the grammar's `$ : @`). */
  private urlOf(hh: string, name: string): string {
    return this.prefix + `${hh}/${encodeURIComponent(name).replace(/%24/g, '$').replace(/%3A/gi, ':').replace(/%40/g, '@')}`
  }

  /**
   * File path of a URL this store owns. The URL is decoded once and must be exactly the URL this
   * store would give that name (hash directory and encoding included), so `..`, encoded or
   * double-encoded separators, NUL and absolute paths never reach the file system:
   * `DDFS_BAD_URL`. The path is always `<dir>/blobs/<2 hex>/<one file name>`.
   */
  pathOf(url: string): string {
    const { hh, name } = this.parse(url)
    return join(this.blobDir, hh, name)
  }

  private parse(url: string): { hh: string; name: string } {
    const bad = (why: string): DiscoError =>
      new DiscoError('DDFS_BAD_URL', `expected a blob URL ${this.prefix}<hh>/<name> of this store, found ${JSON.stringify(String(url).slice(0, 200))} (${why})`)
    if (typeof url !== 'string' || !this.owns(url)) throw bad('another scheme or store')
    const rest = url.slice(this.prefix.length)
    const slash = rest.indexOf('/')
    const hh = rest.slice(0, slash)
    let name: string
    try { name = decodeURIComponent(rest.slice(slash + 1)) } catch { throw bad('bad percent-encoding') }
    if (slash !== 2 || !fileNameOk(name)) throw bad('not a blob file name')
    if (this.urlOf(LocalBlobStore.hashDir(name), name) !== url) throw bad('not in canonical form')
    return { hh, name }
  }

  /**
   * Refuses hash directories (and a blobs directory) that are symlinks: they could point outside
   * the store. False when one is missing. `seen` shares the looks of one batch of blobs (each
   * directory is looked at once per batch, at the time of the batch, never remembered past it).
   */
  private async checkDirs(hh: string, seen?: Map<string, Promise<boolean>>): Promise<boolean> {
    // Both looked at side by side (one round trip on the main thread), judged in order.
    const looks = [this.blobDir, join(this.blobDir, hh)].map((d) => {
      let ok = seen?.get(d)
      if (!ok) {
        ok = LocalBlobStore.isRealDir(d)
        seen?.set(d, ok)
      }
      ok.catch(() => {}) // judged below (the second only when the first passes)
      return ok
    })
    for (const ok of looks) if (!(await ok)) return false
    return true
  }

  /** True for a directory, false when missing; DDFS_BAD_URL for a symlink or a file. */
  private static async isRealDir(d: string): Promise<boolean> {
    const st = await blobOps.lstat(d).catch(() => undefined)
    if (!st) return false
    if (!st.isDirectory()) throw new DiscoError('DDFS_BAD_URL', `store directory ${d} is a symlink or file, not a directory: refusing to follow it`)
    return true
  }

  owns(url: string): boolean {
    return url.startsWith(this.prefix)
  }

  /** Directories this store object made sure of, or is making sure of (a put skips ensureDir for its temp directory; one that vanished is made again). */
  private readonly ready = new Map<string, Promise<boolean>>()

  /** ensureDir, once per directory while it stays (puts side by side share the first one's): true for the put that created `path`. */
  private async dirReady(path: string): Promise<boolean> {
    const known = this.ready.get(path)
    if (known) {
      await known
      return false
    }
    const making = ensureDir(path)
    this.ready.set(path, making)
    making.catch(() => { if (this.ready.get(path) === making) this.ready.delete(path) })
    return making
  }

  async put(name: string, data: BlobSource, opts: PutOptions = {}): Promise<BlobInfo> {
    if (typeof name !== 'string' || !fileNameOk(name)) {
      throw new DiscoError('DDFS_BAD_BLOB_NAME', `expected a blob name of 1-255 bytes without "/", "\\" or NUL, found ${JSON.stringify(String(name).slice(0, 120))}`)
    }
    const hh = LocalBlobStore.hashDir(name)
    const dir = join(this.blobDir, hh)
    const final = join(dir, name)
    // Bytes can be written again should a known directory have vanished; a stream only once.
    const bytes = data instanceof Uint8Array
    const made = bytes ? (path: string) => this.dirReady(path) : ensureDir
    const write = async (): Promise<void> => {
      await made(this.tmpDir)
      const tmp = tmpName(this.tmpDir, 'blob')
      let moved = false
      // link() refuses to overwrite: a blob name is written once; rename() replaces atomically.
      const place = async (): Promise<void> => {
        if (opts.replace) {
          await blobOps.rename(tmp, final)
          moved = true
        } else {
          await blobOps.link(tmp, final).catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'EEXIST') throw new DiscoError('DDFS_BLOB_EXISTS', `blob ${name} is already stored`)
            throw e
          })
        }
      }
      try {
        if (bytes) await blobOps.writeNew(tmp, data, this.durable)
        else {
          await pipeline(Readable.from(data, { objectMode: false }), createWriteStream(tmp, { flags: 'wx' }))
          if (this.durable) await syncPath(tmp)
        }
        // The hash directory is made when the file finds it missing (most blobs go where others
        // went before: no mkdir per blob); a new one's own entry must survive power loss too.
        await place().catch(async (e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT' && e.code !== 'ENOTDIR') throw e
          if ((await ensureDir(dir)) && this.durable) await syncPath(this.blobDir)
          await place()
        })
        // The new entry survives power loss before anyone is told its URL.
        if (this.durable) await syncPath(dir)
      } finally {
        if (!moved) await blobOps.remove(tmp)
      }
    }
    try {
      await write()
    } catch (e) {
      // A directory removed since it was made (the store's directory deleted and made anew): make it again, once.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !bytes || this.ready.size === 0) throw e
      this.ready.clear()
      await write()
    }
    const st = await blobOps.stat(final)
    return { url: this.urlOf(hh, name), size: st.size, mtime: st.mtimeMs }
  }

  async size(url: string): Promise<number | undefined> {
    const { hh, name } = this.parse(url)
    if (!(await this.checkDirs(hh))) return undefined
    const st = await blobOps.lstat(join(this.blobDir, hh, name)).catch(() => undefined)
    return st?.isFile() ? st.size : undefined
  }

  /**
   * The files of stored blobs, for readers that open them themselves (with O_NOFOLLOW: the hash
   * directories are checked here, each file is theirs to refuse); DDFS_BLOB_NOT_FOUND when one is
   * not stored. The blobs directory and each hash directory are looked at once for the whole batch.
   */
  async filePaths(urls: readonly string[]): Promise<string[]> {
    const seen = new Map<string, Promise<boolean>>()
    return Promise.all(urls.map(async (url) => {
      const { hh, name } = this.parse(url)
      if (!(await this.checkDirs(hh, seen))) throw new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} is not stored in ${this.dir}`)
      return join(this.blobDir, hh, name)
    }))
  }

  async get(url: string, opts: GetOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { hh, name } = this.parse(url)
    const missing = (): DiscoError => new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} is not stored in ${this.dir}`)
    if (!(await this.checkDirs(hh))) throw missing()
    const path = join(this.blobDir, hh, name)
    const refused = (e: NodeJS.ErrnoException): never => {
      if (e.code === 'ENOENT') throw missing()
      if (e.code === 'ELOOP') throw new DiscoError('DDFS_BAD_URL', `blob ${url} is a symlink in ${this.dir}: refusing to follow it`)
      throw e
    }
    // O_NOFOLLOW: a symlink planted in the store is refused, never followed. Off the main thread (a
    // map task in a pool worker) the file is read synchronously (a number, for readChunks): a read
    // from the page cache takes a fraction of a millisecond, while an asynchronous one waits its
    // turn in the process's libuv threadpool behind every other thread's file work (and the gunzip
    // of compressed blobs), leaving the task's thread idle meanwhile.
    const flags = fsc.O_RDONLY | fsc.O_NOFOLLOW
    let file: FileHandle | number
    try {
      file = isMainThread ? await fsp.open(path, flags) : openSync(path, flags)
    } catch (e) {
      return refused(e as NodeJS.ErrnoException)
    }
    try {
      const st = typeof file === 'number' ? fstatSync(file) : await file.stat()
      if (!st.isFile()) throw new DiscoError('DDFS_BAD_URL', `blob ${url} is not a regular file in ${this.dir}`)
      // Reads of up to 1 MiB, but no bigger than the blob: each read allocates its whole buffer,
      // and a job's many small map outputs each cost a 1 MiB buffer (and GC work) otherwise. One
      // new buffer per read (unless `reuse`), read when asked for: a map task's thread frees it
      // young (peak RSS on uncompressed blobs).
      return readChunks(file, readSize(st.size), opts)
    } catch (e) {
      if (typeof file === 'number') closeSync(file)
      else await file.close()
      throw e
    }
  }

  async delete(url: string): Promise<void> {
    await this.deleteOne(url)
  }

  /**
   * Deletes many blobs (as {@link delete} does each; a job's map outputs): every URL is checked
   * first (DDFS_BAD_URL deletes nothing), and the blobs directory and each hash directory are
   * looked at once for the whole batch.
   */
  async deleteAll(urls: readonly string[]): Promise<void> {
    for (const url of urls) this.parse(url)
    const seen = new Map<string, Promise<boolean>>()
    // Up to 64 unlinks queued at once (the threadpool runs a few at a time anyway).
    for (let i = 0; i < urls.length; i += 64) await Promise.all(urls.slice(i, i + 64).map((url) => this.deleteOne(url, seen)))
  }

  private async deleteOne(url: string, seen?: Map<string, Promise<boolean>>): Promise<void> {
    const { hh, name } = this.parse(url)
    if (!(await this.checkDirs(hh, seen))) return
    // unlink removes a symlink itself, never its target.
    await blobOps.unlink(join(this.blobDir, hh, name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e
    })
  }

  async *list(): AsyncIterable<BlobInfo> {
    let dirs: string[]
    try { dirs = (await fsp.readdir(this.blobDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name) } catch { return }
    dirs.sort()
    /** The blobs of one hash directory, in name order. */
    const dirBlobs = async (hh: string): Promise<BlobInfo[]> => {
      let names: string[]
      try { names = (await fsp.readdir(join(this.blobDir, hh), { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name) } catch { return [] }
      // Only files this store could have written (right hash directory): never symlinks or strays.
      const own = names.sort().filter((name) => LocalBlobStore.hashDir(name) === hh && fileNameOk(name))
      const found = await Promise.all(own.map((name) => fsp.lstat(join(this.blobDir, hh, name)).then(
        (st): BlobInfo => ({ url: this.urlOf(hh, name), size: st.size, mtime: st.mtimeMs }),
        () => undefined, // deleted meanwhile
      )))
      return found.filter((b) => b !== undefined)
    }
    // A few hash directories read at once (a store has up to 256, mostly small), listed in order.
    for (let i = 0; i < dirs.length; i += LIST_AHEAD) {
      for (const blobs of await Promise.all(dirs.slice(i, i + LIST_AHEAD).map(dirBlobs))) yield* blobs
    }
  }

  async sweep(olderThanMs: number, dryRun = false): Promise<number> {
    return removeOlder(this.tmpDir, olderThanMs, (n) => !n.startsWith('blob.'), dryRun)
  }
}

/**
 * Tags as version files under `<dir>/tags/<tag>/<revision>.json`. A write prepares the file in
 * `<dir>/tmp` and hard-links it to the next revision: link() fails if that revision exists, which
 * is an atomic compare-and-set across processes, and readers only ever see complete versions.
 *
 * @example
 * const t = new LocalTagStore('/tmp/store')
 * await t.write('a', record, 0) // 1
 * await t.write('a', record, 0) // undefined (revision 1 exists)
 */
export class LocalTagStore implements TagStore {
  /** Absolute store directory. */
  readonly dir: string
  private readonly tagDir: string
  private readonly tmpDir: string
  private readonly durable: boolean
  /** Every this many revisions a writer prunes superseded versions... */
  private static readonly PRUNE_EVERY = 64
  /** ...that are older than this. The age guards compare-and-set: a revision number is only
   * reusable after its file is gone, and a writer never stalls this long between check and link.
   * Superseded versions are emptied at once (see write), so what waits is a 0-byte marker. */
  private static readonly PRUNE_AGE_MS = 10 * 60_000

  constructor(dir: string, opts: LocalStoreOptions = {}) {
    this.dir = resolve(dir)
    this.tagDir = join(this.dir, 'tags')
    this.tmpDir = join(this.dir, 'tmp')
    this.durable = opts.durable ?? true
  }

  /** Longest tag name kept verbatim as a directory name (file names stop at 255 bytes). */
  private static readonly MAX_DIR_NAME = 200

  /** Directory of a tag: its name, or for long names `#<head>-<sha256>` ('#' is not in the grammar). */
  private dirOf(name: string): string {
    if (name.length <= LocalTagStore.MAX_DIR_NAME) return join(this.tagDir, name)
    return join(this.tagDir, `#${name.slice(0, 120)}-${createHash('sha256').update(name).digest('hex')}`)
  }

  private revisions(name: string): Promise<number[]> {
    return this.revisionsIn(this.dirOf(name))
  }

  /** Sorted revision numbers of the version files in a tag directory ([] when it is missing). */
  private async revisionsIn(dir: string): Promise<number[]> {
    let files: string[]
    try { files = await fsp.readdir(dir) } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return []
      throw e
    }
    const revs: number[] = []
    for (const f of files) {
      const m = /^(\d+)\.json$/.exec(f)
      if (m) revs.push(Number(m[1]))
    }
    return revs.sort((a, b) => a - b)
  }

  async read(name: string): Promise<TagState | undefined> {
    return this.readIn(this.dirOf(name), name)
  }

  /** The newest version in a tag directory, looking again when it was superseded meanwhile. */
  private async readIn(dir: string, name: string): Promise<TagState | undefined> {
    for (let attempt = 0; ; attempt++) {
      const revs = await this.revisionsIn(dir)
      if (revs.length === 0) return undefined
      const revision = revs[revs.length - 1]!
      const file = join(dir, `${revision}.json`)
      let text: string
      try { text = await fsp.readFile(file, 'utf8') } catch (e) {
        // Pruned between readdir and read: a newer version exists, look again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 100) continue
        throw e
      }
      // Empty: superseded (emptied) between readdir and read; a newer version exists.
      if (text.length === 0 && attempt < 100) continue
      try {
        return { revision, record: JSON.parse(text) as TagRecord }
      } catch (e) {
        throw new DiscoError('DDFS_CORRUPT_TAG', `tag ${name} version file ${file} is not valid JSON`, { cause: e })
      }
    }
  }

  async write(name: string, record: TagRecord, expected: number): Promise<number | undefined> {
    const dir = this.dirOf(name)
    const next = expected + 1
    // Pending-write records (`+pending:…`) are not flushed: after a power loss no write is in
    // flight, and their blobs fall back to the ordinary grace period.
    const durable = this.durable && !name.startsWith('+')
    await ensureDir(this.tmpDir)
    const tmp = tmpName(this.tmpDir, 'tag')
    await writeDurable(tmp, JSON.stringify(record), durable)
    try {
      if (expected === 0) {
        if ((await ensureDir(dir)) && durable) await syncPath(dirname(dir))
      } else if ((await this.revisions(name)).at(-1) !== expected) return undefined
      try {
        await fsp.link(tmp, join(dir, `${next}.json`))
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EEXIST' || code === 'ENOENT') return undefined
        throw e
      }
      if (durable) await syncPath(dir)
    } finally {
      await fsp.rm(tmp, { force: true })
    }
    // The superseded version becomes an empty marker at once: its revision number stays taken
    // (link() above keeps failing on it, so compare-and-set stays exact) but its bytes are freed,
    // so a tag uses the space of one copy however often it is appended to.
    if (expected > 0) await this.empty(join(dir, `${expected}.json`))
    if (next % LocalTagStore.PRUNE_EVERY === 0) await this.prune(name, LocalTagStore.PRUNE_AGE_MS)
    return next
  }

  /** Atomically replaces a superseded version file by an empty one (readers holding it open keep its content). */
  private async empty(file: string): Promise<void> {
    const tmp = tmpName(this.tmpDir, 'tag')
    try {
      await fsp.writeFile(tmp, '', { flag: 'wx' })
      await fsp.rename(tmp, file)
    } catch { /* best effort: the version is pruned later anyway */ } finally {
      await fsp.rm(tmp, { force: true })
    }
  }

  async list(prefix: string): Promise<string[]> {
    let names: string[]
    try { names = await fsp.readdir(this.tagDir) } catch { return [] }
    const out: string[] = []
    for (const n of names) {
      if (!n.startsWith('#')) { if (n.startsWith(prefix)) out.push(n); continue }
      if (!n.slice(1).startsWith(prefix.slice(0, 120)) && !prefix.startsWith(n.slice(1, 121))) continue
      // A long name: the full name is in its records.
      try {
        const s = await this.readIn(join(this.tagDir, n), n)
        if (s?.record.name.startsWith(prefix)) out.push(s.record.name)
      } catch { /* purged meanwhile, or corrupt (read reports it) */ }
    }
    return out
  }

  async purge(name: string, expected: number): Promise<boolean> {
    const dir = this.dirOf(name)
    await ensureDir(this.tmpDir)
    const trash = tmpName(this.tmpDir, 'purge')
    try { await fsp.rename(dir, trash) } catch { return false }
    if ((await this.revisionsIn(trash)).at(-1) !== expected) {
      // A writer slipped in: put everything back (or, if the name was re-created meanwhile, keep
      // the newer content by re-linking our versions after theirs is impossible; leave theirs).
      await fsp.rename(trash, dir).catch(() => {})
      return false
    }
    await fsp.rm(trash, { recursive: true, force: true })
    return true
  }

  /** Removes superseded versions of one tag older than `olderThanMs` (never the newest). */
  private async prune(name: string, olderThanMs: number, dryRun = false): Promise<number> {
    const revs = await this.revisions(name)
    return removeOlder(this.dirOf(name), Math.max(olderThanMs, LocalTagStore.PRUNE_AGE_MS), (f) => f === `${revs.at(-1)}.json` || !f.endsWith('.json'), dryRun)
  }

  async sweep(olderThanMs: number, dryRun = false): Promise<number> {
    let n = await removeOlder(this.tmpDir, olderThanMs, (f) => !f.startsWith('tag.') && !f.startsWith('purge.'), dryRun)
    for (const name of await this.list('')) n += await this.prune(name, olderThanMs, dryRun)
    return n
  }
}
