// Construction of the CHD minimal perfect hash in CMPH's packed blob layout (spec section 4):
// our own seed choice and displacement search, the original's structures (select with sample
// tables, compressed displacement sequence, compressed rank of empty bins) bit for bit.
import { mulberry32u32 } from '../util/random.js'
import { DiscoError } from '../errors.js'
import { jenkins } from './chd.js'
import { U32List } from './interner.js'

const CMPH_CHD = 8
const CMPH_CHD_PH = 7
const CMPH_HASH_JENKINS = 0
/** Samples in a select table: one per 128 one bits. */
const SELECT_STEP = 128
const MAX_ATTEMPTS = 100

/** A built perfect hash: the blob to store at offset 72 and the key order it implies. */
export interface ChdBuild {
  /** The packed CHD blob (section 4.2). */
  blob: Uint8Array
  /** `order[i]` = the key (by its input number) whose hash index is `i`. */
  order: Uint32Array
}

/** floor(log2(x)) for 1 ≤ x < 2^32, and 0 for x = 0 (the convention of the rem_r choice). */
function floorLog2(x: number): number {
  return x >= 1 ? 31 - Math.clz32(x) : 0
}

/** Sets `width` bits of `value` at bit `pos` of a LSB-first word array (width ≤ 32). */
function setBits(words: Uint32Array, pos: number, width: number, value: number): void {
  if (width === 0) return
  const w = Math.floor(pos / 32)
  const s = pos % 32
  const v = width === 32 ? value >>> 0 : (value & ((2 ** width) - 1)) >>> 0
  words[w] = (words[w]! | (v << s)) >>> 0
  if (s + width > 32) words[w + 1] = (words[w + 1]! | (v >>> (32 - s))) >>> 0
}

/**
 * Packs a select structure (section 4.3) over the non-decreasing list `a` (each ≤ `m`): header,
 * unary bit vector and the sample table CMPH relies on.
 */
export function packSelect(a: ArrayLike<number>, m: number): Uint32Array {
  const n = a.length
  const vecWords = Math.ceil((n + m) / 32)
  const sampleWords = Math.floor(n / SELECT_STEP) + 1
  const out = new Uint32Array(2 + vecWords + sampleWords)
  out[0] = n
  out[1] = m
  const vec = out.subarray(2, 2 + vecWords)
  const samples = out.subarray(2 + vecWords)
  for (let i = 0; i < n; i++) {
    const pos = a[i]! + i
    vec[pos >>> 5] = (vec[pos >>> 5]! | (1 << (pos & 31))) >>> 0
    if (i % SELECT_STEP === 0) samples[i / SELECT_STEP] = pos
  }
  return out
}

/** Packs a compressed sequence (section 4.4) of the given non-negative integers (< 2^31). */
export function packCompressedSeq(values: ArrayLike<number>): Uint32Array {
  const n = values.length
  const lens = new Uint8Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]!
    const l = v === 0 ? 0 : 31 - Math.clz32(v + 1)
    lens[i] = l
    total += l
  }
  const remR = Math.max(1, floorLog2(n > 0 ? Math.floor(total / n) : 0))
  const mask = 2 ** remR - 1
  const highs = new Float64Array(n)
  const remsWords = new Uint32Array(Math.ceil((n * remR) / 32))
  const store = new Uint32Array(Math.ceil(total / 32))
  let p = 0
  for (let i = 0; i < n; i++) {
    const l = lens[i]!
    if (l > 0) setBits(store, p, l, values[i]! - (2 ** l - 1))
    p += l
    highs[i] = Math.floor(p / 2 ** remR)
    setBits(remsWords, i * remR, remR, p & mask)
  }
  const sel = packSelect(highs, Math.floor(total / 2 ** remR))
  const w = new U32List(4 + sel.length + remsWords.length + store.length)
  w.push(n)
  w.push(remR)
  w.push(total)
  w.push(sel.length * 4)
  w.append(sel)
  w.append(remsWords)
  w.append(store)
  return w.data.slice(0, w.length)
}

