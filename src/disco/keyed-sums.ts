// Sums by key for fast map functions: an open-addressing hash table keyed by the raw bytes of a
// key (no string per record), with a row of numeric sums per key kept in one Float64Array (no
// object per record). A bytes-form map adds into it record by record and it hands one
// (key, [sum0, sum1, …]) pair per distinct key to the task's `emit` when it holds `maxKeys` keys
// and when the map calls `flush` at its end; the job's combiner (and reduce) then sum the rows of
// a key that arrive more than once, as they would the map's own pairs.
//
// Sums are exact like every sum in the engine (util/json's addExact): integer sums stay numbers
// while they are safe integers and become bigints beyond 2^53; as soon as a non-integer is added
// the sum is an ordinary double.
import { DiscoError } from '../errors.js'
import { addExact } from '../util/json.js'
import { ByteSink, ByteSource, decodeWtf8 } from './records.js'
import type { Emit } from './types.js'
import { ROW_SINK, type RowSink } from './row-sink.js'

export { ROW_SINK, type RowSink } from './row-sink.js'

/** Options of {@link KeyedSums}. */
export interface KeyedSumsOptions {
  /** Distinct keys held before every row is emitted and the table starts again (default 2^20). */
  maxKeys?: number
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER
type Slicer = (this: Uint8Array, start: number, end: number) => string
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slicer }).utf8Slice

