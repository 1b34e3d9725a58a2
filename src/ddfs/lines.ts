// Byte streams to lines: transparent gunzip (by magic bytes) and a fast newline splitter.
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { DiscoError } from '../errors.js'

/** True when the bytes start with the gzip magic number. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
}

/**
 * Yields the decompressed bytes of a stream that may or may not be gzip (multi-member gzip, as
 * written by `chunk`, included); plain bytes pass through unchanged.
 *
 * @example
 * for await (const b of maybeGunzip(fs.createReadStream('x.gz'))) process.stdout.write(b)
 */
export async function* maybeGunzip(source: AsyncIterable<Uint8Array>, label = 'input'): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]()
  const first: Buffer[] = []
  let got = 0
  let done = false
  while (got < 2) {
    const r = await it.next()
    if (r.done) { done = true; break }
    const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
    if (b.length === 0) continue
    first.push(b)
    got += b.length
  }
  const head = Buffer.concat(first)
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head
    if (done) return
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
    }
  }
  if (!isGzip(head)) { yield* rest(); return }
  const gunzip = createGunzip({ chunkSize: 1 << 18 })
  const src = Readable.from(rest())
  src.on('error', (e) => gunzip.destroy(e))
  src.pipe(gunzip)
  try {
    for await (const b of gunzip) yield b as Buffer
  } catch (e) {
    if (e instanceof DiscoError) throw e
    const err = e as NodeJS.ErrnoException
    if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
      throw new DiscoError('DDFS_BAD_GZIP', `${label}: expected gzip data, found a corrupt or truncated stream (${err.message})`, { cause: e })
    }
    throw e
  } finally {
    src.destroy()
  }
}

/** One line as a byte view (newline excluded) with its 1-based line number. */
export interface RawLine {
  bytes: Buffer
  lineNo: number
}

/**
 * Splits a byte stream into lines (`\n`; a trailing `\r` is kept) without copying whole chunks;
 * memory stays bounded by the longest line. `maxLine` (bytes, newline excluded) raises
 * `DDFS_RECORD_TOO_LARGE` naming the line number as soon as a line exceeds it.
 *
 * @example
 * for await (const { bytes, lineNo } of splitLines(stream)) console.log(lineNo, bytes.toString())
 */
export async function* splitLines(source: AsyncIterable<Uint8Array>, maxLine = Infinity, label = 'input'): AsyncGenerator<RawLine> {
  let carry: Buffer[] = []
  let carryLen = 0
  let lineNo = 0
  const tooLong = (len: number): DiscoError =>
    new DiscoError('DDFS_RECORD_TOO_LARGE', `${label}: line ${lineNo + 1} is longer than the maximum record size of ${maxLine} bytes (${len}+ bytes)`)
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let pos = 0
    for (;;) {
      const nl = buf.indexOf(10, pos)
      if (nl < 0) break
      let bytes = buf.subarray(pos, nl)
      if (carryLen > 0) {
        carry.push(bytes)
        bytes = Buffer.concat(carry, carryLen + bytes.length)
        carry = []
        carryLen = 0
      }
      if (bytes.length > maxLine) throw tooLong(bytes.length)
      yield { bytes, lineNo: ++lineNo }
      pos = nl + 1
    }
    if (pos < buf.length) {
      const tail = buf.subarray(pos)
      carry.push(tail)
      carryLen += tail.length
      if (carryLen > maxLine) throw tooLong(carryLen)
    }
  }
  if (carryLen > 0) yield { bytes: Buffer.concat(carry, carryLen), lineNo: ++lineNo }
}

/**
 * Lines of a byte stream as strings (no newline), gunzipped when the stream is gzip.
 *
 * @example
 * for await (const line of textLines(fs.createReadStream('a.ndjson.gz'))) JSON.parse(line)
 */
export async function* textLines(source: AsyncIterable<Uint8Array>, label = 'input'): AsyncGenerator<string> {
  for await (const { bytes } of splitLines(maybeGunzip(source, label), Infinity, label)) yield bytes.toString('utf8')
}
