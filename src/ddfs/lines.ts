// Byte streams to lines: transparent gunzip (by magic bytes) and a fast newline splitter.
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { DiscoError } from '../errors.js'

/** True when the bytes start with the gzip magic number. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
}

/**
 * Bytes of each buffer the gunzip stream hands out. Each is a new allocation, and the dead ones
 * a thread has read past stay allocated until its next young-generation GC, so the size sets how
 * much memory a gzip reader holds beyond its records: `inferno -i` over 300 MB of gzip chunks (2
 * pool threads; medians of 6 alternating runs) took 1.01 s / 1.8 s CPU at peak RSS 174 MB with
 * 256 KiB buffers, 1.05 s / 1.85 s at 164 MB with 192 KiB, 1.11 s / 1.95 s at 153 MB with 128 KiB.
 */
const GUNZIP_CHUNK = 192 * 1024

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
  // The first bytes as they came (a lone buffer is not copied), let go once handed on: the
  // generator below lives as long as the stream, and a copy held here stayed in memory that long.
  let head: Buffer | null = first.length === 1 ? first[0]! : Buffer.concat(first)
  first.length = 0
  const gzip = isGzip(head)
  async function* rest(): AsyncGenerator<Buffer> {
    if (head!.length > 0) yield head!
    head = null
    if (done) return
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
    }
  }
  if (!gzip) { yield* rest(); return }
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK })
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

/** Longest line the line readers accept by default (bytes, newline excluded). */
export const DEFAULT_MAX_LINE = 64 * 1024 * 1024

/** Receives one line as `bytes[start, end)`, newline excluded (a `\r` before it is kept). */
export type LineSink = (bytes: Buffer, start: number, end: number) => void

/**
 * Called once for a line longer than the maximum, as soon as it is known to be too long:
 * `lineNo` counts from 1, `seen` is how many of its bytes were read so far (the line is at least
 * that long). The line is then skipped up to its newline and reading goes on. Throwing stops it.
 */
export type TooLongHandler = (lineNo: number, seen: number) => void

/** Options of the line readers. */
export interface LineOptions {
  /** Longest line accepted, in bytes without the newline (default {@link DEFAULT_MAX_LINE}). */
  readonly maxLine?: number
  /** What to do with a longer line (default: throw DDFS_RECORD_TOO_LARGE). */
  readonly onTooLong?: TooLongHandler
}

/** The default {@link TooLongHandler}: one coded error naming the input and the line. */
export function throwTooLong(label: string, maxLine: number): TooLongHandler {
  return (lineNo, seen) => {
    throw new DiscoError('DDFS_RECORD_TOO_LARGE', `${label}: line ${lineNo} is longer than the maximum record size of ${maxLine} bytes (${seen}+ bytes)`)
  }
}

/**
 * The one newline splitter over bytes: feed it buffers, it hands complete lines to a sink as
 * `(bytes, start, end)`. Linear in the input whatever the line lengths: a line split over many
 * buffers is kept as a list of pieces and joined once, and a line past `maxLine` is reported once
 * and skipped without being kept.
 *
 * @example
 * const s = new LineSplitter(1024, throwTooLong('x', 1024))
 * const out: string[] = []
 * const sink = (b: Buffer, i: number, j: number) => out.push(b.toString('utf8', i, j))
 * s.push(Buffer.from('a\nb'), sink); s.push(Buffer.from('c\n'), sink); s.end(sink) // out: ['a', 'bc']
 */
export class LineSplitter {
  /** Lines completed so far (skipped ones included). */
  lines = 0
  /** Lines skipped as too long. */
  tooLong = 0
  /** Bytes copied to join lines split over buffers (each such byte once: the instrument of linearity). */
  copied = 0
  #parts: Buffer[] = []
  #held = 0
  #skipping = false
  readonly #borrowed: boolean

  /**
   * `borrowed`: a pushed buffer is valid only during its push (its owner reads the next bytes
   * into it), so the pieces of an unfinished line are copied when held, not kept as views.
   */
  constructor(readonly maxLine: number = DEFAULT_MAX_LINE, readonly onTooLong: TooLongHandler = throwTooLong('input', maxLine), opts: { borrowed?: boolean } = {}) {
    this.#borrowed = opts.borrowed === true
    if (!Number.isSafeInteger(maxLine) || maxLine < 1) {
      throw new DiscoError('DDFS_BAD_OPTION', `expected a positive maximum line size, found ${maxLine}`)
    }
  }

  /** Hands every line completed by `buf` to `sink`; keeps the unfinished tail. */
  push(buf: Buffer, sink: LineSink): void {
    let pos = this.#finishHeld(buf, sink)
    if (pos < 0) return
    let nl = buf.indexOf(10, pos)
    const max = this.maxLine
    while (nl >= 0) {
      this.lines++
      if (nl - pos > max) this.#reject(nl - pos)
      else sink(buf, pos, nl)
      pos = nl + 1
      nl = buf.indexOf(10, pos)
    }
    if (pos < buf.length) this.#hold(buf, pos, buf.length)
  }

