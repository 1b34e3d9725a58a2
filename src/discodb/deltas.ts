// Delta-encoded value-ID lists (spec 2.3): u32 count, then an LSB-first bit stream holding
// `w - 1` in 5 bits and `count` deltas of `w` bits each.
import { type Bytes, corrupt, readBits, u32 } from './bytes.js'

const EMPTY = new Uint32Array(0)

/** Byte length of the bit stream of a list of `count` deltas of width `w`. */
export function deltaStreamBytes(count: number, w: number): number {
  return count === 0 ? 0 : Math.ceil((5 + count * w) / 8)
}

/**
 * Decodes the value-ID list whose count field is at `off` and which must end by `end`; IDs must
 * lie in 1..`maxId`. Returns the IDs in stored (non-decreasing) order.
 * @example decodeIdList(b, recordOff + 4 + keyLen, nextRecordOff, db.header.numUniqueValues) // Uint32Array [2, 5]
 */
export function decodeIdList(b: Bytes, off: number, end: number, maxId: number): Uint32Array {
  const count = u32(b, off, 'value-ID list count')
  if (count === 0) return EMPTY
  const base = off + 4
  if (base >= end) corrupt('value-ID list', `a bit stream before ${end}`, `count ${count} at ${off}`)
  const w = (b.buf[base]! & 31) + 1
  const nbytes = deltaStreamBytes(count, w)
  if (base + nbytes > end) corrupt('value-ID list', `${nbytes} stream bytes before ${end}`, `${end - base}`)
  const out = new Uint32Array(count)
  const buf = b.buf
  let id = 0
  let bit = 5
  if (w <= 24 && nbytes < 0x10000000) {
    // Fast path: a 32-bit little-endian window always holds the whole field (shift <= 7).
    const mask = (1 << w) - 1
    for (let i = 0; i < count; i++, bit += w) {
      const p = base + (bit >>> 3)
      const word = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)
      id += (word >>> (bit & 7)) & mask
      out[i] = id
    }
  } else {
    for (let i = 0; i < count; i++, bit += w) {
      id += readBits(buf, base, bit, w)
      out[i] = id
    }
  }
  // Window bytes past the buffer end read as `undefined`, which bit operations turn into 0.
  if (out[0] === 0 || id > maxId) corrupt('value ID', `1..${maxId}`, out[0] === 0 ? 0 : id)
  return out
}

/** Reads only the count field of a list (cheap size estimate for the query planner). */
export function idListCount(b: Bytes, off: number): number {
  return u32(b, off, 'value-ID list count')
}