/** Packs a compressed rank (section 4.5) over the strictly ascending list `e` (non-empty). */
export function packCompressedRank(e: ArrayLike<number>): Uint32Array {
  const n = e.length
  const maxVal = e[n - 1]!
  const remR = Math.max(1, floorLog2(Math.floor(maxVal / n)))
  const div = 2 ** remR
  const high = Math.floor(maxVal / div)
  // s_t = smallest j with (e_j >> rem_r) >= t, for t = 1..high.
  const s = new Float64Array(high)
  let j = 0
  for (let t = 1; t <= high; t++) {
    while (j < n && Math.floor(e[j]! / div) < t) j++
    s[t - 1] = j
  }
  const sel = packSelect(s, n)
  const rems = new Uint32Array(Math.ceil((n * remR) / 32))
  for (let i = 0; i < n; i++) setBits(rems, i * remR, remR, e[i]! % div)
  const w = new U32List(4 + sel.length + rems.length)
  w.push(maxVal)
  w.push(n)
  w.push(remR)
  w.push(sel.length * 4)
  w.append(sel)
  w.append(rems)
  return w.data.slice(0, w.length)
}

/** Smallest prime ≥ x. */
function nextPrime(x: number): number {
  for (let p = Math.max(2, x); ; p++) {
    let prime = true
    for (let d = 2; d * d <= p; d++) {
      if (p % d === 0) {
        prime = false
        break
      }
    }
    if (prime) return p
  }
}

/** A small seeded PRNG (mulberry32, u32 outputs) for our deterministic hash seeds. */
export const seedStream = mulberry32u32

/**
 * Builds a CHD minimal perfect hash over `m` keys, key `i` being `bytes[offsets[i]..offsets[i+1])`.
 * Parameters as the original (4 keys per bucket, load factor 0.5, n prime); the seed comes from a
 * fixed PRNG stream, so a build is deterministic.
 *
 * @example
 * const { blob, order } = buildChd(bytes, offsets, 26) // order[i] = key number at hash index i
 */
export function buildChd(bytes: Uint8Array, offsets: ArrayLike<number>, m: number): ChdBuild {
  const n = nextPrime(2 * m + 1)
  const nbuckets = Math.floor(m / 4) + 1
  const maxProbes = Math.max(1, Math.floor(Math.log2(m) / 20)) * 2 ** 20
  const bucketOf = new Uint32Array(m)
  const fOf = new Uint32Array(m)
  const hOf = new Uint32Array(m)
  const rng = seedStream(0x5eed0ddb)
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const seed = rng() % Math.max(1, m)
    for (let k = 0; k < m; k++) {
      const [h0, h1, h2] = jenkins(seed, bytes.subarray(offsets[k]!, offsets[k + 1]!))
      bucketOf[k] = h0 % nbuckets
      fOf[k] = h1 % n
      hOf[k] = (h2 % (n - 1)) + 1
    }
    const placed = placeBuckets(m, n, nbuckets, bucketOf, fOf, hOf, maxProbes)
    if (placed) return { blob: packChd(seed, n, nbuckets, placed.disp, placed.binOf, m), order: placed.order }
  }
  throw new DiscoError('DDB_HASH_FAILED', `expected a perfect hash for ${m} keys, found none after ${MAX_ATTEMPTS} seeds`)
}

interface Placement {
  disp: Uint32Array
  binOf: Uint32Array
  order: Uint32Array
}

