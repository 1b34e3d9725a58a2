// Value compression for the writer (spec sections 2.5 and 3): a prefix code over 4-byte symbols,
// stored in the original's 65,536-entry table so that the original decoder reads it.
//
// Our construction differs from the original's on purpose: every 4-gram is counted (the original
// skips the last one of each value), the encoder parses each value optimally (shortest bit count by
// dynamic programming, not greedy), and code lengths are re-fitted to the symbols' real use in that
// parse, with only the symbols worth a code kept.

/** Code lengths are at most 16 bits (the decoder indexes its table with 16 stream bits). */
const MAX_BITS = 16
const TABLE_SIZE = 1 << MAX_BITS
/** Bits of one literal token (flag + byte); a 4-byte run of literals costs 36. */
const LITERAL_BITS = 9

/** A codebook: symbols (LE u32 of their 4 bytes), LSB-first codes and lengths, and a lookup. */
export interface Codebook {
  symbols: Uint32Array
  codes: Uint32Array
  lengths: Uint8Array
  /** Hash table: slot → symbol index + 1 (0 empty), keyed by `symbols`. */
  slots: Int32Array
  slotMask: number
}

/** Hash of the counting table. */
const symHash = (sym: number, shift: number): number => Math.imul(sym, 0x9e3779b1) >>> shift
/**
 * Hash of the codebook lookup: a different mix from `symHash`, because the chosen symbols come out
 * of the counting table in its slot order; the same hash would pile them into one probe run.
 */
