// The query side of the analytics model: a tag of immutable indexes (batch × user shard), opened
// lazily. Users are numbered per shard (1..G, in batch order of first appearance), so sets of users
// are ascending Uint32Arrays and combine with the DiscoDB set operations; counts add across shards.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiscoDB, type ValueColumn } from '../discodb/index.js'
import { writeFileAtomicSync } from '../util/atomic.js'
import { ScanPool } from './pool.js'
import { complement, emptyIds, intersect, union, unionAll } from '../discodb/setops.js'
import { blobName, type Ddfs } from '../ddfs/index.js'
import { DiscoError } from '../errors.js'
import { FORMAT_VERSION, K, decodeTimeline } from './format.js'
import { dayOf } from './time.js'

export { complement, emptyIds, intersect, union, unionAll }

/** Tag attributes a model keeps. */
export const ATTR_SHARDS = 'analytics:shards'
export const ATTR_VERSION = 'analytics:version'
export const ATTR_BLOB_PREFIX = 'analytics:blob-prefix'

/** The `~meta` record of one index. */
export interface IndexMeta {
  version: string
  batch: number
  shard: number
  shards: number
  users: number
  events: number
  minTs: number | null
  maxTs: number | null
  eventStats: Record<string, [events: number, users: number]>
  propNames: string[]
}

/** a \ b for ascending arrays. */
export function minus(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (b.length === 0 || a.length === 0) return a
  const out = new Uint32Array(a.length)
  let n = 0
  let j = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    while (j < b.length && b[j]! < x) j++
    if (j < b.length && b[j] === x) continue
    out[n++] = x
  }
  return out.subarray(0, n)
}

/** |a ∩ b| without allocating. */
export function intersectCount(a: Uint32Array, b: Uint32Array): number {
  let n = 0
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a[i]!
    const y = b[j]!
    if (x < y) i++
    else if (x > y) j++
    else {
      n++
      i++
      j++
    }
  }
  return n
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Reusable arrays for {@link Shard.stepEvents}: times and name ids of one user's events. */
export class StepScratch {
  times = new Float64Array(64)
  ids = new Int32Array(64)
  /** Several batches: each batch's events one after another, before they are merged. */
  auxTimes = new Float64Array(64)
  auxIds = new Int32Array(64)
  fit(n: number): void {
    if (n <= this.times.length) return
    let size = this.times.length
    while (size < n) size *= 2
    this.times = new Float64Array(size)
    this.ids = new Int32Array(size)
  }
  /** Room for `n` events in the aux arrays, keeping the first `keep`. */
  fitAux(n: number, keep: number): void {
    if (n <= this.auxTimes.length) return
    let size = this.auxTimes.length
    while (size < n) size *= 2
    const t = new Float64Array(size)
    const i = new Int32Array(size)
    t.set(this.auxTimes.subarray(0, keep))
    i.set(this.auxIds.subarray(0, keep))
    this.auxTimes = t
    this.auxIds = i
  }
}

/**
 * Decodes the timeline of local user `l` of part `p` into `sc` from index `off` (the main arrays,
 * or with `aux` the aux arrays): times and step-name ids (-1 for other events). Returns how many.
 * The timeline is read in place from the DB's value column (no view per user); varints decoded
 * inline: user number (skipped), n, then per event code, time delta (the first as sign +
 * magnitude) and props index (skipped).
 */