/** Finds a displacement per bucket (largest buckets first), or null when this seed cannot work. */
function placeBuckets(
  m: number, n: number, nbuckets: number,
  bucketOf: Uint32Array, fOf: Uint32Array, hOf: Uint32Array, maxProbes: number,
): Placement | null {
  // Group keys by bucket (counting sort).
  const start = new Uint32Array(nbuckets + 1)
  for (let k = 0; k < m; k++) start[bucketOf[k]! + 1]!++
  let maxSize = 0
  for (let b = 0; b < nbuckets; b++) {
    maxSize = Math.max(maxSize, start[b + 1]!)
    start[b + 1]! += start[b]!
  }
  const members = new Uint32Array(m)
  const fill = start.slice(0, nbuckets)
  for (let k = 0; k < m; k++) members[fill[bucketOf[k]!]!++] = k
  // Buckets by size, largest first (ties: lower bucket number first).
  const bySize = new Uint32Array(maxSize + 2)
  for (let b = 0; b < nbuckets; b++) bySize[maxSize - (start[b + 1]! - start[b]!) + 1]!++
  for (let s = 0; s <= maxSize; s++) bySize[s + 1]! += bySize[s]!
  const orderB = new Uint32Array(nbuckets)
  for (let b = 0; b < nbuckets; b++) orderB[bySize[maxSize - (start[b + 1]! - start[b]!)]!++] = b

  const taken = new Uint8Array(n)
  const binOf = new Uint32Array(m)
  const disp = new Uint32Array(nbuckets)
  const pos = new Float64Array(maxSize)
  const base = new Float64Array(maxSize)
  for (let oi = 0; oi < nbuckets; oi++) {
    const b = orderB[oi]!
    const s = start[b]!
    const size = start[b + 1]! - s
    if (size === 0) break // sizes descend: the rest are empty
    // Two keys with equal (f, h) land together for every displacement: this seed fails.
    for (let i = 0; i < size; i++) {
      const ki = members[s + i]!
      for (let j = i + 1; j < size; j++) {
        const kj = members[s + j]!
        if (fOf[ki] === fOf[kj] && hOf[ki] === hOf[kj]) return null
      }
      base[i] = fOf[ki]!
    }
    // Displacement d = p0 + p1 * n puts key (f, h) at bin (f + h * p0 + p1) mod n; try d = 0, 1, ...
    let found = -1
    let p0 = 0
    let p1 = 0
    for (let probe = 0; probe < maxProbes; probe++) {
      let ok = true
      for (let i = 0; i < size && ok; i++) {
        let q = base[i]! + p1
        if (q >= n) q -= n
        if (taken[q]) ok = false
        else {
          for (let j = 0; j < i; j++) {
            if (pos[j] === q) {
              ok = false
              break
            }
          }
          pos[i] = q
        }
      }
      if (ok) {
        found = p0 + p1 * n
        break
      }
      p0++
      if (p0 === n) {
        p0 = 0
        p1++
        for (let i = 0; i < size; i++) base[i] = fOf[members[s + i]!]!
      } else {
        for (let i = 0; i < size; i++) {
          let v = base[i]! + hOf[members[s + i]!]!
          if (v >= n) v -= n
          base[i] = v
        }
      }
    }
    if (found < 0 || found >= 2 ** 31) return null
    disp[b] = found
    for (let i = 0; i < size; i++) {
      taken[pos[i]!] = 1
      binOf[members[s + i]!] = pos[i]!
    }
  }
  // Minimal index = bin - number of empty bins before it; key order follows bin order.
  const indexOfBin = new Int32Array(n).fill(-1)
  let next = 0
  for (let q = 0; q < n; q++) if (taken[q]) indexOfBin[q] = next++
  const order = new Uint32Array(m)
  for (let k = 0; k < m; k++) order[indexOfBin[binOf[k]!]!] = k
  return { disp, binOf, order }
}

/** Packs the whole CHD blob: algo, compressed rank of empty bins, inner CHD_PH function. */
function packChd(seed: number, n: number, nbuckets: number, disp: Uint32Array, binOf: Uint32Array, m: number): Uint8Array {
  const taken = new Uint8Array(n)
  for (let k = 0; k < m; k++) taken[binOf[k]!] = 1
  const empty = new Float64Array(n - m)
  let e = 0
  for (let q = 0; q < n; q++) if (!taken[q]) empty[e++] = q
  const cr = packCompressedRank(empty)
  const cs = packCompressedSeq(disp)
  const w = new U32List(3 + cr.length + 5 + cs.length)
  w.push(CMPH_CHD)
  w.push(cr.length * 4)
  w.append(cr)
  w.push((5 + cs.length) * 4)
  w.push(CMPH_CHD_PH)
  w.push(CMPH_HASH_JENKINS)
  w.push(seed)
  w.push(n)
  w.push(nbuckets)
  w.append(cs)
  return w.toBytes()
}