/** One 32-bit word of a key mixed into a running hash (MurmurHash3's block step). */
function mixWord(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  h ^= Math.imul(k, 0x1b873593)
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/**
 * Hashes `b[s, e)` four bytes at a time (little-endian words, the last one padded with zeros; the
 * length and `seed` mixed in, then a final avalanche so that the low bits spread) and leaves the
 * key's first two words (zeros past the end) in `head`.
 */
export function hashKey(b: Uint8Array, s: number, e: number, seed: number, head: Int32Array): number {
  const len = e - s
  let h = seed
  let w0 = 0
  let w1 = 0
  let i = s
  for (; i + 4 <= e; i += 4) {
    const w = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)
    if (i === s) w0 = w
    else if (i === s + 4) w1 = w
    h = mixWord(h, w)
  }
  if (i < e) {
    let w = 0
    for (let sh = 0; i < e; i++, sh += 8) w |= b[i]! << sh
    if (len < 4) w0 = w
    else if (len < 8) w1 = w
    h = mixWord(h, w)
  }
  head[0] = w0
  head[1] = w1
  h ^= len
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

/**
 * Bytes of a bucket's header: key length and flag (0: an empty bucket), hash, then the key's first
 * 8 bytes (short keys) or its first 4 bytes and its arena offset. Key bytes are written and
 * compared as little-endian 32-bit words (the byte order of every platform Node runs on here).
 */
const HEAD = 16
/** Keys of at most this many bytes live in their bucket. */
const INLINE = 8
/** Buckets of a new or flushed table. */
const FIRST_BUCKETS = 1024
/** Bytes a table that starts at the last one's size may take, at most. */
const HINT_BYTES = 16 << 20
/**
 * Buckets the last table of this thread grew to (per row size): a map task's table starts at the
 * size the previous task's needed, instead of doubling its way there again (each doubling moves
 * every key).
 */
const sizeHints = new Map<number, number>()
/** Keys whose first buckets addRows reads ahead of their lookups (a group). */
const AHEAD = 64
/** What addRows read ahead, kept so that the reads are not dropped as unused. */
let readAhead = 0

/**
 * Per-key rows of `columns` exact sums, keyed by the UTF-8 bytes of the key. `slot` finds (or
 * makes, all sums 0) the row of a key; `add` adds to one of its columns. A slot number is valid
 * until the next `flush`, `slot` or `slotOf` call (a new key may move every row).
 *
 * The rows are the buckets of one open-addressing table (linear probing, at most half full): a
 * bucket holds the key's header (or its first bytes and where the rest is) and its sums side by
 * side, so a lookup of a known key touches one or two cache lines, the ones its sums are added
 * in.
 *
 * @example
 * // in a bytes-form map: count and sum `amount` per `user`, without a string per record
 * const sums = new KeyedSums(2, emit)
 * const i = sums.slot(line, userStart, userEnd) // the key's UTF-8 bytes
 * sums.add(i, 0, 1)
 * sums.add(i, 1, amount)
 * // … at the end of the input:
 * sums.flush() // emit('u1', [3, 120]), emit('u2', [1, 7]), …
 */
export class KeyedSums {
  readonly columns: number
  readonly maxKeys: number
  /** Bucket size in 8-byte words (header and sums). */
  private readonly words: number
  /** The buckets, through three views of one buffer. */
  private u8!: Uint8Array
  private i32!: Int32Array
  private f64!: Float64Array
  /** Buckets − 1 (a power of two − 1). */
  private mask = 0
  /** Bytes of keys longer than INLINE, back to back. */
  private keys = new Uint8Array(1 << 16)
  private keysEnd = 0
  /** Cells (bucket·words + 2 + column) whose sum left the safe integers: their bigint (the sum cell holds NaN). */
  private big: Map<number, bigint> | undefined
  private n = 0
  private readonly scratch = new ByteSink(256)
  private readonly src = new ByteSource(Buffer.alloc(0))
  /** The first 8 bytes of the key being looked up, as two little-endian words (from hashKey). */
  private readonly head = new Int32Array(2)
  /** addRows' hashes and first words, three int32s per key of a batch. */
  private hashes = new Int32Array(0)

  constructor(columns: number, private readonly emit: Emit, opts: KeyedSumsOptions = {}) {
    if (!Number.isInteger(columns) || columns < 1 || columns > 1024) {
      throw new DiscoError('DISCO_BAD_SUMS', `expected KeyedSums columns from 1 to 1024, found ${String(columns)}`)
    }
    const maxKeys = opts.maxKeys ?? 1 << 20
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1 << 24) {
      throw new DiscoError('DISCO_BAD_SUMS', `expected KeyedSums maxKeys from 1 to 2^24, found ${String(maxKeys)}`)
    }
    if (typeof emit !== 'function') throw new DiscoError('DISCO_BAD_SUMS', `expected an emit function, found ${typeof emit}`)
    this.columns = columns
    this.maxKeys = maxKeys
    this.words = HEAD / 8 + columns
    this.table(FIRST_BUCKETS)
  }

  /** Distinct keys held now. */
  get size(): number {
    return this.n
  }

  /**
   * The slot of the key whose UTF-8 bytes are `buf[start, end)`, made with all sums 0 when new.
   * Bytes that are not valid UTF-8 still make a key of their own (its text then holds U+FFFD; the
   * combiner folds it with another key of the same text).
   */
  slot(buf: Uint8Array, start: number, end: number): number {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new DiscoError('DISCO_BAD_SUMS', `expected a key range within ${buf.length} bytes, found [${start}, ${end})`)
    }
    return this.find(hashKey(buf, start, end, 0, this.head), buf, start, end, 0)
  }

  /**
   * Adds a batch of rows, as `slot` and `add` would one by one: the key `buf[starts[j], ends[j])`
   * gets `values[j * columns + c]` added to column c, for j below `n`. Every key is hashed and its
   * first bucket read before the lookups start, so that the cache misses of a batch overlap
   * instead of coming one after the other (a table of many keys is bigger than the cache).
   */
  addRows(buf: Uint8Array, starts: Int32Array, ends: Int32Array, values: Float64Array, n: number): void {
    const cols = this.columns
    if (!(Number.isInteger(n) && n >= 0 && n <= starts.length && n <= ends.length && n * cols <= values.length)) {
      throw new DiscoError('DISCO_BAD_SUMS', `expected a batch of at most ${Math.min(starts.length, ends.length, Math.floor(values.length / cols))} rows, found ${n}`)
    }
    if (this.hashes.length < 3 * n) this.hashes = new Int32Array(3 * n)
    const hs = this.hashes
    const head = this.head
    const len = buf.length
    for (let j = 0; j < n; j++) {
      const s = starts[j]!
      const e = ends[j]!
      if (!(s >= 0 && s <= e && e <= len)) throw new DiscoError('DISCO_BAD_SUMS', `expected a key range within ${len} bytes, found [${s}, ${e})`)
      hs[3 * j] = hashKey(buf, s, e, 0, head)
      hs[3 * j + 1] = head[0]!
      hs[3 * j + 2] = head[1]!
    }
    // Each key's first bucket is read one group ahead of its lookup, while nothing waits on it.
    const w2 = this.words * 2
    let seen = 0
    for (let g = 0; g < n; g += AHEAD) {
      const i32 = this.i32
      const mask = this.mask
      for (let j = g + AHEAD, z = Math.min(n, j + AHEAD); j < z; j++) seen ^= i32[(hs[3 * j]! & mask) * w2]!
      if (g === 0) for (let j = 0, z = Math.min(n, AHEAD); j < z; j++) seen ^= i32[(hs[3 * j]! & mask) * w2]!
      for (let j = g, z = Math.min(n, g + AHEAD); j < z; j++) {
        head[0] = hs[3 * j + 1]!
        head[1] = hs[3 * j + 2]!
        const k = this.find(hs[3 * j]!, buf, starts[j]!, ends[j]!, 0)
        const f64 = this.f64
        for (let c = 0, at = k * this.words + 2, v = j * cols; c < cols; c++, at++, v++) {
          const x = values[v]!
          const sum = f64[at]! + x
          if (sum <= MAX_SAFE && sum >= -MAX_SAFE) f64[at] = sum
          else this.addSlow(at, x)
        }
      }
    }
    readAhead ^= seen
  }

  /** The slot of a key given as a string (any string, lone surrogates included). */
  slotOf(key: string): number {
    if (typeof key !== 'string') throw new DiscoError('DISCO_BAD_KEY', `keys must be strings, found ${typeof key} ${String(key).slice(0, 40)}`)
    const t = this.scratch
    t.pos = 0
    t.text(key)
    const s = this.src
    s.buf = t.buf
    s.pos = 0
    s.end = t.pos
    const h = s.varint()
    const flag = h & 1
    return this.find(hashKey(t.buf, s.pos, t.pos, flag, this.head), t.buf, s.pos, t.pos, flag)
  }

  /** Adds `value` (a number or bigint) to column `column` of slot `slot`, exactly. */
  add(slot: number, column: number, value: number | bigint): void {
    if (!(column >= 0 && column < this.columns && (slot & this.mask) === slot && this.i32[slot * this.words * 2] !== 0)) this.badCell(slot, column)
    const j = slot * this.words + 2 + column
    if (typeof value === 'number') {
      const s = this.f64[j]! + value
      if (s <= MAX_SAFE && s >= -MAX_SAFE) {
        this.f64[j] = s
        return
      }
    } else if (typeof value !== 'bigint') {
      throw new DiscoError('DISCO_BAD_SUMS', `expected a number or bigint to add, found ${value === null ? 'null' : typeof value}`)
    }
    this.addSlow(j, value)
  }

  /** The current sum of column `column` of slot `slot`. */
  get(slot: number, column: number): number | bigint {
    if (!(column >= 0 && column < this.columns && (slot & this.mask) === slot && this.i32[slot * this.words * 2] !== 0)) this.badCell(slot, column)
    const j = slot * this.words + 2 + column
    return this.big?.get(j) ?? this.f64[j]!
  }

  /**
   * Emits every key's row as `(key, [sum0, sum1, …])` and empties the table. The order is the
   * table's (a function of the keys' hashes and the order they came in): memory order is faster.
   */
  flush(): void {
    const cols = this.columns
    const w = this.words
    const { u8, i32, f64, keys, big } = this
    const buckets = this.mask + 1
    // A fresh table first: an emit that throws leaves no half-flushed table behind.
    this.n = 0
    this.keys = new Uint8Array(1 << 16)
    this.keysEnd = 0
    this.big = undefined
    this.table(FIRST_BUCKETS)
    const sink = (this.emit as { [ROW_SINK]?: RowSink })[ROW_SINK]
    for (let bucket = 0; bucket < buckets; bucket++) {
      const b32 = bucket * w * 2
      const lf = i32[b32]!
      if (lf === 0) continue
      const len = (lf - 1) >>> 1
      const at = b32 * 4 + 8
      if (sink !== undefined && ((lf - 1) & 1) === 0) {
        // ASCII keys whose sums are all numbers (no bigint) go straight to the engine.
        const kb = len <= INLINE ? u8 : keys
        const ks = len <= INLINE ? at : i32[b32 + 3]!
        let ok = true
        for (let j = ks; j < ks + len; j++) if (kb[j]! >= 0x80) { ok = false; break }
        for (let c = 0, j = bucket * w + 2; ok && c < cols; c++, j++) if (f64[j]! !== f64[j]!) ok = false
        if (ok) {
          sink(kb, ks, ks + len, f64, bucket * w + 2, cols)
          continue
        }
      }
      let key: string
      if (len <= INLINE) key = (lf - 1) & 1 ? decodeWtf8(u8, at, at + len) : utf8Slice.call(u8, at, at + len)
      else {
        const off = i32[b32 + 3]!
        key = (lf - 1) & 1 ? decodeWtf8(keys, off, off + len) : utf8Slice.call(keys, off, off + len)
      }
      const row = new Array<number | bigint>(cols)
      for (let c = 0, j = bucket * w + 2; c < cols; c++, j++) {
        const v = f64[j]!
        row[c] = v !== v && big !== undefined ? (big.get(j) ?? v) : v
      }
      this.emit(key, row)
    }
  }

  private badCell(slot: number, column: number): never {
    throw new DiscoError('DISCO_BAD_SUMS', `expected the slot of a key held and a column below ${this.columns}, found slot ${slot}, column ${column}`)
  }

  private addSlow(j: number, value: number | bigint): void {
    const cur = this.big?.get(j) ?? this.f64[j]!
    const r = addExact(cur, value)
    if (typeof r === 'bigint') {
      (this.big ??= new Map()).set(j, r)
      this.f64[j] = NaN
    } else {
      this.big?.delete(j)
      this.f64[j] = r
    }
  }

  /** An empty table of `buckets` buckets. */
  private table(buckets: number): void {
    const mem = new ArrayBuffer(buckets * this.words * 8)
    this.u8 = new Uint8Array(mem)
    this.i32 = new Int32Array(mem)
    this.f64 = new Float64Array(mem)
    this.mask = buckets - 1
  }

  /** The bucket of key bytes `b[s, e)` (hash `h`, first words in `head`, WTF-8 flag `flag`), made when new. */
  private find(h: number, b: Uint8Array, s: number, e: number, flag: number): number {
    const i32 = this.i32
    const w2 = this.words * 2
    const mask = this.mask
    const len = e - s
    const lf = ((len << 1) | flag) + 1
    const w0 = this.head[0]!
    const w1 = this.head[1]!
    let i = h & mask
    for (;;) {
      const q = i * w2
      const x = i32[q]!
      if (x === 0) return this.insert(h, b, s, e, lf, i)
      // Buckets hold keys of up to 8 bytes whole (two words), longer ones as a first word and an arena offset.
      if (x === lf && i32[q + 1] === h && i32[q + 2] === w0 && (len <= INLINE ? i32[q + 3] === w1 : this.sameTail(i32[q + 3]!, b, s, e))) return i
      i = (i + 1) & mask
    }
  }

  /** True when the arena key at `off` equals `b[s, e)` from its fifth byte on (same length). */
  private sameTail(off: number, b: Uint8Array, s: number, e: number): boolean {
    const keys = this.keys
    for (let j = 4; j < e - s; j++) if (keys[off + j] !== b[s + j]) return false
    return true
  }

  /**
   * Makes a bucket (sums 0) for key bytes `b[s, e)` (hash `h`, length and flag `lf`), at the empty
   * bucket `i` its probe ended on unless the table is full (flushed) or must grow (probed again).
   */
  private insert(h: number, b: Uint8Array, s: number, e: number, lf: number, i: number): number {
    if (this.n >= this.maxKeys) this.flush()
    // At most half of the buckets in use: short probes, for a new key too (a map task makes all
    // its keys anew), whose misses the read-ahead of addRows does not cover past the first bucket.
    if (2 * (this.n + 1) > this.mask + 1 || this.n === 0) {
      if (this.n > 0) this.grow()
      else if (this.mask + 1 < (sizeHints.get(this.words) ?? 0)) this.table(sizeHints.get(this.words)!)
      i = h & this.mask
      while (this.i32[i * this.words * 2] !== 0) i = (i + 1) & this.mask
    }
    const w = this.words
    const b32 = i * w * 2
    const len = e - s
    const i32 = this.i32
    i32[b32] = lf
    i32[b32 + 1] = h
    const f64 = this.f64
    for (let c = 0, j = i * w + 2; c < this.columns; c++, j++) f64[j] = 0
    i32[b32 + 2] = this.head[0]!
    if (len <= INLINE) {
      i32[b32 + 3] = this.head[1]!
    } else {
      if (this.keysEnd + len > this.keys.length) {
        let size = this.keys.length * 2
        while (size < this.keysEnd + len) size *= 2
        const bigger = new Uint8Array(size)
        bigger.set(this.keys.subarray(0, this.keysEnd))
        this.keys = bigger
      }
      // The whole key goes to the arena (its first 4 bytes too: the comparison reads from offset 4).
      this.keys.set(b.subarray(s, e), this.keysEnd)
      i32[b32 + 3] = this.keysEnd
      this.keysEnd += len
    }
    this.n++
    return i
  }

  /**
   * A table of twice the buckets: every key moved to its bucket there (its bigints too). Buckets
   * are read in memory order, so the writes go to two nearly sequential streams (bucket i moves
   * to about i or i + the old size).
   */
  private grow(): void {
    const w = this.words
    const w2 = w * 2
    const { i32: old, big } = this
    const oldBuckets = this.mask + 1
    this.table(oldBuckets * 2)
    const { i32, mask } = this
    if ((mask + 1) * w * 8 <= HINT_BYTES && mask + 1 > (sizeHints.get(w) ?? 0)) sizeHints.set(w, mask + 1)
    const moved = big === undefined ? undefined : new Map<number, bigint>()
    for (let from = 0; from < oldBuckets; from++) {
      if (old[from * w2] === 0) continue
      let i = old[from * w2 + 1]! & mask
      while (i32[i * w2] !== 0) i = (i + 1) & mask
      for (let a = from * w2, z = a + w2, t = i * w2; a < z; a++, t++) i32[t] = old[a]!
      if (moved !== undefined) {
        for (let c = 0; c < this.columns; c++) {
          const v = big!.get(from * w + 2 + c)
          if (v !== undefined) moved.set(i * w + 2 + c, v)
        }
      }
    }
    this.big = moved
  }
}

