// Key lookup through the CMPH "CHD" minimal perfect hash (spec 4): Jenkins lookup2, the select
// structure, the compressed displacement sequence and the compressed rank of empty bins.
import { type Bytes, corrupt, readBits, u32 } from './bytes.js'

/** Jenkins lookup2 as CMPH uses it (spec 4.6): returns [a, b, c] as unsigned 32-bit numbers. */
export function jenkins(seed: number, key: Uint8Array): [number, number, number] {
  jenkinsInto(seed, key, 0, key.length)
  return [hashOut[0]!, hashOut[1]!, hashOut[2]!]
}

/** Where jenkinsInto leaves a, b, c (no array per lookup). */
const hashOut = new Uint32Array(3)

/** Jenkins lookup2 of `key[at, at + len)` into `hashOut`. */
function jenkinsInto(seed: number, key: Uint8Array, at: number, len: number): void {
  let a = 0x9e3779b9 | 0
  let b = 0x9e3779b9 | 0
  let c = seed | 0
  let i = at
  const end = at + len
  for (; end - i >= 12; i += 12) {
    a = (a + (key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24))) | 0
    b = (b + (key[i + 4]! | (key[i + 5]! << 8) | (key[i + 6]! << 16) | (key[i + 7]! << 24))) | 0
    c = (c + (key[i + 8]! | (key[i + 9]! << 8) | (key[i + 10]! << 16) | (key[i + 11]! << 24))) | 0
    a = (a - b - c) ^ (c >>> 13); b = (b - c - a) ^ (a << 8); c = (c - a - b) ^ (b >>> 13)
    a = (a - b - c) ^ (c >>> 12); b = (b - c - a) ^ (a << 16); c = (c - a - b) ^ (b >>> 5)
    a = (a - b - c) ^ (c >>> 3); b = (b - c - a) ^ (a << 10); c = (c - a - b) ^ (b >>> 15)
  }
  c = (c + len) | 0
  const rest = end - i
  // Tail bytes: 0..3 into a, 4..7 into b, 8..10 into c at shifts 8, 16, 24.
  if (rest > 0) {
    a = (a + tailWord(key, i, rest < 4 ? rest : 4)) | 0
    if (rest > 4) b = (b + tailWord(key, i + 4, rest < 8 ? rest - 4 : 4)) | 0
    if (rest > 8) c = (c + (tailWord(key, i + 8, rest - 8) << 8)) | 0
  }
  a = (a - b - c) ^ (c >>> 13); b = (b - c - a) ^ (a << 8); c = (c - a - b) ^ (b >>> 13)
  a = (a - b - c) ^ (c >>> 12); b = (b - c - a) ^ (a << 16); c = (c - a - b) ^ (b >>> 5)
  a = (a - b - c) ^ (c >>> 3); b = (b - c - a) ^ (a << 10); c = (c - a - b) ^ (b >>> 15)
  hashOut[0] = a
  hashOut[1] = b
  hashOut[2] = c
}

/**
 * Jenkins lookup2 of a key of `len` bytes held as little-endian words (`words[k]` is bytes
 * 4k..4k+3; the bytes past `len` in its last word are zero) into `hashOut`: the same hash as
 * `jenkinsInto` with one load per four bytes.
 */
function jenkinsWords(seed: number, words: Int32Array, len: number): void {
  let a = 0x9e3779b9 | 0
  let b = 0x9e3779b9 | 0
  let c = seed | 0
  let j = 0
  let rest = len
  for (; rest >= 12; rest -= 12, j += 3) {
    a = (a + words[j]!) | 0
    b = (b + words[j + 1]!) | 0
    c = (c + words[j + 2]!) | 0
    a = (a - b - c) ^ (c >>> 13); b = (b - c - a) ^ (a << 8); c = (c - a - b) ^ (b >>> 13)
    a = (a - b - c) ^ (c >>> 12); b = (b - c - a) ^ (a << 16); c = (c - a - b) ^ (b >>> 5)
    a = (a - b - c) ^ (c >>> 3); b = (b - c - a) ^ (a << 10); c = (c - a - b) ^ (b >>> 15)
  }
  c = (c + len) | 0
  // Tail bytes: 0..3 into a, 4..7 into b, 8..10 into c at shifts 8, 16, 24 (the zero bytes past
  // the key add nothing; a word is read only when it holds a byte of the key).
  if (rest > 0) {
    a = (a + words[j]!) | 0
    if (rest > 4) b = (b + words[j + 1]!) | 0
    if (rest > 8) c = (c + (words[j + 2]! << 8)) | 0
  }
  a = (a - b - c) ^ (c >>> 13); b = (b - c - a) ^ (a << 8); c = (c - a - b) ^ (b >>> 13)
  a = (a - b - c) ^ (c >>> 12); b = (b - c - a) ^ (a << 16); c = (c - a - b) ^ (b >>> 5)
  a = (a - b - c) ^ (c >>> 3); b = (b - c - a) ^ (a << 10); c = (c - a - b) ^ (b >>> 15)
  hashOut[0] = a
  hashOut[1] = b
  hashOut[2] = c
}

