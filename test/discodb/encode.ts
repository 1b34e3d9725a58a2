// A tiny test-only encoder for unhashed DBs (spec 2 and 6), optionally with Huffman-compressed
// values under a small fixed-length codebook. Used to build random DBs for oracle tests; the real
// writer lives in src/discodb/ and is tested on its own.

/** LSB-first bit writer. */
class Bits {
  bytes: number[] = []
  n = 0
  put(value: number, width: number): void {
    for (let k = 0; k < width; k++) {
      const bit = Math.floor(value / 2 ** k) % 2
      if ((this.n & 7) === 0) this.bytes.push(0)
      if (bit) this.bytes[this.bytes.length - 1]! |= 1 << (this.n & 7)
      this.n++
    }
  }
}

const u32 = (x: number): number[] => [x & 255, (x >>> 8) & 255, (x >>> 16) & 255, (x >>> 24) & 255]
const u64 = (x: number): number[] => [...u32(x % 2 ** 32), ...u32(Math.floor(x / 2 ** 32))]

export interface EncodeOptions {
  /** Symbols (4 bytes each) for a compressed DB; at most 256. */
  readonly symbols?: Uint8Array[]
}

/** Encodes one compressed value with fixed-length codes of `width` bits. */
function compress(v: Uint8Array, codes: Map<string, number>, width: number): number[] {
  const w = new Bits()
  w.put(0, 3)
  let i = 0
  for (; i < v.length - 4; ) {
    const code = codes.get(Buffer.from(v.subarray(i, i + 4)).toString('latin1'))
    if (code !== undefined) {
      w.put(1, 1)
      w.put(code, width)
      i += 4
    } else {
      w.put(0, 1)
      w.put(v[i]!, 8)
      i++
    }
  }
  for (; i < v.length; i++) {
    w.put(0, 1)
    w.put(v[i]!, 8)
  }
  const r = (8 - (w.n % 8)) % 8
  w.bytes[0]! |= r
  return w.bytes
}

/**
 * Builds a DB from `(key, values)` pairs in order (repeated keys accumulate, values get IDs by
 * first appearance), without a hash: key order = first appearance.
 */
export function encodeUnhashed(input: Array<[Uint8Array, Uint8Array[]]>, opts: EncodeOptions = {}): Uint8Array {
  const keyIndex = new Map<string, number>()
  const keys: Uint8Array[] = []
  const lists: number[][] = []
  const valueIds = new Map<string, number>()
  const values: Uint8Array[] = []
  for (const [k, vs] of input) {
    const kk = Buffer.from(k).toString('latin1')
    let ki = keyIndex.get(kk)
    if (ki === undefined) {
      keyIndex.set(kk, (ki = keys.length))
      keys.push(k)
      lists.push([])
    }
    for (const v of vs) {
      const vk = Buffer.from(v).toString('latin1')
      let id = valueIds.get(vk)
      if (id === undefined) {
        values.push(v)
        valueIds.set(vk, (id = values.length))
      }
      lists[ki]!.push(id)
    }
  }
  let multiset = false
  const records: number[][] = lists.map((ids, i) => {
    ids.sort((a, b) => a - b)
    let max = 0
    for (let j = 0; j < ids.length; j++) {
      const d = ids[j]! - (j > 0 ? ids[j - 1]! : 0)
      if (j > 0 && d === 0) multiset = true
      max = Math.max(max, d)
    }
    const w = Math.max(1, Math.ceil(Math.log2(max + 1)))
    const rec = [...u32(keys[i]!.length), ...keys[i]!, ...u32(ids.length)]
    if (ids.length > 0) {
      const bits = new Bits()
      bits.put(w - 1, 5)
      for (let j = 0; j < ids.length; j++) bits.put(ids[j]! - (j > 0 ? ids[j - 1]! : 0), w)
      rec.push(...bits.bytes)
    }
    return rec
  })
  const symbols = opts.symbols ?? []
  const compressed = symbols.length > 0
  const width = Math.max(1, Math.ceil(Math.log2(symbols.length)))
  const codes = new Map(symbols.map((s, i) => [Buffer.from(s).toString('latin1'), i]))
  const encoded = values.map((v) => (compressed ? compress(v, codes, width) : Array.from(v)))
  const K = keys.length
  const U = values.length
  const k2v = 72
  let off = k2v + (K + 1) * 8
  const keyToc: number[] = []
  for (const r of records) {
    keyToc.push(...u64(off))
    off += r.length
  }
  keyToc.push(...u64(off))
  const id2v = off
  off += (U + 1) * 8
  const valueToc: number[] = []
  for (const e of encoded) {
    valueToc.push(...u64(off))
    off += e.length
  }
  valueToc.push(...u64(off))
  off += 4
  const codebookOffs = compressed ? off : 0
  const codebook = new Uint8Array(compressed ? 65536 * 8 : 0)
  for (let slot = 0; slot < 65536 && compressed; slot++) {
    const sym = symbols[slot % 2 ** width]
    if (sym !== undefined) codebook.set([...sym, ...u32(width)], slot * 8)
  }
  off += codebook.length
  const flags = (multiset ? 2 : 0) | (compressed ? 4 : 0)
  const numValues = lists.reduce((a, l) => a + l.length, 0)
  const header = [
    0x5b, 0xde, 0x14, 0x1d, 0xe6, 0x5b, 0xd8, 0x04,
    ...u64(off), ...u32(K), ...u32(U), ...u64(numValues), ...u64(flags),
    ...u64(k2v), ...u64(id2v), ...u64(72), ...u64(codebookOffs),
  ]
  const out = new Uint8Array(off)
  let p = 0
  for (const part of [header, keyToc, ...records, valueToc, ...encoded]) {
    out.set(part, p)
    p += part.length
  }
  p += 4
  out.set(codebook, p)
  return out
}