/**
 * A combiner (see CombineFn) for rows of sums such as KeyedSums emits: adds `value` into `acc`
 * column by column, exactly (integers past 2^53 become bigints), in place, and returns `acc`; a
 * longer `value` extends `acc`. Plain numbers are summed the same way. Name it as the job's
 * combiner (`{ module: 'disco-inferno', export: 'sumRows' }`) or re-export it from the job module.
 *
 * @example
 * sumRows('u1', [1, 5], [2, 7]) // [3, 12] (the first array, updated)
 * sumRows('u1', 2 ** 53 - 1, 2) // 9007199254740993n
 */
export function sumRows(_key: string, acc: unknown, value: unknown): unknown {
  if (Array.isArray(acc) && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const a: unknown = acc[i]
      const b: unknown = value[i]
      if (typeof a === 'number' && typeof b === 'number') {
        const s = a + b
        if (s <= MAX_SAFE && s >= -MAX_SAFE) {
          acc[i] = s
          continue
        }
      }
      acc[i] = i < acc.length ? addExact(summand(a), summand(b)) : summand(b)
    }
    return acc
  }
  return addExact(summand(acc), summand(value))
}

function summand(v: unknown): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return v
  throw new DiscoError('DISCO_BAD_SUMS', `expected numbers (or arrays of numbers) to sum, found ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`)
}
