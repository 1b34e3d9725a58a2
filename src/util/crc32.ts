// CRC-32 (zlib's polynomial) of a text's UTF-8 bytes: the one checksum behind Disco's default
// partitioner and Inferno's partitions (of a text, or of bytes already encoded). Native zlib.crc32 where Node has it (≥ 20.15), else a table.
import * as zlib from 'node:zlib'

const native = (zlib as { crc32?: (data: string | Uint8Array) => number }).crc32

const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

const enc = new TextEncoder()

/** Below this many bytes the table loop beats a native call (and its sub-view). */
const SHORT = 48

/**
 * CRC-32 (zlib) of `bytes[start, end)`, without copying them.
 *
 * @example
 * crc32Bytes(Buffer.from('xhello'), 1, 6) // 907060870
 */
export function crc32Bytes(bytes: Uint8Array, start: number, end: number): number {
  if (native && end - start >= SHORT) return native(bytes.subarray(start, end))
  let c = 0xffffffff
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/**
 * CRC-32 (zlib) of the UTF-8 bytes of a text.
 *
 * @example
 * crc32('hello') // 907060870
 */
export function crc32(text: string): number {
  if (native) return native(text)
  let c = 0xffffffff
  for (const b of enc.encode(text)) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
