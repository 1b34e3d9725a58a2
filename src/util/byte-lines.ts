// Lines of a byte stream as byte ranges: no string is made for a line unless its consumer asks.

/** Called for one line `buf[start, end)` (newline and one trailing `\r` removed). */
export type ByteLineFn = (buf: Buffer, start: number, end: number) => void

/**
 * Splits a byte stream into lines on `\n` bytes and calls `fn` with each line's range in a buffer
 * of the stream (a line that spans chunks is joined into a new buffer first). A last line without a
 * newline counts; a trailing `\r` is dropped like a text reader drops it. Returns the line count.
 *
 * @example
 * await forEachByteLine([Buffer.from('a\r\nbc\n')], (b, s, e) => console.log(b.toString('utf8', s, e))) // a, bc → 2
 */
export async function forEachByteLine(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, fn: ByteLineFn): Promise<number> {
  let carry: Buffer | undefined
  let lines = 0
  const one = (buf: Buffer, s: number, e: number): void => {
    lines++
    fn(buf, s, e > s && buf[e - 1] === 13 ? e - 1 : e)
  }
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let pos = 0
    let nl = buf.indexOf(10)
    if (carry !== undefined) {
      if (nl < 0) {
        carry = Buffer.concat([carry, buf])
        continue
      }
      const line = Buffer.concat([carry, buf.subarray(0, nl)])
      carry = undefined
      one(line, 0, line.length)
      pos = nl + 1
      nl = buf.indexOf(10, pos)
    }
    while (nl >= 0) {
      one(buf, pos, nl)
      pos = nl + 1
      nl = buf.indexOf(10, pos)
    }
    if (pos < buf.length) carry = Buffer.from(buf.subarray(pos))
  }
  if (carry !== undefined && carry.length > 0) one(carry, 0, carry.length)
  return lines
}
