// Test helpers for the writer: a CHD evaluator that walks the blob the way
// CMPH 2.0.2 does (select through the sample tables), and a Huffman value decoder per spec 3.3.
import { jenkins } from '#src/discodb/chd.js'
import { seedStream } from '#src/discodb/chd-build.js'

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
const u64 = (b: Uint8Array, at: number): number => u32(b, at) + u32(b, at + 4) * 2 ** 32

/** Reads `width` bits at bit `pos` of the u32 word array at byte `base` (LSB-first, bytes past the end are 0). */
function bitsAt(b: Uint8Array, base: number, pos: number, width: number): number {
  if (width <= 24) {
    const o = base + (pos >>> 3)
    const x = ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0
    return (x >>> (pos & 7)) & ((1 << width) - 1)
  }
  let v = 0
  for (let i = 0; i < width; i++) {
    const bit = pos + i
    const byte = b[base + (bit >>> 3)] ?? 0
    if ((byte >>> (bit & 7)) & 1) v += 2 ** i
  }
  return v
}

interface Select { n: number; m: number; vec: number; samples: number; size: number }

function readSelect(b: Uint8Array, at: number): Select {
  const n = u32(b, at)
  const m = u32(b, at + 4)
  const vecWords = Math.ceil((n + m) / 32)
  return { n, m, vec: at + 8, samples: at + 8 + 4 * vecWords, size: 8 + 4 * vecWords + 4 * (Math.floor(n / 128) + 1) }
}

/** CMPH's select: start at the sample of the enclosing 128-block, then walk one bits. */
function selectQuery(b: Uint8Array, s: Select, idx: number): number {
  let pos = u32(b, s.samples + 4 * (idx >>> 7))
  let r = idx & 127
  for (;; pos++) {
    if (bitsAt(b, s.vec, pos, 1)) {
      if (r === 0) return pos
      r--
    }
  }
}

function selectNext(b: Uint8Array, s: Select, pos: number): number {
  for (pos++; !bitsAt(b, s.vec, pos, 1); pos++);
  return pos
}

/** Evaluates the CHD hash stored in the DB `ddb` for `key` (spec 4.7) — the index the original computes. */
export function chdIndex(ddb: Uint8Array, key: Uint8Array): number {
  let p = 72
  if (u32(ddb, p) !== 8) throw new Error('algo != CHD')
  const crSize = u32(ddb, p + 4)
  const cr = p + 8
  const crMax = u32(ddb, cr)
  const crN = u32(ddb, cr + 4)
  const crR = u32(ddb, cr + 8)
  const crSel = readSelect(ddb, cr + 16)
  if (crSel.size !== u32(ddb, cr + 12)) throw new Error('cr sel_size mismatch')
  const crRems = cr + 16 + crSel.size
  p = cr + crSize
  const ph = p + 4
  if (u32(ddb, ph) !== 7 || u32(ddb, ph + 4) !== 0) throw new Error('bad inner function')
  const seed = u32(ddb, ph + 8)
  const n = u32(ddb, ph + 12)
  const nb = u32(ddb, ph + 16)
  const cs = ph + 20
  const csR = u32(ddb, cs + 4)
  const csSel = readSelect(ddb, cs + 16)
  const csRems = cs + 16 + csSel.size
  const csStore = csRems + 4 * Math.ceil((u32(ddb, cs) * csR) / 32)
  const h = jenkins(seed, key)
  const g = h[0] % nb
  const f = h[1] % n
  const hh = (h[2] % (n - 1)) + 1
  // compressed_seq_query(g)
  let encIdx = 0
  let sel: number
  if (g === 0) sel = selectQuery(ddb, csSel, 0)
  else {
    sel = selectQuery(ddb, csSel, g - 1)
    encIdx = (sel - (g - 1)) * 2 ** csR + bitsAt(ddb, csRems, (g - 1) * csR, csR)
    sel = selectNext(ddb, csSel, sel)
  }
  const encLen = (sel - g) * 2 ** csR + bitsAt(ddb, csRems, g * csR, csR) - encIdx
  const d = encLen === 0 ? 0 : bitsAt(ddb, csStore, encIdx, encLen) + 2 ** encLen - 1
  const p0 = d % n
  const p1 = Math.floor(d / n)
  const bin = Number((BigInt(f) + BigInt(hh) * BigInt(p0) + BigInt(p1)) % BigInt(n))
  // compressed_rank_query(bin)
  let rank: number
  if (bin > crMax) rank = crN
  else {
    const quot = Math.floor(bin / 2 ** crR)
    const rem = bin % 2 ** crR
    let selRes = 0
    rank = 0
    if (quot > 0) {
      selRes = selectQuery(ddb, crSel, quot - 1) + 1
      rank = selRes - quot
    }
    while (!bitsAt(ddb, crSel.vec, selRes, 1) && bitsAt(ddb, crRems, rank * crR, crR) < rem) {
      selRes++
      rank++
    }
  }
  return bin - rank
}

/** Parsed essentials of a DB image. */
export function parseHeader(b: Uint8Array) {
  return {
    size: u64(b, 8), numKeys: u32(b, 16), numUniqueValues: u32(b, 20), numValues: u64(b, 24), flags: u64(b, 32),
    key2values: u64(b, 40), id2value: u64(b, 48), hashOffs: u64(b, 56), codebookOffs: u64(b, 64),
  }
}

/** The key bytes and value-ID list of key record `i` (straight from the spec, no reader). */
export function keyRecord(b: Uint8Array, i: number): { key: Uint8Array; ids: number[] } {
  const h = parseHeader(b)
  const at = u64(b, h.key2values + 8 * i)
  const klen = u32(b, at)
  const key = b.subarray(at + 4, at + 4 + klen)
  const c = u32(b, at + 4 + klen)
  const bits = at + 8 + klen
  const ids: number[] = []
  const w = bitsAt(b, bits, 0, 5) + 1
  let id = 0
  for (let j = 0; j < c; j++) {
    id += bitsAt(b, bits, 5 + j * w, w)
    ids.push(id)
  }
  return { key, ids }
}

/** The bytes of value `id` (1-based), Huffman-decoded when compressed (spec 3.3). */
export function valueBytes(b: Uint8Array, id: number): Uint8Array {
  const h = parseHeader(b)
  const s = u64(b, h.id2value + 8 * (id - 1))
  const e = u64(b, h.id2value + 8 * id)
  if (!(h.flags & 4)) return b.subarray(s, e)
  const out: number[] = []
  const end = 8 * (e - s) - bitsAt(b, s, 0, 3)
  for (let pos = 3; pos < end; ) {
    const x = bitsAt(b, s, pos, 17)
    if (x & 1) {
      const slot = h.codebookOffs + 8 * Math.floor(x / 2)
      const sym = u32(b, slot)
      const n = u32(b, slot + 4)
      if (n < 1 || n > 16) throw new Error(`bad code length ${n} at slot ${Math.floor(x / 2)}`)
      out.push(sym & 255, (sym >>> 8) & 255, (sym >>> 16) & 255, sym >>> 24)
      pos += n + 1
    } else {
      out.push((x >>> 1) & 255)
      pos += 9
    }
  }
  return Uint8Array.from(out)
}

/** Seeded PRNG (mulberry32) giving floats in [0, 1). */
export function rng(seed: number): () => number {
  const next = seedStream(seed)
  return () => next() / 4294967296
}
