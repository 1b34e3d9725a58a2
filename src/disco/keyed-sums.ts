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

/**
 * Where an engine's `emit` may take rows straight from KeyedSums (a property of the emit
 * function under this registered symbol): an ASCII key's bytes `key[start, end)` and its row, the
 * numbers `sums[at, at + n)`, added as the pair `(key, [numbers])` would be, without the key
 * string, the array or the combiner's table (keys are unique per flush; the engine's combiner
 * folds a key met again when it sorts). A task's `emit` has it unless a custom partitioner needs
 * the key's text; any other emit gets ordinary pairs.
 */
export const ROW_SINK = Symbol.for('disco-inferno.rowSink')

/** The function under {@link ROW_SINK}. */
export type RowSink = (key: Uint8Array, start: number, end: number, sums: Float64Array, at: number, n: number) => void

/** Options of {@link KeyedSums}. */
export interface KeyedSumsOptions {
  /** Distinct keys held before every row is emitted and the table starts again (default 2^20). */
  maxKeys?: number
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER
type Slicer = (this: Uint8Array, start: number, end: number) => string
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slicer }).utf8Slice

/**
 * Hashes `b[s, e)` (FNV-1a seeded with `seed`, then a final mix so that the low bits spread) and
 * takes the key's first 8 bytes as two little-endian words (zeros past the end) into `head`.
 */
function hashKey(b: Uint8Array, s: number, e: number, seed: number, head: Int32Array): number {
  let h = 0x811c9dc5 ^ seed
  let w0 = 0
  let w1 = 0
  const e4 = e - s < 4 ? e : s + 4
  const e8 = e - s < 8 ? e : s + 8
  let i = s
  for (; i < e4; i++) {
    const c = b[i]!
    h = Math.imul(h ^ c, 0x01000193)
    w0 |= c << ((i - s) << 3)
  }
  for (; i < e8; i++) {
    const c = b[i]!
    h = Math.imul(h ^ c, 0x01000193)
    w1 |= c << ((i - s - 4) << 3)
  }
  for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
  head[0] = w0
  head[1] = w1
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  return h | 0
}

/**
 * Bytes of a row's header: hash, key length and flag, then 8 key bytes (short keys) or 4 key bytes
 * and the key's arena offset. Key bytes are written and compared as little-endian 32-bit words
 * (the byte order of every platform Node runs on here), so they read back as bytes in order.
 */
const HEAD = 16
/** Keys of at most this many bytes live in their entry. */
const INLINE = 8