/** The `n` (1..4) bytes of `key` from `p` as a little-endian word. */
function tailWord(key: Uint8Array, p: number, n: number): number {
  let x = key[p + n - 1]!
  for (let k = n - 2; k >= 0; k--) x = (x << 8) | key[p + k]!
  return x
}

/** A parsed select structure (spec 4.3): where its bit vector is and how many ones/zeros. */
interface Select {
  readonly nSel: number
  readonly mSel: number
  readonly bitsOff: number
  /** Byte size of the whole structure. */
  readonly size: number
}

/** Reads the select structure at `off`, which must end by `limit`. */
export function readSelect(b: Bytes, off: number, limit: number): Select {
  const nSel = u32(b, off, 'select n')
  const mSel = u32(b, off + 4, 'select m')
  const size = 8 + 4 * Math.ceil((nSel + mSel) / 32) + 4 * (Math.floor(nSel / 128) + 1)
  if (off + size > limit) corrupt('select structure', `end <= ${limit}`, off + size)
  return { nSel, mSel, bitsOff: off + 8, size }
}

/** Calls `onBit(isOne)` for each of the `nSel + mSel` bits of a select structure's vector. */
function forEachBit(b: Bytes, s: Select, onBit: (one: boolean) => void): void {
  const total = s.nSel + s.mSel
  for (let w = 0; w * 32 < total; w++) {
    const word = b.view.getUint32(s.bitsOff + 4 * w, true)
    const top = Math.min(32, total - w * 32)
    for (let k = 0; k < top; k++) onBit(((word >>> k) & 1) === 1)
  }
}

/** The frame shared by 4.4 and 4.5: three u32 fields, sel_size, a select structure, remainders. */
interface Frame {
  readonly fields: readonly [number, number, number]
  readonly remR: number
  readonly sel: Select
  /** Offset of the packed remainders after the select structure. */
  readonly remsOff: number
}

/** Reads a frame at `off` whose field number `remAt` is rem_r (1..31). */
function readFrame(b: Bytes, off: number, limit: number, what: string, remAt: 1 | 2): Frame {
  const fields = [u32(b, off, what), u32(b, off + 4, what), u32(b, off + 8, what)] as const
  const selSize = u32(b, off + 12, `${what} sel_size`)
  const remR = fields[remAt]
  if (remR < 1 || remR > 31) corrupt(`${what} rem_r`, '1..31', remR)
  const sel = readSelect(b, off + 16, limit)
  if (sel.size !== selSize) corrupt(`${what} sel_size`, String(sel.size), selSize)
  return { fields, remR, sel, remsOff: off + 16 + selSize }
}

/**
 * Decodes the compressed displacement sequence at `off` (spec 4.4), ending by `limit`.
 * @example readCompressedSeq(b, phfOff + 20, phfEnd).length // nbuckets
 */