function decodeSteps(p: Part, l: number, names: Map<string, number>, sc: StepScratch, aux: boolean, off: number): number {
  let ids = p.idCache.get(names)
  if (!ids) {
    ids = Int32Array.from(p.eventNames, (e) => names.get(e) ?? -1)
    p.idCache.set(names, ids)
  }
  const col = (p.column ??= p.db.valueColumn())
  const v = col.bytes
  let pos = col.offsets[p.n + l - 1]! + 1
  while (v[pos++]! >= 0x80);
  let x = v[pos++]!
  let n = x & 0x7f
  for (let mul = 0x80; x >= 0x80; mul *= 0x80) {
    x = v[pos++]!
    n += (x & 0x7f) * mul
  }
  if (aux) sc.fitAux(off + n, off)
  else sc.fit(n)
  const T = aux ? sc.auxTimes : sc.times
  const I = aux ? sc.auxIds : sc.ids
  let t = 0
  for (let i = 0; i < n; i++) {
    // Event codes are small: one byte almost always.
    x = v[pos++]!
    let code = x & 0x7f
    for (let mul = 0x80; x >= 0x80; mul *= 0x80) {
      x = v[pos++]!
      code += (x & 0x7f) * mul
    }
    I[off + i] = ids[code]!
    const neg = i === 0 && v[pos++] === 1
    x = v[pos++]!
    let d = x & 0x7f
    for (let mul = 0x80; x >= 0x80; mul *= 0x80) {
      x = v[pos++]!
      d += (x & 0x7f) * mul
    }
    t = i === 0 ? (neg ? -d : d) : t + d
    T[off + i] = t
    while (v[pos++]! >= 0x80);
  }
  return n
}

/** One index (one batch of one shard). Internal: exported for the funnel worker. */
export class Part {
  /** Event code → id in a caller's name map (-1: not in it), per map. */
  readonly idCache = new WeakMap<Map<string, number>, Int32Array>()
  readonly n: number
  readonly meta: IndexMeta
  readonly eventNames: string[]
  /** Local user number → shard user number (undefined: identical). */
  trans: Uint32Array | undefined
  /** Shard user number → local (0: absent); only with `trans`. */
  inv: Uint32Array | undefined
  #props: (Record<string, unknown> | null)[] | undefined
  /** The DB's value bytes and offsets (the timelines are read in place). */
  column: ValueColumn | undefined

  constructor(readonly db: DiscoDB, readonly label: string, /** The index bytes (shared memory, so funnel workers read them without a copy). */ readonly bytes?: Uint8Array) {
    const v = db.peek(K.version)
    if (!v || decoder.decode(v) !== FORMAT_VERSION) {
      throw new DiscoError('ANALYTICS_BAD_INDEX', `${label}: expected an index of format "${FORMAT_VERSION}", found ${v ? JSON.stringify(decoder.decode(v)) : 'no version key'}`)
    }
    this.meta = JSON.parse(decoder.decode(db.peek(K.meta)!)) as IndexMeta
    this.n = this.meta.users
    this.eventNames = JSON.parse(decoder.decode(db.peek(K.eventNames)!)) as string[]
  }

  /** The property object of props-table entry `ref` (1-based; 0 → null). */
  props(ref: number): Record<string, unknown> | null {
    if (ref === 0) return null
    this.#props ??= JSON.parse(decoder.decode(this.db.peek(K.propsTable)!)) as Record<string, unknown>[]
    return this.#props[ref - 1] ?? null
  }

  ids(key: Uint8Array): Uint32Array {
    const ids = this.db.idsOfKey(key)
    const t = this.trans
    if (!t || ids.length === 0) return ids
    const out = new Uint32Array(ids.length)
    for (let i = 0; i < ids.length; i++) out[i] = t[ids[i]!]!
    return out.sort()
  }
}

/** A merged timeline of one user: events in time order (ties in input order). */
export interface UserEvents {
  n: number
  times: ArrayLike<number>
  events: string[]
  /** Properties of event i (null when it has none). */
  props(i: number): Record<string, unknown> | null
}

/**
 * Decoded user lists of keys, shared by a model's shards and bounded by bytes (least recently used
 * go first): the indexes are immutable, so a list decoded once stays true.
 */
export class IdCache {
  readonly #map = new Map<string, Uint32Array>()
  #bytes = 0
  hits = 0
  misses = 0
  constructor(readonly maxBytes: number) {}

  get(key: string): Uint32Array | undefined {
    const v = this.#map.get(key)
    if (v === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    // Most recently used last.
    this.#map.delete(key)
    this.#map.set(key, v)
    return v
  }

  set(key: string, ids: Uint32Array): void {
    const size = ids.byteLength + 64
    if (size > this.maxBytes / 4) return
    this.#map.set(key, ids)
    this.#bytes += size
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.maxBytes) break
      this.#map.delete(k)
      this.#bytes -= v.byteLength + 64
    }
  }
}