function slotHash(sym: number, shift: number): number {
  let h = Math.imul(sym ^ (sym >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) >>> shift
}

/** The refit parse looks at every `stride`-th value, so that about this many bytes are parsed. */
const SAMPLE_BYTES = 2 * 1024 * 1024

/** Bits of the count sketch (2^22 saturating u16 counters, 8 MiB). */
const SKETCH_BITS = 22

/**
 * Counts the 4-grams (little-endian u32) of the values `bytes[offsets[i]..offsets[i+1])` that can
 * be among the most frequent `k`: a first pass fills a count sketch (counts per hash bucket, never
 * below a word's true count); a second pass counts exactly only the words whose bucket reached a
 * threshold that leaves a few times `k` buckets. Two cache-friendly passes instead of one exact
 * table over every distinct word.
 */
function countWords(bytes: Uint8Array, offsets: Uint32Array, count: number, k: number): { syms: Uint32Array; freqs: Uint32Array } {
  const sketch = new Uint16Array(1 << SKETCH_BITS)
  const shift = 32 - SKETCH_BITS
  forEachWord(bytes, offsets, count, (sym) => {
    const i = symHash(sym, shift)
    const c = sketch[i]!
    if (c !== 0xffff) sketch[i] = c + 1
  })
  const hist = new Float64Array(0x10000)
  for (let i = 0; i < sketch.length; i++) hist[sketch[i]!]!++
  let thr = 0xffff
  let above = hist[thr]!
  while (thr > 1 && above + hist[thr - 1]! <= 4 * k) above += hist[--thr]!
  // Exact counts for the candidates, in a table sized for them.
  let bits = 10
  while (1 << bits < 4 * above + 16) bits++
  const mask = (1 << bits) - 1
  const keys = new Uint32Array(1 << bits)
  const freqs = new Uint32Array(1 << bits)
  let n = 0
  forEachWord(bytes, offsets, count, (sym) => {
    if (sketch[symHash(sym, shift)]! < thr) return
    for (let s = slotHash(sym, 32 - bits); ; s = (s + 1) & mask) {
      const f = freqs[s]!
      if (f === 0) {
        if (n * 2 >= mask) return // full enough: ignore new words (bounded memory)
        keys[s] = sym
        freqs[s] = 1
        n++
        return
      }
      if (keys[s] === sym) {
        freqs[s] = f + 1
        return
      }
    }
  })
  const syms = new Uint32Array(n)
  const fr = new Uint32Array(n)
  let j = 0
  for (let i = 0; i < keys.length; i++) {
    if (freqs[i] !== 0) {
      syms[j] = keys[i]!
      fr[j++] = freqs[i]!
    }
  }
  return { syms, freqs: fr }
}

/** Calls `fn` with every 4-gram (little-endian u32, unsigned) of every value. */
function forEachWord(bytes: Uint8Array, offsets: Uint32Array, count: number, fn: (sym: number) => void): void {
  for (let v = 0; v < count; v++) {
    const start = offsets[v]!
    const end = offsets[v + 1]!
    if (end - start < 4) continue
    let sym = (bytes[start]! | (bytes[start + 1]! << 8) | (bytes[start + 2]! << 16)) << 8
    for (let i = start + 3; i < end; i++) {
      sym = (sym >>> 8) | (bytes[i]! << 24)
      fn(sym >>> 0)
    }
  }
}

/** Indices of the `k` most frequent entries, most frequent first (ties: lower index first). */
function topK(freqs: Uint32Array, k: number): Uint32Array {
  const n = freqs.length
  if (n <= k) {
    return Uint32Array.from(Array.from({ length: n }, (_, i) => i).sort((a, b) => freqs[b]! - freqs[a]! || a - b))
  }
  // Threshold by a frequency histogram (capped): everything above it, then ties in index order.
  let maxF = 0
  for (let i = 0; i < n; i++) if (freqs[i]! > maxF) maxF = freqs[i]!
  const cap = Math.min(maxF, 1 << 20)
  const hist = new Float64Array(cap + 1)
  for (let i = 0; i < n; i++) hist[Math.min(freqs[i]!, cap)]!++
  let thr = cap
  let above = 0
  while (thr > 1 && above + hist[thr]! < k) above += hist[thr--]!
  const picked: number[] = []
  for (let i = 0; i < n; i++) if (freqs[i]! > thr) picked.push(i)
  picked.sort((a, b) => freqs[b]! - freqs[a]! || a - b)
  for (let i = 0; i < n && picked.length < k; i++) if (freqs[i] === thr) picked.push(i)
  return Uint32Array.from(picked)
}

/**
 * Optimal length-limited code lengths would need package-merge; this uses Huffman's tree (two-queue
 * method over weights sorted descending) and then the classic Kraft repair at `MAX_BITS`: lengths
 * of the least frequent symbols grow until the code fits. Returns lengths in the input order.
 */
export function limitedHuffmanLengths(sortedDesc: ArrayLike<number>): Uint8Array {
  const k = sortedDesc.length
  const lengths = new Uint8Array(k)
  if (k === 0) return lengths
  if (k === 1) {
    lengths[0] = 1
    return lengths
  }
  // Leaves are 0..k-1 consumed from the least frequent end; internal nodes k..2k-2 in a FIFO.
  const weight = new Float64Array(2 * k - 1)
  const parent = new Int32Array(2 * k - 1)
  for (let i = 0; i < k; i++) weight[i] = sortedDesc[k - 1 - i]!
  let leaf = 0
  let head = k
  let tail = k
  const popMin = (): number => {
    if (leaf < k && (head >= tail || weight[leaf]! <= weight[head]!)) return leaf++
    return head++
  }
  while (tail < 2 * k - 1) {
    const a = popMin()
    const b = popMin()
    weight[tail] = weight[a]! + weight[b]!
    parent[a] = tail
    parent[b] = tail
    tail++
  }
  const depth = new Uint16Array(2 * k - 1)
  for (let i = 2 * k - 3; i >= 0; i--) depth[i] = depth[parent[i]!]! + 1
  // Count codes per length (clamped), then repair the Kraft sum as zlib/miniz do.
  const count = new Float64Array(MAX_BITS + 1)
  for (let i = 0; i < k; i++) count[Math.min(depth[i]!, MAX_BITS)]!++
  let total = 0
  for (let l = 1; l <= MAX_BITS; l++) total += count[l]! * 2 ** (MAX_BITS - l)
  while (total > TABLE_SIZE) {
    count[MAX_BITS]!--
    for (let l = MAX_BITS - 1; l > 0; l--) {
      if (count[l]! > 0) {
        count[l]!--
        count[l + 1]! += 2
        break
      }
    }
    total--
  }
  // Hand the lengths out again: most frequent symbol gets the shortest code.
  let i = 0
  for (let l = 1; l <= MAX_BITS; l++) for (let c = 0; c < count[l]!; c++) lengths[i++] = l
  return lengths
}

/** Builds a codebook over `symbols` with the given lengths: canonical codes, bit-reversed for LSB-first streams. */
function makeCodebook(allSymbols: Uint32Array, allLengths: Uint8Array): Codebook {
  // Symbols without a code (length 0) are left out.
  const coded = Array.from({ length: allSymbols.length }, (_, i) => i).filter((i) => allLengths[i]! > 0)
  const symbols = Uint32Array.from(coded, (i) => allSymbols[i]!)
  const lengths = Uint8Array.from(coded, (i) => allLengths[i]!)
  const k = symbols.length
  const codes = new Uint32Array(k)
  const idx = Array.from({ length: k }, (_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b)
  let code = 0
  let prevLen = 0
  for (const i of idx) {
    const l = lengths[i]!
    code <<= l - prevLen
    prevLen = l
    let rev = 0
    for (let b = 0; b < l; b++) rev |= ((code >>> (l - 1 - b)) & 1) << b
    codes[i] = rev
    code++
  }
  let bits = 1
  while (1 << bits < k * 2) bits++
  const slots = new Int32Array(1 << bits)
  const slotMask = slots.length - 1
  for (let i = 0; i < k; i++) {
    let s = slotHash(symbols[i]!, 32 - bits)
    while (slots[s] !== 0) s = (s + 1) & slotMask
    slots[s] = i + 1
  }
  return { symbols, codes, lengths, slots, slotMask }
}

/** Index of `sym` in the codebook, or -1. */
function findSymbol(cb: Codebook, sym: number, shift: number): number {
  for (let s = slotHash(sym, shift); ; s = (s + 1) & cb.slotMask) {
    const e = cb.slots[s]!
    if (e === 0) return -1
    if (cb.symbols[e - 1] === sym) return e - 1
  }
}

/**
 * Plans the cheapest token sequence of `src[start..end)` (at most `BLOCK` bytes): fills `choice[i]`
 * (symbol index, or -1 for a literal at byte i) and returns its bit count.
 */
function planBlock(cb: Codebook, src: Uint8Array, start: number, end: number, s: Scratch): number {
  const len = end - start
  const cost = s.cost
  const choice = s.choice
  const shift = 32 - (31 - Math.clz32(cb.slots.length))
  cost[len] = 0
  for (let i = len - 1; i >= 0; i--) {
    let best = cost[i + 1]! + LITERAL_BITS
    let pick = -1
    if (i + 4 <= len) {
      const p = start + i
      const sym = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0
      const si = findSymbol(cb, sym, shift)
      if (si >= 0) {
        const c = cost[i + 4]! + 1 + cb.lengths[si]!
        if (c < best) {
          best = c
          pick = si
        }
      }
    }
    cost[i] = best
    choice[i] = pick
  }
  return cost[0]!
}

/** Values are planned in blocks of this many bytes (bounded scratch; tokens never cross blocks). */
const BLOCK = 1 << 16

/** Scratch space of the planner. */
export interface Scratch {
  cost: Float64Array
  choice: Int32Array
}

/** Allocates the planner's scratch space (about 0.8 MB). */
export function makeScratch(): Scratch {
  return { cost: new Float64Array(BLOCK + 1), choice: new Int32Array(BLOCK + 1) }
}

/**
 * Builds our codebook for the values `bytes[offsets[i]..offsets[i+1])`, i < count: top 4-grams by
 * count (all values), Huffman lengths, then one refit to the symbols' use in the optimal parse of
 * an evenly spread sample of about 2 MiB of values (all of them for smaller inputs).
 */
export function buildCodebook(bytes: Uint8Array, offsets: Uint32Array, count: number, scratch: Scratch): Codebook {
  const stride = Math.max(1, Math.floor((offsets[count]! - offsets[0]!) / SAMPLE_BYTES))
  const { syms, freqs } = countWords(bytes, offsets, count, TABLE_SIZE)
  const top = topK(freqs, TABLE_SIZE)
  let symbols = new Uint32Array(top.length)
  let weights = new Float64Array(top.length)
  for (let i = 0; i < top.length; i++) {
    symbols[i] = syms[top[i]!]!
    weights[i] = freqs[top[i]!]!
  }
  let cb = makeCodebook(symbols, chooseLengths(weights))
  // Refit: count how often the optimal parse really uses each symbol, keep the used ones.
  const used = new Float64Array(symbols.length)
  for (let v = 0; v < count; v += stride) {
    const end = offsets[v + 1]!
    for (let start = offsets[v]!; start < end; start += BLOCK) {
      const stop = Math.min(end, start + BLOCK)
      planBlock(cb, bytes, start, stop, scratch)
      for (let i = 0; i < stop - start; ) {
        const c = scratch.choice[i]!
        if (c >= 0) {
          used[c]!++
          i += 4
        } else i++
      }
    }
  }
  const keep = Array.from({ length: symbols.length }, (_, i) => i)
    .filter((i) => used[i]! > 0)
    .sort((a, b) => used[b]! - used[a]! || a - b)
  symbols = Uint32Array.from(keep, (i) => cb.symbols[i]!)
  weights = Float64Array.from(keep, (i) => used[i]!)
  cb = makeCodebook(symbols, chooseLengths(weights))
  return cb
}

/**
 * Lengths for symbols sorted by weight (descending). Coding fewer symbols frees table room for
 * shorter codes, so try the best 2^j symbols for each j and keep the cheapest estimate (an uncoded
 * occurrence is priced as 4 literals).
 */
function chooseLengths(weights: Float64Array): Uint8Array {
  const k = weights.length
  if (k === 0) return new Uint8Array(0)
  const suffix = new Float64Array(k + 1)
  for (let i = k - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + weights[i]!
  let best: Uint8Array | null = null
  let bestCost = Infinity
  const sizes = [k]
  for (let p = 2 ** (31 - Math.clz32(k)); p >= 256; p >>= 1) if (p < k) sizes.push(p)
  for (const n of sizes) {
    const lengths = limitedHuffmanLengths(weights.subarray(0, n))
    let cost = suffix[n]! * 4 * LITERAL_BITS
    for (let i = 0; i < n; i++) cost += weights[i]! * (1 + lengths[i]!)
    if (cost < bestCost) {
      bestCost = cost
      best = new Uint8Array(k)
      best.set(lengths)
    }
  }
  return best!
}

/**
 * Encodes `src[start..end)` into `out` at byte `at` (section 3.3) and returns the byte count.
 * `out` must have room for `ceil((3 + 9 * len) / 8)` bytes.
 */
export function encodeValue(cb: Codebook, src: Uint8Array, start: number, end: number, out: Uint8Array, at: number, scratch: Scratch): number {
  const choice = scratch.choice
  const codes = cb.codes
  const lengths = cb.lengths
  let acc = 0 // bits 0..2 (the padding count) are patched in at the end
  let nb = 3
  let bits = 3
  let p = at
  for (let b = start; b < end; b += BLOCK) {
    const stop = Math.min(end, b + BLOCK)
    bits += planBlock(cb, src, b, stop, scratch)
    for (let i = 0; i < stop - b; ) {
      const c = choice[i]!
      if (c >= 0) {
        acc |= (1 | (codes[c]! << 1)) << nb
        nb += 1 + lengths[c]!
        i += 4
      } else {
        acc |= src[b + i]! << (nb + 1)
        nb += LITERAL_BITS
        i++
      }
      while (nb >= 8) {
        out[p++] = acc & 255
        acc >>>= 8
        nb -= 8
      }
    }
  }
  if (nb > 0) out[p++] = acc & 255
  out[at] = out[at]! | ((8 - (bits & 7)) & 7)
  return p - at
}

/** Writes the 65,536 × (u32 symbol, u32 length) decoding table (section 2.5) at `at`. */
export function writeCodebookTable(cb: Codebook, out: Uint8Array, at: number): void {
  const dv = new DataView(out.buffer, out.byteOffset + at, TABLE_SIZE * 8)
  for (let i = 0; i < cb.symbols.length; i++) {
    const l = cb.lengths[i]!
    if (l === 0) continue
    const step = 1 << l
    for (let slot = cb.codes[i]!; slot < TABLE_SIZE; slot += step) {
      dv.setUint32(slot * 8, cb.symbols[i]!, true)
      dv.setUint32(slot * 8 + 4, l, true)
    }
  }
}

/** Bytes of the codebook table. */
export const CODEBOOK_BYTES = TABLE_SIZE * 8