export function readCompressedSeq(b: Bytes, off: number, limit: number): Float64Array {
  const { fields: [n, , totalLength], remR, sel, remsOff } = readFrame(b, off, limit, 'compressed sequence', 1)
  if (sel.nSel !== n) corrupt('compressed sequence select n', String(n), sel.nSel)
  const storeOff = remsOff + 4 * Math.ceil((n * remR) / 32)
  const end = storeOff + 4 * Math.ceil(totalLength / 32)
  if (end > limit) corrupt('compressed sequence', `end <= ${limit}`, end)
  const out = new Float64Array(n)
  const scale = 2 ** remR
  let i = 0
  let pos = 0
  let prev = 0
  forEachBit(b, sel, (one) => {
    if (one && i < n) {
      const p = (pos - i) * scale + readBits(b.buf, remsOff, i * remR, remR)
      const len = p - prev
      if (len < 0 || len > 32 || p > totalLength) corrupt(`displacement ${i}`, `a bit length 0..32 within ${totalLength}`, `end ${p} after ${prev}`)
      out[i] = len === 0 ? 0 : readBits(b.buf, storeOff, prev, len) + 2 ** len - 1
      prev = p
      i++
    }
    pos++
  })
  if (i !== n) corrupt('compressed sequence', `${n} one bits`, i)
  return out
}

/**
 * Decodes the compressed rank structure at `off` (spec 4.5): the ascending empty bin numbers.
 * @example readCompressedRank(b, 80, limit) // Uint32Array [3, 17, …]
 */
export function readCompressedRank(b: Bytes, off: number, limit: number): Uint32Array {
  const { fields: [maxVal, n], remR, sel, remsOff } = readFrame(b, off, limit, 'compressed rank', 2)
  if (sel.mSel !== n || sel.nSel !== Math.floor(maxVal / 2 ** remR)) {
    corrupt('compressed rank select', `${Math.floor(maxVal / 2 ** remR)} ones and ${n} zeros`, `${sel.nSel} and ${sel.mSel}`)
  }
  if (remsOff + 4 * Math.ceil((n * remR) / 32) > limit) corrupt('compressed rank', `end <= ${limit}`, remsOff)
  const out = new Uint32Array(n)
  const scale = 2 ** remR
  let ones = 0
  let j = 0
  forEachBit(b, sel, (one) => {
    if (one) ones++
    else if (j < n) {
      out[j] = ones * scale + readBits(b.buf, remsOff, j * remR, remR)
      if (j > 0 && out[j]! <= out[j - 1]!) corrupt('empty bin list', 'ascending bins', `${out[j - 1]} then ${out[j]}`)
      j++
    }
  })
  return out
}

/** A ready-to-query CHD: evaluates a key to a candidate key index (spec 4.7). */
export interface Chd {
  readonly seed: number
  readonly bins: number
  /** Number of buckets (displacements). */
  readonly buckets: number
  /** 1 / bins, 1 / (bins - 1), 1 / buckets: remainders are taken with a multiplication and one correction. */
  readonly invBins: number
  readonly invBins1: number
  readonly invBuckets: number
  readonly displacements: Float64Array
  /**
   * Each bucket's displacement split as (p0, p1) = (d mod bins, d div bins), two int32 per
   * bucket, when bins < 2^26 and every p1 < bins (then h * p0 is exact in a double and the bin
   * needs no division), unless `small` serves; else null (`small` or the general path).
   */
  readonly pairs: Int32Array | null
  /**
   * The displacements as u16 when each is below both 2^16 and `bins` (then p0 = d and p1 = 0)
   * and bins < 2^26: 2 bytes a bucket instead of 8, so that the table stays in the cache (CMPH's
   * displacements are small: below 50 on a DB of 100,000 keys); else null. `pairs` is made only
   * when this is null.
   */
  readonly small: Uint16Array | null
  /**
   * The rank of empty bins in one small table (about 2 bits per bin, so that it stays in the
   * cache): for word `k = bin >>> 5`, bit `bin & 31` of `rank[2k]` is set when the bin holds a
   * key, and `rank[2k + 1]` counts the keys of the bins before that word (both in one cache line).
   */
  readonly rank: Int32Array
}

/**
 * Parses the hash blob at `off` that must end exactly at `end` (= key2values_offs) for a DB of
 * `numKeys` keys.
 */
