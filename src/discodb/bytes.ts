// Little-endian readers over a byte buffer. Every read is bounds-checked: fixed-width fields
// outside the buffer are DDB_CORRUPT; bit-stream reads treat bytes past the end as zero (the
// original reads up to 7 bytes beyond the last one it needs, spec "Conventions").
import { DiscoError } from '../errors.js'

/** A cursor: a byte buffer plus a DataView over exactly the same bytes. */
export interface Bytes {
  readonly buf: Uint8Array
  readonly view: DataView
}

/** Wraps a Uint8Array (no copy). */
export function bytesOf(buf: Uint8Array): Bytes {
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength) }
}

/** Throws DDB_CORRUPT with an "expected … found …" message. */
export function corrupt(what: string, expected: string, found: number | string): never {
  throw new DiscoError('DDB_CORRUPT', `${what}: expected ${expected}, found ${found}`)
}

/** Reads a u32 at `off`; `what` names the field for the error message. */
export function u32(b: Bytes, off: number, what: string): number {
  if (off < 0 || off + 4 > b.buf.length) corrupt(what, `offset + 4 <= ${b.buf.length}`, off)
  return b.view.getUint32(off, true)
}

/** Reads a u64 at `off` as a number; values of 2^53 or more are DDB_CORRUPT. */
export function u64(b: Bytes, off: number, what: string): number {
  if (off < 0 || off + 8 > b.buf.length) corrupt(what, `offset + 8 <= ${b.buf.length}`, off)
  const lo = b.view.getUint32(off, true)
  const hi = b.view.getUint32(off + 4, true)
  if (hi >= 0x200000) corrupt(what, 'a value below 2^53', `high word ${hi}`)
  return hi * 0x100000000 + lo
}

/** Byte at `i`, or 0 past the end of the buffer. */
function byteAt(buf: Uint8Array, i: number): number {
  return i < buf.length ? buf[i]! : 0
}

/**
 * Reads an `n`-bit field (0 <= n <= 32) of an LSB-first bit stream that starts at byte `base`,
 * at stream bit `bit`. Bytes past the end of the buffer read as zero.
 * @example readBits(buf, 0, 3, 5) // bits 3..7 of buf[0]
 */
export function readBits(buf: Uint8Array, base: number, bit: number, n: number): number {
  if (n === 0) return 0
  const start = base + Math.floor(bit / 8)
  const sh = bit % 8
  if (start + 5 <= buf.length) {
    const lo = (buf[start]! | (buf[start + 1]! << 8) | (buf[start + 2]! << 16) | (buf[start + 3]! << 24)) >>> 0
    if (sh + n <= 32) return n === 32 ? lo : (lo >>> sh) & ((1 << n) - 1)
    const hi = buf[start + 4]!
    return ((lo >>> sh) + hi * 2 ** (32 - sh)) % 2 ** n
  }
  let v = 0
  for (let k = 4; k >= 0; k--) v = v * 256 + byteAt(buf, start + k)
  return Math.floor(v / 2 ** sh) % 2 ** n
}

/** Equality of two byte strings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length
  if (n !== b.length) return false
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** UTF-8 bytes of a string; bytes are returned unchanged. */
export function toBytes(x: string | Uint8Array): Uint8Array {
  return typeof x === 'string' ? encoder.encode(x) : x
}

/** UTF-8 text of bytes (invalid sequences become U+FFFD). */
export function utf8(b: Uint8Array): string {
  return decoder.decode(b)
}

/** One char per byte: a Map key whose string order equals byte order. */
export function latin1(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[])
  }
  return s
}

/** Inverse of latin1(). */
export function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}
