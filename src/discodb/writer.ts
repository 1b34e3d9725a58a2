// The DiscoDB writer (spec sections 1-6, 9.2): compact accumulation of (key, value) pairs, then one
// pass that lays out header, CHD hash, key TOC + delta lists, value TOC + values, codebook.
import { constants as bufferConstants } from 'node:buffer'
import { DiscoError } from '../errors.js'
import { buildChd } from './chd-build.js'
import { CODEBOOK_BYTES, buildCodebook, encodeValue, makeScratch, writeCodebookTable } from './huffman-build.js'
import { ByteInterner, LIMITS, U32List } from './interner.js'

/** Options of `finalize` (the original's `disable_compression` and `unique_items`). */
export interface FinalizeOptions {
  /** Never compress values (compression only ever happens at ≥ 5 MiB of unique value bytes). */
  disableCompression?: boolean
  /** Drop repeated (key, value) pairs instead of storing them (no multiset flag). */
  uniqueItems?: boolean
}

/** A key or value: a string means its UTF-8 bytes. */
export type BytesLike = string | Uint8Array
/** What `add` accepts as values: one value, or any iterable of values (empty: a key without values). */
export type Values = BytesLike | Iterable<BytesLike>

const MAGIC_LO = 0x1d14de5b
const MAGIC_HI = 0x04d85be6
const HEADER_BYTES = 72
const F_HASH = 1
const F_MULTISET = 2
const F_COMPRESSED = 4
/** More keys than this get a perfect hash (the comparison is strict: 26 keys are hashed). */
const HASH_MIN_KEYS = 25
/** The original compresses only at ≥ 5 MiB of unique value bytes with an average length ≥ 6. */
const COMPRESS_MIN_BYTES = 5 * 1024 * 1024
const COMPRESS_MIN_AVG = 6
const MAX_U32 = 0xffffffff

/** Whether the original would compress these values (spec 3.1). */
export function wouldCompress(uniqueValueBytes: number, uniqueValues: number, disableCompression: boolean): boolean {
  return !disableCompression && uniqueValueBytes >= COMPRESS_MIN_BYTES && uniqueValueBytes / uniqueValues >= COMPRESS_MIN_AVG
}

/**
 * The byte-image half of `DiscoDBConstructor` (which adds `finalize()` returning an open DB): keys
 * get their slot and values their ID on first appearance; a repeated key accumulates values.
 * Memory: keys and unique values live once in two byte buffers, pairs in two u32 arrays. Kept apart
 * from the DB class so that `db.ts` (for `DiscoDB.build`) and this file do not import each other.
 *
 * @example
 * new ImageBuilder().add('a', ['x', 'y']).finalizeBytes().length // 128
 */
export class ImageBuilder {
  private keys = new ByteInterner(1 << 12, 1 << 8)
  private values = new ByteInterner(1 << 16, 1 << 10)
  private pairKey = new U32List()
  private pairValue = new U32List()
  private finalized = false
  /** The key of the previous `addRange` (input is often grouped by key). */
  private lastKey = -1

  /** Number of distinct keys added so far. */
  get keyCount(): number {
    return this.keys.count
  }

  /** Number of (key, value) pairs added so far (before `uniqueItems` removes repeats). */
  get pairCount(): number {
    return this.pairKey.length
  }

  /**
   * Adds `values` to `key` (strings are UTF-8). A failed call (bad type, over a format limit)
   * leaves the constructor exactly as it was before the call.
   */
  add(key: BytesLike, values: Values): this {
    this.checkOpen()
    const marks = [this.keys.count, this.values.count, this.pairKey.length]
    try {
      const k = this.internKey(key)
      if (typeof values === 'string' || values instanceof Uint8Array) this.pushPair(k, this.internValue(values))
      else if (values != null && typeof (values as Iterable<BytesLike>)[Symbol.iterator] === 'function') {
        for (const v of values as Iterable<BytesLike>) this.pushPair(k, this.internValue(v))
      } else throw new DiscoError('DDB_BAD_ARGUMENT', `expected values as a string, Uint8Array or iterable of them, found ${describe(values)}`)
    } catch (e) {
      this.keys.truncate(marks[0]!)
      this.values.truncate(marks[1]!)
      this.lastKey = -1
      this.pairKey.length = this.pairValue.length = marks[2]!
      throw e
    }
    return this
  }

  /**
   * Adds one pair given as byte ranges of `src` (no allocation per pair: the fast path for parsers).
   * `valueStart < 0` adds the key without a value.
   */
  addRange(src: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): this {
    this.checkOpen()
    const marks = [this.keys.count, this.values.count]
    try {
      let k = this.lastKey
      if (k < 0 || !this.keys.equals(k, src, keyStart, keyEnd)) k = this.lastKey = this.keys.intern(src, keyStart, keyEnd)
      if (valueStart >= 0) this.pushPair(k, this.values.intern(src, valueStart, valueEnd))
    } catch (e) {
      this.keys.truncate(marks[0]!)
      this.values.truncate(marks[1]!)
      this.lastKey = -1
      throw e
    }
    return this
  }