export function readChd(b: Bytes, off: number, end: number, numKeys: number): Chd {
  const algo = u32(b, off, 'hash algo')
  if (algo !== 8) corrupt('hash algo', '8 (CHD)', algo)
  const crSize = u32(b, off + 4, 'compressed rank size')
  const crOff = off + 8
  const phfSizeOff = crOff + crSize
  const phfSize = u32(b, phfSizeOff, 'inner hash size')
  const phf = phfSizeOff + 4
  if (phf + phfSize !== end) corrupt('hash blob', `end at ${end}`, phf + phfSize)
  const emptyBins = readCompressedRank(b, crOff, phfSizeOff)
  const innerAlgo = u32(b, phf, 'inner hash algo')
  if (innerAlgo !== 7) corrupt('inner hash algo', '7 (CHD_PH)', innerAlgo)
  const hashfunc = u32(b, phf + 4, 'hash function')
  if (hashfunc !== 0) corrupt('hash function', '0 (Jenkins)', hashfunc)
  const seed = u32(b, phf + 8, 'hash seed')
  const bins = u32(b, phf + 12, 'number of bins')
  const nbuckets = u32(b, phf + 16, 'number of buckets')
  if (bins < 2 || bins !== numKeys + emptyBins.length) {
    corrupt('number of bins', `keys + empty bins = ${numKeys + emptyBins.length} (at least 2)`, bins)
  }
  const displacements = readCompressedSeq(b, phf + 20, end)
  if (nbuckets < 1 || displacements.length !== nbuckets) corrupt('number of buckets', String(displacements.length), nbuckets)
  // bins = keys + empty bins, and both are bounded by the file size: the tables are bounded too.
  for (let e = 0; e < emptyBins.length; e++) if (emptyBins[e]! >= bins) corrupt('empty bin', `below ${bins}`, emptyBins[e]!)
  return prepareChd(seed, bins, displacements, emptyBins)
}

/**
 * The query tables of a CHD of `bins` bins (>= 2) from its decoded displacements and its
 * ascending empty bins (each below `bins`).
 * @example prepareChd(seed, 5, Float64Array.of(3), Uint32Array.of(2)).rank // Int32Array [27, 0]
 */
export function prepareChd(seed: number, bins: number, displacements: Float64Array, emptyBins: Uint32Array): Chd {
  const words = (bins + 31) >>> 5
  const rank = new Int32Array(2 * words)
  for (let w = 0; w < words; w++) rank[2 * w] = w === words - 1 && bins & 31 ? (1 << (bins & 31)) - 1 : -1
  for (let e = 0; e < emptyBins.length; e++) rank[2 * (emptyBins[e]! >>> 5)]! &= ~(1 << (emptyBins[e]! & 31))
  for (let w = 0, k = 0; w < words; w++) {
    rank[2 * w + 1] = k
    k += popcount(rank[2 * w]!)
  }
  const buckets = displacements.length
  const small = smallDisplacements(displacements, bins)
  const pairs = small === null ? splitDisplacements(displacements, bins) : null
  return { seed, bins, buckets, invBins: 1 / bins, invBins1: 1 / (bins - 1), invBuckets: 1 / buckets, displacements, pairs, small, rank }
}

/** The displacements as u16 (see `Chd.small`), or null when one is too large or bins >= 2^26. */
function smallDisplacements(displacements: Float64Array, n: number): Uint16Array | null {
  if (n >= 0x4000000) return null
  const limit = Math.min(n, 0x10000)
  const small = new Uint16Array(displacements.length)
  for (let i = 0; i < displacements.length; i++) {
    const d = displacements[i]!
    if (d >= limit) return null
    small[i] = d
  }
  return small
}

/** The (p0, p1) pairs of `Chd.pairs`, or null when some bucket needs the general path. */
function splitDisplacements(displacements: Float64Array, n: number): Int32Array | null {
  if (n >= 0x4000000) return null
  const pairs = new Int32Array(2 * displacements.length)
  for (let i = 0; i < displacements.length; i++) {
    const d = displacements[i]!
    const p1 = Math.floor(d / n)
    if (p1 >= n) return null
    pairs[2 * i] = d - p1 * n
    pairs[2 * i + 1] = p1
  }
  return pairs
}

/** Number of set bits of a 32-bit word. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24)
}

/**
 * The key index of bin `bin` (its rank among occupied bins), or -1 when the bin is empty.
 * @example binKey(chd, 18) // 17 (one empty bin before it)
 */
export function binKey(chd: Chd, bin: number): number {
  const k = 2 * (bin >>> 5)
  const word = chd.rank[k]!
  const bit = 1 << (bin & 31)
  if ((word & bit) === 0) return -1
  return chd.rank[k + 1]! + popcount(word & (bit - 1))
}

