// The embedded adapters: blobs and tags kept under one directory (default ./.disco).
//   <dir>/blobs/<2 hex>/<name$version>   immutable blob files
//   <dir>/tags/<tag>/<revision>.json     one file per tag version; the highest revision is current
//   <dir>/tmp/                           partial writes, renamed/linked into place when complete
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs'
import { join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { DiscoError } from '../errors.js'
import type { BlobInfo, BlobSource, BlobStore, PutOptions, TagRecord, TagState, TagStore } from './types.js'

/** URL prefix of the local blob store, shaped like the original's replica URLs. */
export const LOCAL_BLOB_PREFIX = 'disco://localhost/ddfs/vol0/blob/'

function tmpName(dir: string, what: string): string {
  return join(dir, `${what}.${process.pid}.${randomBytes(6).toString('hex')}.partial`)
}

async function removeOlder(dir: string, olderThanMs: number, keep: (name: string) => boolean = () => false): Promise<number> {
  let n = 0
  const now = Date.now()
  let names: string[]
  try { names = await fsp.readdir(dir) } catch { return 0 }
  for (const name of names) {
    if (keep(name)) continue
    try {
      const st = await fsp.stat(join(dir, name))
      if (now - st.mtimeMs >= olderThanMs) { await fsp.rm(join(dir, name), { recursive: true, force: true }); n++ }
    } catch { /* raced with another sweeper */ }
  }
  return n
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

  /** The URL prefix of this store's blobs. */
  readonly prefix: string

  /** `urlPrefix`: another URL space (Disco's job data store uses one, so DDFS never claims its URLs). */
  constructor(dir: string, opts: { urlPrefix?: string } = {}) {
    this.dir = resolve(dir)
    this.blobDir = join(this.dir, 'blobs')
    this.tmpDir = join(this.dir, 'tmp')
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

  /** File path of a URL this store owns. */
  pathOf(url: string): string {
    if (!this.owns(url)) throw new DiscoError('DDFS_BLOB_NOT_FOUND', `expected a URL starting with ${this.prefix}, found ${url}`)
    const rest = url.slice(this.prefix.length)
    const [hh, name, ...extra] = rest.split('/')
    if (!hh || !name || extra.length > 0 || name === '.' || name === '..') {
      throw new DiscoError('DDFS_BLOB_NOT_FOUND', `expected ${this.prefix}<hh>/<name>, found ${url}`)
    }
    return join(this.blobDir, hh, decodeURIComponent(name))
  }

  owns(url: string): boolean {
    return url.startsWith(this.prefix)
  }

  async put(name: string, data: BlobSource, opts: PutOptions = {}): Promise<BlobInfo> {
    if (name.includes('/') || name === '.' || name === '..' || name.length === 0) {
      throw new DiscoError('DDFS_BAD_BLOB_NAME', `expected a blob name without "/", found ${JSON.stringify(name)}`)
    }
    const hh = LocalBlobStore.hashDir(name)
    const final = join(this.blobDir, hh, name)
    await fsp.mkdir(this.tmpDir, { recursive: true })
    await fsp.mkdir(join(this.blobDir, hh), { recursive: true })
    const tmp = tmpName(this.tmpDir, 'blob')
    try {
      if (data instanceof Uint8Array) await fsp.writeFile(tmp, data, { flag: 'wx' })
      else await pipeline(Readable.from(data, { objectMode: false }), createWriteStream(tmp, { flags: 'wx' }))
      // link() refuses to overwrite: a blob name is written once; rename() replaces atomically.
      if (opts.replace) await fsp.rename(tmp, final)
      else await fsp.link(tmp, final).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') throw new DiscoError('DDFS_BLOB_EXISTS', `blob ${name} is already stored`)
        throw e
      })
    } finally {
      await fsp.rm(tmp, { force: true })
    }
    const st = await fsp.stat(final)
    return { url: this.urlOf(hh, name), size: st.size, mtime: st.mtimeMs }
  }

  async get(url: string): Promise<AsyncIterable<Uint8Array>> {
    const path = this.pathOf(url)
    const fh = await fsp.open(path, 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} is not stored in ${this.dir}`)
      throw e
    })
    return createReadStream('', { fd: fh, highWaterMark: 1 << 20 })
  }

  async delete(url: string): Promise<void> {
    await fsp.rm(this.pathOf(url), { force: true })
  }

  async *list(): AsyncIterable<BlobInfo> {
    let dirs: string[]
    try { dirs = await fsp.readdir(this.blobDir) } catch { return }
    for (const hh of dirs.sort()) {
      let names: string[]
      try { names = await fsp.readdir(join(this.blobDir, hh)) } catch { continue }
      for (const name of names.sort()) {
        try {
          const st = await fsp.stat(join(this.blobDir, hh, name))
          yield { url: this.urlOf(hh, name), size: st.size, mtime: st.mtimeMs }
        } catch { /* deleted meanwhile */ }
      }
    }
  }

  async sweep(olderThanMs: number): Promise<number> {
    return removeOlder(this.tmpDir, olderThanMs, (n) => !n.startsWith('blob.'))
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
  /** Every this many revisions a writer prunes superseded versions... */
  private static readonly PRUNE_EVERY = 64
  /** ...that are older than this. The age guards compare-and-set: a revision number is only
   * reusable after its file is gone, and a writer never stalls this long between check and link. */
  private static readonly PRUNE_AGE_MS = 10 * 60_000

  constructor(dir: string) {
    this.dir = resolve(dir)
    this.tagDir = join(this.dir, 'tags')
    this.tmpDir = join(this.dir, 'tmp')
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
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
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
    for (let attempt = 0; ; attempt++) {
      const revs = await this.revisions(name)
      if (revs.length === 0) return undefined
      const revision = revs[revs.length - 1]!
      const file = join(this.dirOf(name), `${revision}.json`)
      let text: string
      try { text = await fsp.readFile(file, 'utf8') } catch (e) {
        // Pruned between readdir and read: a newer version exists, look again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 100) continue
        throw e
      }
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
    await fsp.mkdir(this.tmpDir, { recursive: true })
    const tmp = tmpName(this.tmpDir, 'tag')
    await fsp.writeFile(tmp, JSON.stringify(record), { flag: 'wx' })
    try {
      if (expected === 0) await fsp.mkdir(dir, { recursive: true })
      else if ((await this.revisions(name)).at(-1) !== expected) return undefined
      try {
        await fsp.link(tmp, join(dir, `${next}.json`))
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EEXIST' || code === 'ENOENT') return undefined
        throw e
      }
    } finally {
      await fsp.rm(tmp, { force: true })
    }
    if (next % LocalTagStore.PRUNE_EVERY === 0) await this.prune(name, LocalTagStore.PRUNE_AGE_MS)
    return next
  }

  async list(prefix: string): Promise<string[]> {
    let names: string[]
    try { names = await fsp.readdir(this.tagDir) } catch { return [] }
    const out: string[] = []
    for (const n of names) {
      if (!n.startsWith('#')) { if (n.startsWith(prefix)) out.push(n); continue }
      if (!n.slice(1).startsWith(prefix.slice(0, 120)) && !prefix.startsWith(n.slice(1, 121))) continue
      // A long name: the full name is in its records.
      const rev = (await this.revisionsIn(join(this.tagDir, n))).at(-1)
      if (rev === undefined) continue
      try {
        const r = JSON.parse(await fsp.readFile(join(this.tagDir, n, `${rev}.json`), 'utf8')) as TagRecord
        if (r.name.startsWith(prefix)) out.push(r.name)
      } catch { /* pruned or purged meanwhile */ }
    }
    return out
  }

  async purge(name: string, expected: number): Promise<boolean> {
    const dir = this.dirOf(name)
    await fsp.mkdir(this.tmpDir, { recursive: true })
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
  private async prune(name: string, olderThanMs: number): Promise<number> {
    const revs = await this.revisions(name)
    return removeOlder(this.dirOf(name), Math.max(olderThanMs, LocalTagStore.PRUNE_AGE_MS), (f) => f === `${revs.at(-1)}.json` || !f.endsWith('.json'))
  }

  async sweep(olderThanMs: number): Promise<number> {
    let n = await removeOlder(this.tmpDir, olderThanMs, (f) => !f.startsWith('tag.') && !f.startsWith('purge.'))
    for (const name of await this.list('')) n += await this.prune(name, olderThanMs)
    return n
  }
}