  /**
   * Builds the DB image only (for writing it to a file without opening it); the constructor
   * cannot be used afterwards (`DDB_FINALIZED`).
   *
   * @example
   * new ImageBuilder().finalizeBytes().length // 92 (an empty DB)
   */
  finalizeBytes(options: FinalizeOptions = {}): Uint8Array {
    this.checkOpen()
    this.finalized = true
    const out = layout(this.keys, this.values, this.pairKey, this.pairValue, Boolean(options.uniqueItems), Boolean(options.disableCompression))
    // Drop the accumulated data so that only the image stays alive.
    this.keys = this.values = new ByteInterner(16, 1)
    this.pairKey = this.pairValue = new U32List(1)
    return out
  }

  private checkOpen(): void {
    if (this.finalized) throw new DiscoError('DDB_FINALIZED', 'expected an open constructor, found one already finalized')
  }

  private internKey(key: BytesLike): number {
    if (typeof key === 'string') return this.keys.internString(key)
    if (key instanceof Uint8Array) return this.keys.intern(key, 0, key.length)
    throw new DiscoError('DDB_BAD_ARGUMENT', `expected a key as string or Uint8Array, found ${describe(key)}`)
  }

  private internValue(v: BytesLike): number {
    if (typeof v === 'string') return this.values.internString(v)
    if (v instanceof Uint8Array) return this.values.intern(v, 0, v.length)
    throw new DiscoError('DDB_BAD_ARGUMENT', `expected a value as string or Uint8Array, found ${describe(v)}`)
  }

  private pushPair(k: number, v: number): void {
    if (this.pairKey.length >= MAX_U32) throw new DiscoError('DDB_TOO_LARGE', `expected at most ${MAX_U32} pairs, found more`)
    this.pairKey.push(k)
    this.pairValue.push(v + 1) // value IDs are 1-based
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'array'
  return typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x
}

/** Bits needed for `x` (at least 1). */
const bitWidth = (x: number): number => (x <= 1 ? 1 : x > MAX_U32 ? 33 : 32 - Math.clz32(x))

/** Writes a u64 (< 2^53) little-endian. */
function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % 0x100000000, true)
  dv.setUint32(at + 4, Math.floor(v / 0x100000000), true)
}

/** Writes the delta list (count + bit stream) of `ids[from..to)` (sorted) at `p`; returns the end. */
function writeDeltas(out: Uint8Array, dv: DataView, p: number, ids: Uint32Array, from: number, to: number, w: number): number {
  dv.setUint32(p, to - from, true)
  p += 4
  if (to === from) return p
  let acc = w - 1
  let nb = 5
  let prev = 0
  if (w <= 24) {
    for (let i = from; i < to; i++) {
      const id = ids[i]!
      acc |= (id - prev) << nb
      prev = id
      nb += w
      while (nb >= 8) {
        out[p++] = acc & 255
        acc >>>= 8
        nb -= 8
      }
    }
  } else {
    // Wide deltas: keep the accumulator in a double (≤ 40 bits, exact).
    for (let i = from; i < to; i++) {
      const id = ids[i]!
      acc += (id - prev) * 2 ** nb
      prev = id
      nb += w
      while (nb >= 8) {
        out[p++] = acc % 256
        acc = Math.floor(acc / 256)
        nb -= 8
      }
    }
  }
  if (nb > 0) out[p++] = acc & 255
  return p
}

/** Sorts `a[from..to)` ascending (insertion sort for the usual short lists). */
function sortRange(a: Uint32Array, from: number, to: number): void {
  if (to - from > 24) {
    a.subarray(from, to).sort()
    return
  }
  for (let i = from + 1; i < to; i++) {
    const x = a[i]!
    let j = i - 1
    while (j >= from && a[j]! > x) {
      a[j + 1] = a[j]!
      j--
    }
    a[j + 1] = x
  }
}

