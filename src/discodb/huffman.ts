// Huffman-compressed values (spec 2.5 and 3.3): a 65,536-entry codebook indexed by the next
// 16 stream bits, and a token stream of codewords (4 bytes) and literals (1 byte).
import { type Bytes, corrupt } from './bytes.js'
import { CODEBOOK_SIZE } from './header.js'

/** The codebook as two flat tables: symbol bytes (4 per slot) and code length per slot. */
export interface Codebook {
  readonly symbols: Uint8Array
  readonly lengths: Uint8Array
}

/**
 * Reads the codebook at `off`. Slots with length 0 (no code) are kept: decoding fails only if
 * a stream actually reaches one. Lengths above 16 are DDB_CORRUPT.
 * @example readCodebook(b, header.codebookOffs).lengths.length // 65536
 */
export function readCodebook(b: Bytes, off: number): Codebook {
  if (off < 0 || off + CODEBOOK_SIZE > b.buf.length) corrupt('codebook', `end <= ${b.buf.length}`, off + CODEBOOK_SIZE)
  const symbols = new Uint8Array(65536 * 4)
  const lengths = new Uint8Array(65536)
  const buf = b.buf
  for (let i = 0, p = off; i < 65536; i++, p += 8) {
    symbols[i * 4] = buf[p]!
    symbols[i * 4 + 1] = buf[p + 1]!
    symbols[i * 4 + 2] = buf[p + 2]!
    symbols[i * 4 + 3] = buf[p + 3]!
    const n = b.view.getUint32(p + 4, true)
    if (n > 16) corrupt(`codebook slot ${i}`, 'a code length 0..16', n)
    lengths[i] = n
  }
  return { symbols, lengths }
}

let scratch = new Uint8Array(4096)

/**
 * Decodes the compressed value stored in `buf[start, end)`. Reads of the 17-bit window may pass
 * `end` (into the next value or past the buffer, where bytes read as zero), as in the original.
 * Returns a fresh copy.
 * @example decodeHuffman(cb, buf, 100, 101) // Uint8Array [] (the empty value is the byte 0x05)
 */
export function decodeHuffman(cb: Codebook, buf: Uint8Array, start: number, end: number): Uint8Array {
  const nbytes = end - start
  if (nbytes <= 0) return new Uint8Array(0)
  if (nbytes >= 0x10000000) corrupt('compressed value', 'less than 256 MiB', `${nbytes} bytes at ${start}`)
  const endBit = nbytes * 8 - (buf[start]! & 7)
  // Each token is at least 2 bits long and emits at most 4 bytes.
  const cap = Math.max(0, endBit - 3) * 2 + 4
  if (scratch.length < cap) scratch = new Uint8Array(Math.max(cap, scratch.length * 2))
  const out = scratch
  const symbols = cb.symbols
  const lengths = cb.lengths
  // The fast loop needs 3 window bytes inside the buffer; the tail pads with zeros.
  const safeBits = (buf.length - 2 - start) * 8
  let n = 0
  let pos = 3
  while (pos < endBit) {
    const p = start + (pos >>> 3)
    const w = pos < safeBits ? buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) : tailWindow(buf, p)
    const x = w >>> (pos & 7)
    if (x & 1) {
      const slot = (x >>> 1) & 0xffff
      const len = lengths[slot]!
      if (len === 0) corrupt('compressed value', 'a codeword with a code', `empty codebook slot ${slot} at byte ${start}`)
      const s = slot << 2
      out[n] = symbols[s]!
      out[n + 1] = symbols[s + 1]!
      out[n + 2] = symbols[s + 2]!
      out[n + 3] = symbols[s + 3]!
      n += 4
      pos += len + 1
    } else {
      out[n++] = x >>> 1
      pos += 9
    }
  }
  // `new Uint8Array(n)` of a small n lives on the JS heap; slice() would allocate an
  // ArrayBuffer off-heap, which costs about a microsecond.
  const res = new Uint8Array(n)
  if (n <= 256) for (let i = 0; i < n; i++) res[i] = out[i]!
  else res.set(out.subarray(0, n))
  return res
}

/** The 3-byte window at `p` with bytes past the buffer read as zero. */
function tailWindow(buf: Uint8Array, p: number): number {
  const at = (i: number): number => (i < buf.length ? buf[i]! : 0)
  return at(p) | (at(p + 1) << 8) | (at(p + 2) << 16)
}