/** Default bound of a model's decoded-list cache. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024

/** All indexes of one user shard. */
export class Shard {
  /** Number of users in the shard (user numbers are 1..users). */
  readonly users: number
  readonly #cache: IdCache

  constructor(readonly id: number, readonly parts: readonly Part[], cache = new IdCache(0)) {
    this.#cache = cache
    if (parts.length <= 1) {
      this.users = parts[0]?.n ?? 0
      return
    }
    // Several batches: number users by first appearance in batch order.
    const dict = new Map<string, number>()
    for (const p of parts) {
      const t = new Uint32Array(p.n + 1)
      for (let l = 1; l <= p.n; l++) {
        const uid = decoder.decode(p.db.valueAt(l))
        let g = dict.get(uid)
        if (g === undefined) dict.set(uid, (g = dict.size + 1))
        t[l] = g
      }
      p.trans = t
    }
    this.users = dict.size
    for (const p of parts) {
      const inv = new Uint32Array(this.users + 1)
      for (let l = 1; l <= p.n; l++) inv[p.trans![l]!] = l
      p.inv = inv
    }
  }

  /** Users under `key` in any batch (ascending; shared: do not modify). */
  usersOf(key: string): Uint32Array {
    const ck = `${this.id}\u0000${key}`
    const hit = this.#cache.get(ck)
    if (hit) return hit
    const k = encoder.encode(key)
    let out: Uint32Array
    if (this.parts.length === 1) out = this.parts[0]!.ids(k)
    else {
      const lists: Uint32Array[] = []
      for (const p of this.parts) {
        const ids = p.ids(k)
        if (ids.length > 0) lists.push(ids)
      }
      out = lists.length === 0 ? emptyIds() : lists.length === 1 ? lists[0]! : unionAll(lists)
    }
    this.#cache.set(ck, out)
    return out
  }

  /** A list computed from this shard's keys (e.g. a union over days), kept in the list cache under `name`. */
  derived(name: string, make: () => Uint32Array): Uint32Array {
    const ck = `${this.id}\u0001${name}`
    const hit = this.#cache.get(ck)
    if (hit) return hit
    const out = make()
    this.#cache.set(ck, out)
    return out
  }

  /** The union of several keys' users. */
  usersOfAny(keys: Iterable<string>): Uint32Array {
    const lists: Uint32Array[] = []
    for (const key of keys) {
      const u = this.usersOf(key)
      if (u.length > 0) lists.push(u)
    }
    return lists.length === 0 ? emptyIds() : lists.length === 1 ? lists[0]! : unionAll(lists)
  }

  /** Number of users under `key` (no decoding when one batch holds it). */
  countOf(key: string): number {
    const k = encoder.encode(key)
    let holders = 0
    let count = 0
    for (const p of this.parts) {
      const c = p.db.countOfKey(k)
      if (c > 0) {
        holders++
        count = c
      }
    }
    return holders <= 1 ? count : this.usersOf(key).length
  }

  /** Every user of the shard, 1..users. */
  all(): Uint32Array {
    return complement(emptyIds(), this.users)
  }

  /** Sum of the decimal totals under `key` over batches (remembered: the indexes never change). */
  total(key: string): number {
    let sum = this.#totals.get(key)
    if (sum === undefined) {
      sum = this.#readTotal(key)
      if (this.#totals.size >= 100_000) this.#totals.clear()
      this.#totals.set(key, sum)
    }
    return sum
  }

  readonly #totals = new Map<string, number>()

  #readTotal(key: string): number {
    const k = encoder.encode(key)
    let sum = 0
    for (const p of this.parts) {
      const v = p.db.peek(k)
      if (v) sum += Number(decoder.decode(v))
    }
    return sum
  }

  /** Calls fn(user, count) for each entry of the packed count lists under `key`. */
  forEachCount(key: string, fn: (user: number, count: number) => void): void {
    const k = encoder.encode(key)
    for (const p of this.parts) {
      const v = p.db.peek(k)
      if (!v) continue
      const t = p.trans
      let u = 0
      let pos = 1
      while (pos < v.length) {
        let x = v[pos++]!
        let d = x & 0x7f
        for (let mul = 0x80; x >= 0x80; mul *= 0x80) {
          x = v[pos++]!
          d += (x & 0x7f) * mul
        }
        u += d
        x = v[pos++]!
        let c = x & 0x7f
        for (let mul = 0x80; x >= 0x80; mul *= 0x80) {
          x = v[pos++]!
          c += (x & 0x7f) * mul
        }
        fn(t ? t[u]! : u, c)
      }
    }
  }