  /**
   * As push, but the complete lines that lie whole in `buf` go to `block` as one range
   * `buf[start, end)` ending with a newline; its handler splits them itself and counts each line
   * with take (a line joined from earlier buffers still goes to `sink`).
   */
  pushBlock(buf: Buffer, sink: LineSink, block: LineSink): void {
    let pos = this.#finishHeld(buf, sink)
    if (pos < 0) return
    const last = buf.lastIndexOf(10)
    if (last >= pos) {
      block(buf, pos, last + 1)
      pos = last + 1
    }
    if (pos < buf.length) this.#hold(buf, pos, buf.length)
  }

  /**
   * Counts one complete line of `len` bytes (newline excluded) handed out by a pushBlock range:
   * false when it is too long (then reported to onTooLong, as push does).
   */
  take(len: number): boolean {
    this.lines++
    if (len <= this.maxLine) return true
    this.#reject(len)
    return false
  }

  /** Hands the last line (one without a newline) to `sink`, if any. */
  end(sink: LineSink): void {
    if (this.#held > 0 || this.#skipping) this.#flush(sink)
  }

  /**
   * With an unfinished line held: completes it with `buf`'s first bytes up to the newline (to
   * `sink`) and returns where the rest begins, or keeps all of `buf` (no newline in it) and returns
   * -1. Without one: 0.
   */
  #finishHeld(buf: Buffer, sink: LineSink): number {
    if (this.#held === 0 && !this.#skipping) return 0
    const nl = buf.indexOf(10)
    if (nl < 0) {
      this.#hold(buf, 0, buf.length)
      return -1
    }
    this.#hold(buf, 0, nl)
    this.#flush(sink)
    return nl + 1
  }

  /** Keeps `buf[start, end)` as part of the unfinished line (or counts it while skipping). */
  #hold(buf: Buffer, start: number, end: number): void {
    if (this.#skipping || end === start) return
    this.#held += end - start
    if (this.#held > this.maxLine) {
      this.#skipping = true
      const seen = this.#held
      this.#parts = []
      this.#held = 0
      this.#reject(seen, 1)
      return
    }
    this.#parts.push(this.#borrowed ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end))
  }

  /** Completes the held line. */
  #flush(sink: LineSink): void {
    if (this.#skipping) {
      this.#skipping = false
      this.lines++
      return
    }
    this.lines++
    const line = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#held)
    if (this.#parts.length > 1) this.copied += this.#held
    this.#parts = []
    this.#held = 0
    sink(line, 0, line.length)
  }

  /** Reports a too-long line (`ahead` = 1 when the line is not complete yet). */
  #reject(seen: number, ahead = 0): void {
    this.tooLong++
    this.onTooLong(this.lines + ahead, seen)
  }
}

/** A splitter for one input from the readers' options. */
function splitter(opts: LineOptions, label: string): LineSplitter {
  const max = opts.maxLine ?? DEFAULT_MAX_LINE
  return new LineSplitter(max, opts.onTooLong ?? throwTooLong(label, max))
}

/**
 * Lines of a byte stream in batches (one array per decompressed piece), gunzipped when the stream
 * is gzip: the fast path for consumers that handle many lines at a time. Linear in the input; a
 * line longer than `opts.maxLine` goes to `opts.onTooLong` (default: DDFS_RECORD_TOO_LARGE).
 *
 * @example
 * for await (const batch of lineBatches(stream)) for (const line of batch) count++
 */
export async function* lineBatches(source: AsyncIterable<Uint8Array>, label = 'input', opts: LineOptions = {}): AsyncGenerator<string[]> {
  const split = splitter(opts, label)
  let out: string[] = []
  const sink: LineSink = (b, s, e) => { out.push(b.toString('utf8', s, e)) }
  for await (const buf of maybeGunzip(source, label)) {
    split.push(buf, sink)
    if (out.length > 0) {
      yield out
      out = []
    }
  }
  split.end(sink)
  if (out.length > 0) yield out
}

/**
 * Lines of a byte stream as strings (no newline), gunzipped when the stream is gzip. Options as
 * {@link lineBatches}.
 *
 * @example
 * for await (const line of textLines(fs.createReadStream('a.ndjson.gz'))) JSON.parse(line)
 */
export async function* textLines(source: AsyncIterable<Uint8Array>, label = 'input', opts: LineOptions = {}): AsyncGenerator<string> {
  for await (const batch of lineBatches(source, label, opts)) for (let i = 0; i < batch.length; i++) yield batch[i]!
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
