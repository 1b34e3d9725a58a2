// Huffman-compressed values (spec 2.5 and 3.3): a 65,536-entry codebook indexed by the next
// 16 stream bits, and a token stream of codewords (4 bytes) and literals (1 byte).
import { type Bytes, corrupt } from './bytes.js'
import { CODEBOOK_SIZE } from './header.js'

/** The codebook as two flat tables: each slot's symbol as one little-endian word, and its code length. */
export interface Codebook {
  /** The 4 symbol bytes of each slot, byte 0 in the low 8 bits. */
  readonly words: Uint32Array
  readonly lengths: Uint8Array
}

/**
 * Reads the codebook at `off`. Slots with length 0 (no code) are kept: decoding fails only if
 * a stream actually reaches one. Lengths above 16 are DDB_CORRUPT.
 * @example readCodebook(b, header.codebookOffs).lengths.length // 65536
 */
export function readCodebook(b: Bytes, off: number): Codebook {
  if (off < 0 || off + CODEBOOK_SIZE > b.buf.length) corrupt('codebook', `end <= ${b.buf.length}`, off + CODEBOOK_SIZE)
  const words = new Uint32Array(65536)
  const lengths = new Uint8Array(65536)
  const v = b.view
  for (let i = 0, p = off; i < 65536; i++, p += 8) {
    words[i] = v.getUint32(p, true)
    const n = v.getUint32(p + 4, true)
    if (n > 16) corrupt(`codebook slot ${i}`, 'a code length 0..16', n)
    lengths[i] = n
  }
  return { words, lengths }
}

/** Most bytes a compressed value stored in `nbytes` bytes can decode to (tokens are >= 2 bits, emit <= 4 bytes). */
export function decodedCap(nbytes: number): number {
  if (nbytes >= 0x10000000) corrupt('compressed value', 'less than 256 MiB', `${nbytes} bytes`)
  return Math.max(0, nbytes * 8 - 3) * 2 + 4
}

let scratch = new Uint8Array(4096)

/** A scratch buffer of at least `cap` bytes (shared; valid until the next call). */
export function huffmanScratch(cap: number): Uint8Array {
  if (scratch.length < cap) scratch = new Uint8Array(Math.max(cap, scratch.length * 2))
  return scratch
}

/**
 * Decodes the compressed value stored in `buf[start, end)` (`view` is a DataView over exactly
 * `buf`'s bytes) into `out` from `at` (which must have room for `decodedCap(end - start)` bytes);
 * returns the decoded length. Reads of the 17-bit window may pass `end` (into the next value or
 * past the buffer, where bytes read as zero), as in the original.
 *
 * One unaligned 32-bit load per step gives at least 25 stream bits: a codeword (1 + up to 16
 * bits), or one literal (9 bits) and, when the next token is a literal too, that one as well (most
 * tokens of text-like values are literals, and they come in runs).
 * @example decodeHuffmanInto(cb, buf, view, 100, 101, out, 0) // 0 (the empty value is the byte 0x05)
 */
export function decodeHuffmanInto(cb: Codebook, buf: Uint8Array, view: DataView, start: number, end: number, out: Uint8Array, at: number): number {
  const nbytes = end - start
  if (nbytes <= 0) return 0
  if (nbytes >= 0x10000000) corrupt('compressed value', 'less than 256 MiB', `${nbytes} bytes at ${start}`)
  const endBit = nbytes * 8 - (buf[start]! & 7)
  const words = cb.words
  const lengths = cb.lengths
  // The window load needs 4 bytes inside the buffer; past that, bytes read as zero.
  const lastFull = buf.length - 4
  let n = at
  let pos = 3
  while (pos < endBit) {
    const p = start + (pos >>> 3)
    const x = (p <= lastFull ? view.getUint32(p, true) : tailWindow(buf, p)) >>> (pos & 7)
    if ((x & 1) === 0) {
      out[n] = x >>> 1
      if ((x & 0x200) === 0 && pos + 9 < endBit) {
        out[n + 1] = x >>> 10
        n += 2
        pos += 18
      } else {
        n++
        pos += 9
      }
    } else {
      const slot = (x >>> 1) & 0xffff
      const len = lengths[slot]!
      if (len === 0) corrupt('compressed value', 'a codeword with a code', `empty codebook slot ${slot} at byte ${start}`)
      const w = words[slot]!
      out[n] = w
      out[n + 1] = w >>> 8
      out[n + 2] = w >>> 16
      out[n + 3] = w >>> 24
      n += 4
      pos += len + 1
    }
  }
  return n - at
}

/**
 * Decodes the compressed value stored in `buf[start, end)` (see decodeHuffmanInto); returns a
 * fresh copy.
 * @example decodeHuffman(cb, buf, view, 100, 101) // Uint8Array [] (the empty value is the byte 0x05)
 */
export function decodeHuffman(cb: Codebook, buf: Uint8Array, view: DataView, start: number, end: number): Uint8Array {
  if (end - start <= 0) return new Uint8Array(0)
  const out = huffmanScratch(decodedCap(end - start))
  const n = decodeHuffmanInto(cb, buf, view, start, end, out, 0)
  // `new Uint8Array(n)` of a small n lives on the JS heap; slice() would allocate an
  // ArrayBuffer off-heap, which costs about a microsecond.
  const res = new Uint8Array(n)
  if (n <= 256) for (let i = 0; i < n; i++) res[i] = out[i]!
  else res.set(out.subarray(0, n))
  return res
}

/** The 4-byte little-endian window at `p` with bytes past the buffer read as zero. */
function tailWindow(buf: Uint8Array, p: number): number {
  const at = (i: number): number => (i < buf.length ? buf[i]! : 0)
  return (at(p) | (at(p + 1) << 8) | (at(p + 2) << 16) | (at(p + 3) << 24)) >>> 0
}