  /** The user id of user number `g`. */
  userId(g: number): string {
    for (const p of this.parts) {
      const l = p.inv ? p.inv[g]! : g <= p.n ? g : 0
      if (l > 0) return decoder.decode(p.db.valueAt(l))
    }
    throw new DiscoError('ANALYTICS_BAD_PARAM', `user number ${g} is not in shard ${this.id}`)
  }

  /** A map user id → user number (built on demand; used to load saved segments). */
  userNumbers(): Map<string, number> {
    const m = new Map<string, number>()
    for (const p of this.parts) {
      for (let l = 1; l <= p.n; l++) {
        const uid = decoder.decode(p.db.valueAt(l))
        if (!m.has(uid)) m.set(uid, p.trans ? p.trans[l]! : l)
      }
    }
    return m
  }

  /**
   * The fast path of funnels: user `g`'s event times and name ids (`names`, -1 for other events)
   * into `sc`, decoded straight from the timeline without allocating. Returns the number of
   * events (several batches merged in time order).
   */
  stepEvents(g: number, names: Map<string, number>, sc: StepScratch): number {
    const parts = this.parts
    if (parts.length === 1) {
      const p = parts[0]!
      return g < 1 || g > p.n ? 0 : decodeSteps(p, g, names, sc, false, 0)
    }
    // Several batches: each batch's events into the aux arrays, then merged by time (ties: the
    // earlier batch first, then input order).
    const starts: number[] = []
    let total = 0
    for (const p of parts) {
      const l = p.inv ? p.inv[g]! : g <= p.n ? g : 0
      if (l === 0) continue
      starts.push(total)
      total += decodeSteps(p, l, names, sc, true, total)
    }
    starts.push(total)
    sc.fit(total)
    const T = sc.times
    const I = sc.ids
    const AT = sc.auxTimes
    const AI = sc.auxIds
    const segs = starts.length - 1
    if (segs === 1) {
      T.set(AT.subarray(0, total))
      I.set(AI.subarray(0, total))
      return total
    }
    const pos = starts.slice(0, segs)
    for (let o = 0; o < total; o++) {
      let best = -1
      for (let j = 0; j < segs; j++) {
        if (pos[j]! >= starts[j + 1]!) continue
        if (best < 0 || AT[pos[j]!]! < AT[pos[best]!]!) best = j
      }
      const i = pos[best]!++
      T[o] = AT[i]!
      I[o] = AI[i]!
    }
    return total
  }

  /** The events of user `g`, merged over batches in time order (ties: earlier batch, then input order). */
  events(g: number): UserEvents {
    const pieces: { part: Part; t: ReturnType<typeof decodeTimeline> }[] = []
    for (const p of this.parts) {
      const l = p.inv ? p.inv[g]! : g <= p.n ? g : 0
      if (l > 0) pieces.push({ part: p, t: decodeTimeline(p.db.valueAt(p.n + l)) })
    }
    if (pieces.length === 1) {
      const { part, t } = pieces[0]!
      const events = new Array<string>(t.n)
      for (let i = 0; i < t.n; i++) events[i] = part.eventNames[t.codes[i]!]!
      return { n: t.n, times: t.times, events, props: (i) => part.props(t.props[i]!) }
    }
    const n = pieces.reduce((a, p) => a + p.t.n, 0)
    const times = new Float64Array(n)
    const events = new Array<string>(n)
    const refs: [Part, number][] = new Array(n)
    const pos = pieces.map(() => 0)
    for (let o = 0; o < n; o++) {
      let best = -1
      for (let j = 0; j < pieces.length; j++) {
        if (pos[j]! >= pieces[j]!.t.n) continue
        if (best < 0 || pieces[j]!.t.times[pos[j]!]! < pieces[best]!.t.times[pos[best]!]!) best = j
      }
      const { part, t } = pieces[best]!
      const i = pos[best]!++
      times[o] = t.times[i]!
      events[o] = part.eventNames[t.codes[i]!]!
      refs[o] = [part, t.props[i]!]
    }
    return { n, times, events, props: (i) => refs[i]![0].props(refs[i]![1]) }
  }
}