/**
 * x mod m for integers 0 <= x < 2^52 and 0 < m < 2^32 with x / m < 2^32, given inv = 1 / m: the
 * rounding errors of inv and of x * inv stay far below 1, so floor(x * inv) is the quotient or
 * one off, which one correction fixes.
 */
function modRecip(x: number, m: number, inv: number): number {
  const r = x - Math.floor(x * inv) * m
  return r < 0 ? r + m : r >= m ? r - m : r
}

/**
 * x mod n for integers 0 <= x < 2^53, 0 < n < 2^32, by float division (the `%` of doubles is a
 * slow library call); the quotient may be off by one, which the correction fixes.
 */
function mod(x: number, n: number): number {
  let r = x - Math.floor(x / n) * n
  if (r < 0) r += n
  else if (r >= n) r -= n
  return r
}

/** (a * b) mod n for a, b < 2^32 without losing precision. */
function mulmod(a: number, b: number, n: number): number {
  const hi = mod(a * (b >>> 16), n) * 65536
  return mod(hi + a * (b & 0xffff), n)
}

/**
 * The candidate key index of `key`, or -1. For keys not in the DB the result is arbitrary: the
 * caller compares the stored key.
 * @example chdIndex(chd, utf8('pets')) // 17
 */
export function chdIndex(chd: Chd, key: Uint8Array): number {
  return binKey(chd, chdBin(chd, key))
}

/**
 * The bin of `key[start, end)` (0..bins - 1); `binKey` maps it to a key index.
 * @example chdBin(chd, utf8('pets')) // 18
 */
export function chdBin(chd: Chd, key: Uint8Array, start = 0, end = key.length): number {
  jenkinsInto(chd.seed, key, start, end - start)
  return hashBin(chd)
}

/**
 * The bin of a key of `len` bytes held as little-endian words, zero past the key in the last
 * word (see `jenkinsWords`); the same bin as `chdBin` of its bytes.
 * @example chdBinWords(chd, Int32Array.of(0x73746570), 4) // 18 (the bytes of 'pets')
 */
export function chdBinWords(chd: Chd, words: Int32Array, len: number): number {
  jenkinsWords(chd.seed, words, len)
  return hashBin(chd)
}

/** The bin of the hash in `hashOut`. */
function hashBin(chd: Chd): number {
  const n = chd.bins
  const small = chd.small
  if (small !== null) {
    // d < n < 2^26 and d < 2^16: h * d < 2^42 is exact, the bin f + (h * d mod n) < 2n needs one
    // correction (without a branch).
    const d = small[modRecip(hashOut[0]!, chd.buckets, chd.invBuckets)]!
    const f = modRecip(hashOut[1]!, n, chd.invBins)
    const h = modRecip(hashOut[2]!, n - 1, chd.invBins1) + 1
    let bin = (f + modRecip(h * d, n, chd.invBins)) | 0
    bin -= n & ((n - 1 - bin) >> 31)
    return bin
  }
  const pairs = chd.pairs
  if (pairs !== null) {
    // n < 2^26: every product below is exact in a double. Each remainder x mod m is taken as
    // x - floor(x * (1 / m)) * m (a multiplication instead of a division); see modRecip.
    const k = 2 * modRecip(hashOut[0]!, chd.buckets, chd.invBuckets)
    const f = modRecip(hashOut[1]!, n, chd.invBins)
    const h = modRecip(hashOut[2]!, n - 1, chd.invBins1) + 1
    // bin < 3n < 2^28: two corrections without branches (which the CPU would mispredict often).
    let bin = (f + modRecip(h * pairs[k]!, n, chd.invBins) + pairs[k + 1]!) | 0
    bin -= n & ((n - 1 - bin) >> 31)
    bin -= n & ((n - 1 - bin) >> 31)
    return bin
  }
  // hashOut holds u32s: `%` on them is an integer remainder, not a float one.
  const d = chd.displacements[hashOut[0]! % chd.displacements.length]!
  const p1 = Math.floor(d / n)
  const p0 = d - p1 * n
  return mod((hashOut[1]! % n) + mulmod((hashOut[2]! % (n - 1)) + 1, p0, n) + p1, n)
}
