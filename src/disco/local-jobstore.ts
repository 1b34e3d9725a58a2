// The embedded job store: keys and logs as files under one directory (default `<store>/jobs`).
//   <dir>/kv/<token>/<token>/…/~<revision>   one file per version of a key ('V' + value, 'D' for
//                                            a delete marker, 'd' for an unconditional one); the
//                                            highest revision is current
//   <dir>/logs/<token>/…/<token>~log         one JSON string per line, appended with O_APPEND
//   <dir>/tmp/                               versions being written, linked into place
// '~' is outside the key grammar, so version files and logs never collide with key directories.
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, linkSync, mkdirSync, promises as fsp, readFileSync, readdirSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync, type Dirent } from 'node:fs'
import { join, resolve } from 'node:path'
import { DiscoError } from '../errors.js'
import type { JobStore, KvChange, KvEntry, LogEntry } from './jobstore.js'

const TOKEN_RE = /^[A-Za-z0-9_=-]{1,200}$/

/** Checks a key or log name against the job store grammar; DISCO_STORE_KEY otherwise. */
export function checkStoreKey(key: string, what = 'key'): string[] {
  const tokens = typeof key === 'string' ? key.split('.') : []
  if (typeof key !== 'string' || key.length > 1000 || !tokens.every((t) => TOKEN_RE.test(t))) {
    throw new DiscoError('DISCO_STORE_KEY', `expected a job store ${what} of '.'-separated [A-Za-z0-9_=-] tokens, found ${JSON.stringify(String(key).slice(0, 120))}`)
  }
  return tokens
}

function checkPrefix(prefix: string): string[] {
  return prefix === '' ? [] : checkStoreKey(prefix, 'prefix')
}

/**
 * Wakes watchers and followers of one directory in this process at once (others poll). A change
 * is emitted with what changed (a key, a log name, or a purged prefix), so a watcher rereads its
 * keys only for changes under its prefix, not for every write of the process.
 */
const wakers = new Map<string, EventEmitter>()
function wakerOf(dir: string): EventEmitter {
  let w = wakers.get(dir)
  if (!w) {
    w = new EventEmitter()
    w.setMaxListeners(0)
    wakers.set(dir, w)
  }
  return w
}

/** True when a change of `what` (a key, log name or purged prefix) can concern `name` or the keys under it ('' is everything). */
function concerns(what: string, name: string): boolean {
  return what === name || what === '' || name === '' || what.startsWith(`${name}.`) || name.startsWith(`${what}.`)
}