/** Catalogue of a model: what the UI and the CLI offer. */
export interface ModelInfo {
  tag: string
  shards: number
  batches: number
  users: number
  events: number
  /** First and last UTC day number with data (days since 1970-01-01), null when empty. */
  firstDay: number | null
  lastDay: number | null
  eventNames: Record<string, { events: number; users: number }>
  propNames: string[]
}

/** Reads all bytes of a blob. */
async function readBlob(ddfs: Ddfs, urls: readonly string[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const c of await ddfs.openBlob(urls)) chunks.push(c)
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * The default local copy directory of index blobs read from a store without a directory (a
 * cluster): `$DISCO_ANALYTICS_CACHE`, else `<tmp>/disco-analytics-cache`. Index blobs never
 * change, so a copy named by the hash of the blob's URL stays valid; delete the directory to
 * reclaim the space.
 */
export function defaultBlobCacheDir(): string {
  return process.env.DISCO_ANALYTICS_CACHE || join(tmpdir(), 'disco-analytics-cache')
}

/** A blob's bytes, from the local copy when there is one (copied on first read). */
async function readIndexBlob(ddfs: Ddfs, urls: readonly string[], cacheDir: string | undefined): Promise<Uint8Array> {
  if (cacheDir === undefined) return readBlob(ddfs, urls)
  const file = join(cacheDir, `${createHash('sha256').update(urls[0] ?? '').digest('hex').slice(0, 40)}.ddb`)
  try {
    return readFileSync(file)
  } catch {
    // not copied yet
  }
  const bytes = await readBlob(ddfs, urls)
  try {
    mkdirSync(cacheDir, { recursive: true })
    writeFileAtomicSync(file, bytes)
  } catch {
    // A cache that cannot be written only costs speed.
  }
  return bytes
}

/**
 * An analytics model: the indexes under one tag, opened on first use.
 * @example
 * const model = await Model.open(openStore('.disco'), 'analytics:model')
 * (await model.info()).users // 1000
 */
export class Model {
  #shards: Promise<Shard>[] | undefined
  #info: ModelInfo | undefined
  /** Decoded user lists, shared by the shards. */
  readonly cache: IdCache

  private constructor(
    readonly ddfs: Ddfs,
    readonly tag: string,
    readonly shardCount: number,
    /** Per shard, the index blobs in batch order. */
    readonly blobs: readonly (readonly { batch: number; urls: string[] }[])[],
    cacheBytes: number,
    readonly blobCacheDir: string | undefined,
    /** Worker threads that share the per-user funnel work across shards (0: none). */
    readonly threads: number,
  ) {
    this.cache = new IdCache(cacheBytes)
  }

  /**
   * Opens the model under `tag` (ANALYTICS_NO_MODEL when there is none). `cacheBytes` bounds the
   * decoded user lists kept between questions (default 256 MiB; 0 keeps none); `blobCacheDir` is
   * where index blobs of a store without a directory are copied (default
   * {@link defaultBlobCacheDir}; false: read them from the store every time); `threads` is how
   * many worker threads share the per-user funnel scans (default: cores − 1, at most shards − 1).
   */
  static async open(ddfs: Ddfs, tag: string, opts: { cacheBytes?: number; blobCacheDir?: string | false; threads?: number } = {}): Promise<Model> {
    if (!(await ddfs.exists(tag))) throw new DiscoError('ANALYTICS_NO_MODEL', `no analytics model under tag ${tag}: run analytics build first`)
    const attrs = await ddfs.attrs(tag)
    const shards = Number(attrs[ATTR_SHARDS])
    if (!Number.isInteger(shards) || shards < 1) throw new DiscoError('ANALYTICS_NO_MODEL', `tag ${tag} is not an analytics model (no ${ATTR_SHARDS} attribute)`)
    if (attrs[ATTR_VERSION] !== FORMAT_VERSION) {
      throw new DiscoError('ANALYTICS_BAD_INDEX', `tag ${tag}: expected model format "${FORMAT_VERSION}", found ${JSON.stringify(attrs[ATTR_VERSION])}`)
    }
    const blobs: { batch: number; urls: string[] }[][] = Array.from({ length: shards }, () => [])
    for (const set of await ddfs.urls(tag)) {
      const m = /-b(\d+)-s(\d+)$/.exec(blobName(set[0] ?? ''))
      if (!m) continue
      const s = Number(m[2])
      if (s < shards) blobs[s]!.push({ batch: Number(m[1]), urls: [...set] })
    }
    for (const b of blobs) b.sort((x, y) => x.batch - y.batch)
    // Index blobs of a store without a directory (a cluster) are copied to local disk once.
    const blobCache = opts.blobCacheDir === false ? undefined : opts.blobCacheDir ?? (ddfs.dir ? undefined : defaultBlobCacheDir())
    const threads = opts.threads ?? Math.min(shards, availableParallelism()) - 1
    if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new DiscoError('ANALYTICS_BAD_PARAM', `threads: expected 0..64, found ${threads}`)
    return new Model(ddfs, tag, shards, blobs, opts.cacheBytes ?? DEFAULT_CACHE_BYTES, blobCache, threads)
  }

  #pool: ScanPool | undefined

  /** The scan workers (started on first use; none when `threads` is 0). */
  pool(): ScanPool | undefined {
    if (this.threads === 0) return undefined
    return (this.#pool ??= new ScanPool(this.threads))
  }

  /** Stops the model's scan workers (they never keep a process alive, but hold memory). */
  async close(): Promise<void> {
    const p = this.#pool
    this.#pool = undefined
    await p?.close()
  }

  /** Shard `s`, loading its indexes on first use. */
  shard(s: number): Promise<Shard> {
    this.#shards ??= []
    let p = this.#shards[s]
    if (!p) {
      p = (async () => {
        const parts: Part[] = []
        for (const b of this.blobs[s]!) {
          const read = await readIndexBlob(this.ddfs, b.urls, this.blobCacheDir)
          // In shared memory when worker threads share the funnel work (one copy, at load).
          const bytes = this.threads > 0 ? new Uint8Array(new SharedArrayBuffer(read.byteLength)) : read
          if (bytes !== read) bytes.set(read)
          parts.push(new Part(DiscoDB.loads(bytes), `${this.tag} batch ${b.batch} shard ${s}`, bytes))
        }
        return new Shard(s, parts, this.cache)
      })()
      this.#shards[s] = p
    }
    return p
  }

  /** Every shard, loaded. */
  async shards(): Promise<Shard[]> {
    const out: Shard[] = []
    for (let s = 0; s < this.shardCount; s++) out.push(await this.shard(s))
    return out
  }

  /** The model's catalogue (loads every shard). */
  async info(): Promise<ModelInfo> {
    if (this.#info) return this.#info
    const info: ModelInfo = { tag: this.tag, shards: this.shardCount, batches: 0, users: 0, events: 0, firstDay: null, lastDay: null, eventNames: {}, propNames: [] }
    const props = new Set<string>()
    const batches = new Set<number>()
    for (const sh of await this.shards()) {
      info.users += sh.users
      for (const p of sh.parts) {
        const m = p.meta
        batches.add(m.batch)
        info.events += m.events
        if (m.minTs !== null) {
          const a = dayOf(m.minTs)
          const b = dayOf(m.maxTs!)
          if (info.firstDay === null || a < info.firstDay) info.firstDay = a
          if (info.lastDay === null || b > info.lastDay) info.lastDay = b
        }
        for (const [e, [ev, us]] of Object.entries(m.eventStats)) {
          const x = (info.eventNames[e] ??= { events: 0, users: 0 })
          x.events += ev
          // users add across shards; across batches this is an upper bound, fixed below.
          x.users += us
        }
        for (const n of m.propNames) props.add(n)
      }
    }
    info.batches = batches.size
    if (info.batches > 1) {
      for (const e of Object.keys(info.eventNames)) {
        let u = 0
        for (const sh of await this.shards()) u += sh.countOf(K.event(e))
        info.eventNames[e]!.users = u
      }
    }
    info.propNames = [...props].sort()
    this.#info = info
    return info
  }
}