/**
 * Per-key rows of `columns` exact sums, keyed by the UTF-8 bytes of the key. `slot` finds (or
 * makes, all sums 0) the row of a key; `add` adds to one of its columns. A slot number is valid
 * until the next `flush` (a full table is flushed when a new key comes, so until the next
 * `slot` or `slotOf` call at most).
 *
 * The rows are kept densely in the order their keys came, each with its key (or the key's first
 * bytes and where the rest is) and its sums in one run of bytes; a compact open-addressing index
 * (linear probing) finds them. Keys met often come early, so their rows share few cache lines.
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
  /** Row size in 8-byte words (header and sums). */
  private readonly words: number
  /** The rows, through three views of one buffer. */
  private u8: Uint8Array
  private i32: Int32Array
  private f64: Float64Array
  /** Rows the buffer holds. */
  private cap: number
  /** Open addressing over the rows: slot + 1 per bucket (0: empty). */
  private index: Int32Array
  private mask: number
  /** Bytes of keys longer than INLINE, back to back. */
  private keys = new Uint8Array(1 << 16)
  private keysEnd = 0
  /** Cells (slot·words + 2 + column) whose sum left the safe integers: their bigint (the sum cell holds NaN). */
  private big: Map<number, bigint> | undefined
  private n = 0
  private readonly scratch = new ByteSink(256)
  private readonly src = new ByteSource(Buffer.alloc(0))
  /** The first 8 bytes of the key being looked up, as two little-endian words (from hashKey). */
  private readonly head = new Int32Array(2)

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
    this.cap = 1024
    const mem = new ArrayBuffer(this.cap * this.words * 8)
    this.u8 = new Uint8Array(mem)
    this.i32 = new Int32Array(mem)
    this.f64 = new Float64Array(mem)
    this.index = new Int32Array(4096)
    this.mask = 4096 - 1
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
    if (!(column >= 0 && column < this.columns && slot >= 0 && slot < this.n)) this.badCell(slot, column)
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
    if (!(column >= 0 && column < this.columns && slot >= 0 && slot < this.n)) this.badCell(slot, column)
    const j = slot * this.words + 2 + column
    return this.big?.get(j) ?? this.f64[j]!
  }

  /** Emits every key's row as `(key, [sum0, sum1, …])`, in the order the keys came, and empties the table. */
  flush(): void {
    const cols = this.columns
    const w = this.words
    const { u8, i32, f64, keys, big } = this
    const n = this.n
    // Emptied first: an emit that throws leaves no half-flushed table behind (rows are reused).
    this.n = 0
    this.keysEnd = 0
    this.big = undefined
    this.index.fill(0)
    const sink = (this.emit as { [ROW_SINK]?: RowSink })[ROW_SINK]
    for (let k = 0; k < n; k++) {
      const b32 = k * w * 2
      const lf = i32[b32 + 1]!
      const len = (lf - 1) >>> 1
      const at = b32 * 4 + 8
      if (sink !== undefined && ((lf - 1) & 1) === 0) {
        // ASCII keys whose sums are all numbers (no bigint) go straight to the engine.
        const kb = len <= INLINE ? u8 : keys
        const ks = len <= INLINE ? at : i32[b32 + 3]!
        let ok = true
        for (let j = ks; j < ks + len; j++) if (kb[j]! >= 0x80) { ok = false; break }
        for (let c = 0, j = k * w + 2; ok && c < cols; c++, j++) if (f64[j]! !== f64[j]!) ok = false
        if (ok) {
          sink(kb, ks, ks + len, f64, k * w + 2, cols)
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
      for (let c = 0, j = k * w + 2; c < cols; c++, j++) {
        const v = f64[j]!
        row[c] = v !== v && big !== undefined ? (big.get(j) ?? v) : v
      }
      this.emit(key, row)
    }
  }

  private badCell(slot: number, column: number): never {
    throw new DiscoError('DISCO_BAD_SUMS', `expected a slot below ${this.n} and a column below ${this.columns}, found slot ${slot}, column ${column}`)
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

  /** The slot of key bytes `b[s, e)` (hash `h`, first words in `head`, WTF-8 flag `flag`), inserted when new. */
  private find(h: number, b: Uint8Array, s: number, e: number, flag: number): number {
    const index = this.index
    const i32 = this.i32
    const w2 = this.words * 2
    const mask = this.mask
    const len = e - s
    const lf = ((len << 1) | flag) + 1
    const w0 = this.head[0]!
    const w1 = this.head[1]!
    let i = h & mask
    for (;;) {
      const x = index[i]!
      if (x === 0) break
      const b32 = (x - 1) * w2
      // Rows hold keys of up to 8 bytes whole (two words), longer ones as a first word and an arena offset.
      if (i32[b32] === h && i32[b32 + 1] === lf && i32[b32 + 2] === w0 && (len <= INLINE ? i32[b32 + 3] === w1 : this.sameTail(i32[b32 + 3]!, b, s, e))) return x - 1
      i = (i + 1) & mask
    }
    if (this.n >= this.maxKeys) {
      this.flush()
      return this.find(h, b, s, e, flag)
    }
    const k = this.insert(h, b, s, e, lf)
    index[i] = k + 1
    // Load factor at most 1/2.
    if (2 * this.n > mask + 1) this.reindex()
    return k
  }

  /** True when the arena key at `off` equals `b[s, e)` from its fifth byte on (same length). */
  private sameTail(off: number, b: Uint8Array, s: number, e: number): boolean {
    const keys = this.keys
    for (let j = 4; j < e - s; j++) if (keys[off + j] !== b[s + j]) return false
    return true
  }

  /** Writes a new row (sums 0) for key bytes `b[s, e)`; returns its slot. */
  private insert(h: number, b: Uint8Array, s: number, e: number, lf: number): number {
    const k = this.n
    if (k === this.cap) this.grow()
    const w = this.words
    const b32 = k * w * 2
    const len = e - s
    const i32 = this.i32
    i32[b32] = h
    i32[b32 + 1] = lf
    // A row used before a flush keeps its old sums until now.
    const f64 = this.f64
    for (let c = 0, j = k * w + 2; c < this.columns; c++, j++) f64[j] = 0
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
    this.n = k + 1
    return k
  }

  /** Room for twice the rows (rows keep their slots). */
  private grow(): void {
    this.cap *= 2
    const mem = new ArrayBuffer(this.cap * this.words * 8)
    const u8 = new Uint8Array(mem)
    u8.set(this.u8)
    this.u8 = u8
    this.i32 = new Int32Array(mem)
    this.f64 = new Float64Array(mem)
  }

  /** An index twice as large, rebuilt from the rows' hashes. */
  private reindex(): void {
    const size = (this.mask + 1) * 2
    const index = new Int32Array(size)
    const mask = size - 1
    const i32 = this.i32
    const w2 = this.words * 2
    for (let k = 0; k < this.n; k++) {
      let i = i32[k * w2]! & mask
      while (index[i] !== 0) i = (i + 1) & mask
      index[i] = k + 1
    }
    this.index = index
    this.mask = mask
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