/** Resolves after `ms`, on a wake-up of `waker` for a change that concerns `name`, or on abort, whichever comes first. */
function nap(waker: EventEmitter, ms: number, signal: AbortSignal, name: string): Promise<void> {
  return new Promise((res) => {
    const done = (): void => {
      clearTimeout(t)
      waker.off('change', onChange)
      signal.removeEventListener('abort', done)
      res()
    }
    const onChange = (what: string): void => {
      if (concerns(what, name)) done()
    }
    const t = setTimeout(done, ms)
    waker.on('change', onChange)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** How often watchers and followers look for changes made by other processes. */
const POLL_MS = 100
/** Superseded versions are pruned when this old: a writer never stalls that long between its
 * check and its link, so a pruned revision number is never reused by a stale compare-and-set. */
const PRUNE_AGE_MS = 60_000
const PRUNE_EVERY = 16
/** An unconditional delete marker ('d') this old is removed with its key directory by the next
 * unconditional delete in the same directory, so keys that come and go (a heartbeat per job) do
 * not pile up. Conditional ('D') markers stay: they keep the revision chain that a compare-and-set
 * (a lease) relies on. */
const COMPACT_AGE_MS = PRUNE_AGE_MS
/** Sibling key directories one unconditional delete looks at for old markers (a run of them from a
 * random start, wrapping around), so that a delete costs the same however many keys sit beside it
 * (a heartbeat directory that kept markers an older version never compacted has hundreds). Each
 * delete covers a random 1/n of a directory of n keys, so an old marker is gone after a few n/16
 * deletes beside it, and a directory with at most this many keys is looked at whole every time. */
const COMPACT_VISIT = 16

/**
 * Job state in a local directory. Compare-and-set across processes: a write links its version
 * file to `~<expected+1>`, and link() fails when that revision exists.
 *
 * Keys are read and written, and prefixes scanned and purged, by synchronous calls: each is a
 * few system calls on small local files, microseconds, where a round trip through libuv's
 * threadpool costs more (a wake-up on each side) and waits behind every other thread's file work.
 * A watch takes its first look when it is started, so every change made after that is seen as
 * one. Log reads go through the threadpool (a log can be long).
 *
 * @example
 * const store = new LocalJobStore('.disco/jobs')
 * await store.put('job.a.info', '{}', 0) // 1
 */
export class LocalJobStore implements JobStore {
  readonly dir: string
  private readonly kvDir: string
  private readonly logDir: string
  private readonly tmpDir: string
  private readonly waker: EventEmitter

  constructor(dir: string) {
    this.dir = resolve(dir)
    this.kvDir = join(this.dir, 'kv')
    this.logDir = join(this.dir, 'logs')
    this.tmpDir = join(this.dir, 'tmp')
    this.waker = wakerOf(this.dir)
  }

  private keyDir(tokens: string[]): string {
    return join(this.kvDir, ...tokens)
  }

  /** Sorted revisions in a key directory ([] when missing). */
  private revisions(dir: string): number[] {
    let files: string[]
    try {
      files = readdirSync(dir)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return []
      throw e
    }
    const revs: number[] = []
    for (const f of files) if (f.startsWith('~')) revs.push(Number(f.slice(1)))
    return revs.sort((a, b) => a - b)
  }

  /** The newest version of a key directory: revision and value (undefined for a delete marker). */
  private newest(dir: string): { revision: number; value: string | undefined } | undefined {
    for (let attempt = 0; ; attempt++) {
      const revision = this.revisions(dir).at(-1)
      if (revision === undefined) return undefined
      let text: string
      try {
        text = readFileSync(join(dir, `~${revision}`), 'utf8')
      } catch (e) {
        // Pruned or purged between readdir and read: look again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 100) continue
        throw e
      }
      return { revision, value: text.startsWith('V') ? text.slice(1) : undefined }
    }
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const cur = this.newest(this.keyDir(checkStoreKey(key)))
    return cur && cur.value !== undefined ? { revision: cur.revision, value: cur.value } : undefined
  }

  async put(key: string, value: string | null, expected?: number): Promise<number | undefined> {
    const dir = this.keyDir(checkStoreKey(key))
    if (value !== null && typeof value !== 'string') throw new DiscoError('DISCO_STORE_KEY', `expected a string value for ${key}, found ${typeof value}`)
    const tmp = join(this.tmpDir, `kv.${process.pid}.${randomBytes(6).toString('hex')}`)
    const data = value === null ? (expected === undefined ? 'd' : 'D') : 'V' + value
    // The version file, written when a write is due (not for a delete of what is not there, nor
    // for a compare-and-set already lost).
    let prepared = false
    const prepare = (): void => {
      if (prepared) return
      prepared = true // removed at the end, however far its write got
      try {
        writeFileSync(tmp, data, { flag: 'wx' })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        mkdirSync(this.tmpDir, { recursive: true })
        writeFileSync(tmp, data, { flag: 'wx' })
      }
    }
    // An unconditional write needs only the newest revision number, not its value.
    const blind = expected === undefined && value !== null
    try {
      for (;;) {
        const cur = blind ? { revision: this.revisions(dir).at(-1) ?? 0, value: '' } : this.newest(dir)
        const live = cur !== undefined && cur.value !== undefined
        if (expected !== undefined && (expected === 0 ? live : !live || cur.revision !== expected)) return undefined
        if (value === null && !live) return cur?.revision ?? 0 // deleting what is not there
        const next = (cur?.revision ?? 0) + 1
        // A key with a version has its directory (one removed since is met by ENOENT below).
        if (next === 1) mkdirSync(dir, { recursive: true })
        prepare()
        try {
          linkSync(tmp, join(dir, `~${next}`))
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code
          if (code !== 'EEXIST' && code !== 'ENOENT') throw e
          // EEXIST: another writer won (an unconditional write retries on top of it); ENOENT: the
          // key directory was purged or compacted meanwhile, so look again.
          if (code === 'EEXIST' && expected !== undefined) return undefined
          if (code === 'ENOENT' && !existsSync(tmp)) prepared = false // the version file itself went: written again
          continue
        }
        if (next % PRUNE_EVERY === 0) this.prune(dir, next)
        this.waker.emit('change', key)
        if (value === null && expected === undefined) this.compact(join(dir, '..'))
        return next
      }
    } finally {
      if (prepared) {
        try {
          unlinkSync(tmp)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        }
      }
    }
  }

  /** Removes superseded versions older than PRUNE_AGE_MS (never the newest). */
  private prune(dir: string, newest: number): void {
    const now = Date.now()
    for (const r of this.revisions(dir)) {
      if (r >= newest) continue
      const f = join(dir, `~${r}`)
      try {
        if (now - statSync(f).mtimeMs >= PRUNE_AGE_MS) rmSync(f, { force: true })
      } catch { /* pruned by another writer */ }
    }
  }

  /**
   * Removes the key directories in `parent` whose newest version is an unconditional delete marker
   * at least COMPACT_AGE_MS old and that have no keys under them, looking at COMPACT_VISIT of them
   * at most. A writer that links a version meanwhile keeps its key (rmdir fails on
   * a directory that is not empty); one that finds the directory gone retries on a fresh key,
   * whose revisions start again at 1 (as after a purge).
   */
  private compact(parent: string): void {
    let names: string[]
    try {
      names = readdirSync(parent).filter((n) => !n.startsWith('~'))
    } catch {
      return
    }
    if (names.length > COMPACT_VISIT) {
      const from = Math.floor(Math.random() * names.length)
      names = Array.from({ length: COMPACT_VISIT }, (_, i) => names[(from + i) % names.length]!)
    }
    const now = Date.now()
    for (const n of names) {
      const dir = join(parent, n)
      try {
        const files = readdirSync(dir)
        if (!files.every((f) => f.startsWith('~'))) continue // keys under it
        const revs = files.map((f) => Number(f.slice(1))).sort((a, b) => a - b)
        const newest = join(dir, `~${revs.at(-1)}`)
        if (readFileSync(newest, 'utf8') !== 'd' || now - statSync(newest).mtimeMs < COMPACT_AGE_MS) continue
        for (const r of revs) rmSync(join(dir, `~${r}`), { force: true })
        rmdirSync(dir)
      } catch { /* written, compacted or purged by another process meanwhile */ }
    }
  }

  /**
   * Every key directory strictly under `tokens`, with its newest revision and value, in directory
   * order (each key before the keys under it).
   */
  private scan(tokens: string[]): Map<string, { revision: number; value: string | undefined }> {
    const out = new Map<string, { revision: number; value: string | undefined }>()
    const walk = (dir: string, key: string[]): void => {
      let names: string[]
      try {
        names = readdirSync(dir)
      } catch {
        return
      }
      for (const n of names) {
        if (n.startsWith('~')) continue
        const sub = [...key, n]
        let cur: { revision: number; value: string | undefined } | undefined
        try {
          cur = this.newest(join(dir, n))
        } catch { /* purged meanwhile */ }
        if (cur) out.set(sub.join('.'), cur)
        walk(join(dir, n), sub)
      }
    }
    walk(this.keyDir(tokens), tokens)
    return out
  }

  async keys(prefix: string): Promise<string[]> {
    const all = this.scan(checkPrefix(prefix))
    return [...all].filter(([, v]) => v.value !== undefined).map(([k]) => k)
  }

  async *watch(prefix: string, signal: AbortSignal): AsyncIterable<KvChange> {
    const tokens = checkPrefix(prefix)
    let seen = new Map<string, number>()
    let first = true
    while (!signal.aborted) {
      const now = this.scan(tokens)
      const next = new Map<string, number>()
      for (const [key, cur] of now) {
        next.set(key, cur.revision)
        if (first ? cur.value !== undefined : seen.get(key) !== cur.revision) yield { key, revision: cur.revision, value: cur.value }
        if (signal.aborted) return
      }
      for (const key of seen.keys()) {
        if (!now.has(key)) yield { key, revision: 0, value: undefined }
        if (signal.aborted) return
      }
      seen = next
      first = false
      await nap(this.waker, POLL_MS, signal, prefix)
    }
  }

  private logFile(tokens: string[]): string {
    return join(this.logDir, ...tokens.slice(0, -1), `${tokens.at(-1)}~log`)
  }

  async append(log: string, data: string): Promise<void> {
    const file = this.logFile(checkStoreKey(log, 'log name'))
    const line = JSON.stringify(String(data)) + '\n'
    // A missing directory is made (a purge removes it; one racing this append is met by another try).
    for (let attempt = 0; ; attempt++) {
      try {
        appendFileSync(file, line)
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw e
        mkdirSync(join(file, '..'), { recursive: true })
      }
    }
    this.waker.emit('change', log)
  }

  async *read(log: string, after: number, follow?: AbortSignal): AsyncIterable<LogEntry> {
    const file = this.logFile(checkStoreKey(log, 'log name'))
    if (!Number.isInteger(after) || after < 0) throw new DiscoError('DISCO_STORE_KEY', `expected a log position ≥ 0, found ${after}`)
    let pos = after
    let aligned = after === 0
    const buf = Buffer.allocUnsafe(1 << 20)
    let carry = Buffer.alloc(0)
    for (;;) {
      let fh: import('node:fs/promises').FileHandle | undefined
      try {
        fh = await fsp.open(file, 'r')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
      if (fh) {
        try {
          if (!aligned) {
            // `after` should be a position this store returned; if not, start at the next line.
            const one = Buffer.alloc(1)
            const { bytesRead } = await fh.read(one, 0, 1, after - 1)
            aligned = true
            if (bytesRead === 1 && one[0] !== 10) {
              const skip = await this.nextLine(fh, after)
              if (skip === undefined) aligned = false
              else pos = skip
            }
          }
          for (;;) {
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos + carry.length)
            if (bytesRead === 0) break
            const chunk = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead)
            let start = 0
            for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
              const seq = pos + nl + 1
              const data = JSON.parse(chunk.toString('utf8', start, nl)) as string
              start = nl + 1
              yield { seq, data }
            }
            pos += start
            carry = Buffer.from(chunk.subarray(start))
          }
        } finally {
          await fh.close()
        }
      }
      if (!follow || follow.aborted) return
      await nap(this.waker, POLL_MS, follow, log)
      if (follow.aborted) return
    }
  }

  /** The position after the first newline at or after `from`, or undefined when there is none yet. */
  private async nextLine(fh: import('node:fs/promises').FileHandle, from: number): Promise<number | undefined> {
    const b = Buffer.allocUnsafe(1 << 16)
    for (let p = from; ;) {
      const { bytesRead } = await fh.read(b, 0, b.length, p)
      if (bytesRead === 0) return undefined
      const i = b.subarray(0, bytesRead).indexOf(10)
      if (i !== -1) return p + i + 1
      p += bytesRead
    }
  }

  async purge(prefix: string): Promise<void> {
    const tokens = checkPrefix(prefix)
    // What is under a directory (files unlinked, directories removed recursively), then the
    // emptied directory too (a job's prefix would otherwise stay behind after its purge). That
    // fails when something is left (the prefix's own versions) or was just written under it; a
    // writer that finds it gone makes it again.
    const rmChildren = (dir: string, keep: (n: string) => boolean): void => {
      let entries: Dirent[]
      try {
        entries = readdirSync(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const e of entries) {
        if (keep(e.name)) continue
        const path = join(dir, e.name)
        if (e.isDirectory()) rmSync(path, { recursive: true, force: true })
        else {
          try {
            unlinkSync(path)
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          }
        }
      }
      if (tokens.length > 0) {
        try {
          rmdirSync(dir)
        } catch { /* not empty, or gone */ }
      }
    }
    rmChildren(this.keyDir(tokens), (n) => n.startsWith('~'))
    rmChildren(join(this.logDir, ...tokens), () => false)
    this.waker.emit('change', prefix)
  }
}
