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

/** Carry-over state of {@link splitStrings} between chunks. */
interface StringSplit {
  carry: Buffer[]
  carryLen: number
}

/** Appends the complete lines of `buf` (as strings, newline removed) to `out`; keeps the tail. */
function splitStrings(buf: Buffer, st: StringSplit, out: string[]): void {
  let pos = 0
  let nl = buf.indexOf(10)
  if (nl >= 0 && st.carryLen > 0) {
    st.carry.push(buf.subarray(0, nl))
    out.push(Buffer.concat(st.carry, st.carryLen + nl).toString('utf8'))
    st.carry = []
    st.carryLen = 0
    pos = nl + 1
    nl = buf.indexOf(10, pos)
  }
  while (nl >= 0) {
    out.push(buf.toString('utf8', pos, nl))
    pos = nl + 1
    nl = buf.indexOf(10, pos)
  }
  if (pos < buf.length) {
    st.carry.push(buf.subarray(pos))
    st.carryLen += buf.length - pos
  }
}

/**
 * Lines of a byte stream in batches (one array per decompressed piece), gunzipped when the stream
 * is gzip: the fast path for consumers that handle many lines at a time.
 *
 * @example
 * for await (const batch of lineBatches(stream)) for (const line of batch) count++
 */
export async function* lineBatches(source: AsyncIterable<Uint8Array>, label = 'input'): AsyncGenerator<string[]> {
  const st: StringSplit = { carry: [], carryLen: 0 }
  for await (const buf of maybeGunzip(source, label)) {
    const out: string[] = []
    splitStrings(buf, st, out)
    if (out.length > 0) yield out
  }
  if (st.carryLen > 0) yield [Buffer.concat(st.carry, st.carryLen).toString('utf8')]
}

/**
 * Lines of a byte stream as strings (no newline), gunzipped when the stream is gzip.
 *
 * @example
 * for await (const line of textLines(fs.createReadStream('a.ndjson.gz'))) JSON.parse(line)
 */
export async function* textLines(source: AsyncIterable<Uint8Array>, label = 'input'): AsyncGenerator<string> {
  const st: StringSplit = { carry: [], carryLen: 0 }
  const out: string[] = []
  for await (const buf of maybeGunzip(source, label)) {
    splitStrings(buf, st, out)
    for (let i = 0; i < out.length; i++) yield out[i]!
    out.length = 0
  }
  if (st.carryLen > 0) yield Buffer.concat(st.carry, st.carryLen).toString('utf8')
}

/** A run of whole lines (newlines included) ready to compress, with its first line number. */
export interface LineBatch {
  bytes: Buffer
  firstLine: number
  lines: number
}

/**
 * Cuts a byte stream into runs of whole lines of at most `batch` bytes (a longer single line forms
 * its own run), checking every line against `maxLine` (newline excluded) with its line number.
 * A last line without a newline gets one. Scans with native `indexOf`, never per-line generators.
 */
export async function* lineRuns(source: AsyncIterable<Uint8Array>, batch: number, maxLine: number, label = 'input'): AsyncGenerator<LineBatch> {
  const NL = Buffer.from('\n')
  let parts: Buffer[] = []
  let len = 0
  let count = 0
  let first = 1
  let lineNo = 0
  let carry: Buffer[] = []
  let carryLen = 0
  const tooLong = (n: number): DiscoError =>
    new DiscoError('DDFS_RECORD_TOO_LARGE', `${label}: line ${lineNo + 1} is longer than the maximum record size of ${maxLine} bytes (${n}+ bytes)`)
  const take = (): LineBatch => {
    const b = { bytes: Buffer.concat(parts, len), firstLine: first, lines: count }
    parts = []
    len = 0
    count = 0
    return b
  }
  const ready: LineBatch[] = []
  /** Adds `lines` whole lines (newlines included) held in `buf[start, end)` to the open batch. */
  const addRegion = (buf: Buffer, start: number, end: number, lines: number): void => {
    if (end > start) parts.push(buf.subarray(start, end))
    len += end - start
    count += lines
  }
  for await (const buf of maybeGunzip(source, label)) {
    let pos = 0
    let nl = buf.indexOf(10)
    if (carryLen > 0) {
      if (nl < 0) {
        carry.push(buf)
        carryLen += buf.length
        if (carryLen > maxLine) throw tooLong(carryLen)
        continue
      }
      const line = Buffer.concat([...carry, buf.subarray(0, nl + 1)], carryLen + nl + 1)
      carry = []
      carryLen = 0
      if (line.length - 1 > maxLine) throw tooLong(line.length - 1)
      if (len > 0 && len + line.length > batch) ready.push(take())
      if (count === 0) first = lineNo + 1
      addRegion(line, 0, line.length, 1)
      lineNo++
      pos = nl + 1
      nl = buf.indexOf(10, pos)
    }
    let start = pos
    let runLines = 0
    while (nl >= 0) {
      if (nl - pos > maxLine) throw tooLong(nl - pos)
      if (len + (nl + 1 - start) > batch && len + (pos - start) > 0) {
        addRegion(buf, start, pos, runLines)
        ready.push(take())
        start = pos
        runLines = 0
      }
      if (count === 0 && runLines === 0) first = lineNo + 1
      runLines++
      lineNo++
      pos = nl + 1
      nl = buf.indexOf(10, pos)
    }
    addRegion(buf, start, pos, runLines)
    if (pos < buf.length) {
      carry.push(buf.subarray(pos))
      carryLen += buf.length - pos
      if (carryLen > maxLine) throw tooLong(carryLen)
    }
    for (const b of ready) yield b
    ready.length = 0
  }
  if (carryLen > 0) {
    const line = Buffer.concat([...carry, NL])
    if (len > 0 && len + line.length > batch) yield take()
    if (count === 0) first = lineNo + 1
    addRegion(line, 0, line.length, 1)
  }
  if (count > 0) yield take()
}