/** Lays out the whole DB (spec section 6). */
function layout(keys: ByteInterner, values: ByteInterner, pairKey: U32List, pairValue: U32List, uniqueItems: boolean, disableCompression: boolean): Uint8Array {
  const K = keys.count
  const U = values.count
  const N = pairKey.length
  // 1. Group value IDs by key (counting sort), sort each list, drop repeats with uniqueItems.
  const start = new Float64Array(K + 1)
  const pk = pairKey.data
  for (let i = 0; i < N; i++) start[pk[i]! + 1]!++
  for (let k = 0; k < K; k++) start[k + 1]! += start[k]!
  const ids = new Uint32Array(N)
  {
    const fill = start.slice(0, K)
    const pv = pairValue.data
    for (let i = 0; i < N; i++) ids[fill[pk[i]!]!++] = pv[i]!
  }
  const count = new Uint32Array(K)
  const width = new Uint8Array(K)
  let multiset = false
  let numValues = 0
  for (let k = 0; k < K; k++) {
    const s = start[k]!
    const e = start[k + 1]!
    sortRange(ids, s, e)
    let maxDelta = 0
    let prev = 0
    let w = s
    for (let i = s; i < e; i++) {
      const id = ids[i]!
      const d = id - prev
      if (d > maxDelta) maxDelta = d
      if (d === 0 && i > s) {
        if (uniqueItems) continue
        multiset = true
      }
      ids[w++] = id
      prev = id
    }
    count[k] = w - s
    width[k] = bitWidth(maxDelta)
    numValues += w - s
  }
  // 2. Key order: perfect-hash order above 25 keys, else first appearance.
  let order: Uint32Array | null = null
  let blob: Uint8Array = new Uint8Array(0)
  if (K > HASH_MIN_KEYS) {
    const chd = buildChd(keys.bytes, keys.offsets, K)
    order = chd.order
    blob = chd.blob
  }
  // 3. Values: raw bytes in ID order, or Huffman-coded.
  const compress = wouldCompress(values.byteLength, U, disableCompression)
  let valueBytes: Uint8Array = values.bytes.subarray(0, values.byteLength)
  let valueOffsets: ArrayLike<number> = values.offsets
  let codebook: ReturnType<typeof buildCodebook> | null = null
  if (compress) {
    const scratch = makeScratch()
    codebook = buildCodebook(values.bytes, values.offsets, U, scratch)
    let bound = 0
    for (let v = 0; v < U; v++) bound += Math.ceil((3 + 9 * values.lengthOf(v)) / 8)
    const enc = new Uint8Array(bound)
    const encOffsets = new Float64Array(U + 1)
    let p = 0
    for (let v = 0; v < U; v++) {
      p += encodeValue(codebook, values.bytes, values.offsets[v]!, values.offsets[v + 1]!, enc, p, scratch)
      encOffsets[v + 1] = p
    }
    valueBytes = enc.subarray(0, p)
    valueOffsets = encOffsets
  }
  // 4. Sizes, then one exact allocation.
  let keySection = 8 * (K + 1)
  for (let k = 0; k < K; k++) {
    const c = count[k]!
    keySection += 8 + keys.lengthOf(k) + (c > 0 ? Math.ceil((5 + c * width[k]!) / 8) : 0)
  }
  const key2values = HEADER_BYTES + blob.length
  const id2value = key2values + keySection
  const valuesStart = id2value + 8 * (U + 1)
  const codebookOffs = valuesStart + valueBytes.length + 4
  const size = codebookOffs + (compress ? CODEBOOK_BYTES : 0)
  if (size > bufferConstants.MAX_LENGTH) {
    throw new DiscoError('DDB_TOO_LARGE', `expected a DB image of at most ${bufferConstants.MAX_LENGTH} bytes, found ${size}`)
  }
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  // Header.
  dv.setUint32(0, MAGIC_LO, true)
  dv.setUint32(4, MAGIC_HI, true)
  setU64(dv, 8, size)
  dv.setUint32(16, K, true)
  dv.setUint32(20, U, true)
  setU64(dv, 24, numValues)
  setU64(dv, 32, (order ? F_HASH : 0) | (multiset ? F_MULTISET : 0) | (compress ? F_COMPRESSED : 0))
  setU64(dv, 40, key2values)
  setU64(dv, 48, id2value)
  setU64(dv, 56, HEADER_BYTES)
  setU64(dv, 64, compress ? codebookOffs : 0)
  out.set(blob, HEADER_BYTES)
  // Key TOC and key records.
  let p = key2values + 8 * (K + 1)
  const kb = keys.bytes
  for (let i = 0; i < K; i++) {
    const k = order ? order[i]! : i
    setU64(dv, key2values + 8 * i, p)
    const ks = keys.offsets[k]!
    const klen = keys.offsets[k + 1]! - ks
    dv.setUint32(p, klen, true)
    out.set(kb.subarray(ks, ks + klen), p + 4)
    p = writeDeltas(out, dv, p + 4 + klen, ids, start[k]!, start[k]! + count[k]!, width[k]!)
  }
  setU64(dv, key2values + 8 * K, p)
  // Value TOC, values, 4 zero bytes, codebook.
  const base = valuesStart - (valueOffsets[0] ?? 0)
  for (let v = 0; v <= U; v++) setU64(dv, id2value + 8 * v, base + valueOffsets[v]!)
  out.set(valueBytes, valuesStart)
  if (codebook) writeCodebookTable(codebook, out, codebookOffs)
  return out
}

/**
 * The image of a DB built from `[key, values]` pairs in one call (`DiscoDB.build` opens it).
 *
 * @example
 * buildImage([['a', ['x']], ['b', []]]).length // 136
 */
export function buildImage(items: Iterable<readonly [BytesLike, Values]>, options?: FinalizeOptions): Uint8Array {
  if (items == null || typeof (items as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new DiscoError('DDB_BAD_ARGUMENT', `expected an iterable of [key, values] pairs, found ${describe(items)}`)
  }
  const c = new ImageBuilder()
  for (const item of items) {
    if (!Array.isArray(item) || item.length !== 2) {
      throw new DiscoError('DDB_BAD_ARGUMENT', `expected a [key, values] pair, found ${describe(item)}${Array.isArray(item) ? ` of length ${item.length}` : ''}`)
    }
    c.add(item[0], item[1])
  }
  return c.finalizeBytes(options)
}

export { LIMITS }
