// Record-aware chunking: lines in, gzip chunks of at most N compressed bytes out, memory flat.
// Each chunk is a series of gzip members (~1 MB of lines each, compressed in parallel on the
// libuv pool); the exact compressed size of each member is known before it is placed, so a chunk
// never exceeds the limit and a line is never split. Readers see one plain gzip stream.
import { gzip as gzipCb } from 'node:zlib'
import { promisify } from 'node:util'
import { DiscoError } from '../errors.js'
import { lineRuns } from './lines.js'

const gzip = promisify(gzipCb)

/** Default chunk size: 64 MiB of compressed data, as in the original. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
/**
 * Default most line bytes per chunk before compression: 16 MiB, so that a day of logs makes
 * several blobs and every core of a job has map tasks to the end (bench/inferno.ts: one 100 MB
 * blob per day left one of two workers idle for a quarter of the run).
 */
export const DEFAULT_CHUNK_INPUT = 16 * 1024 * 1024
/** Default largest record (line): 1 MiB, as in the original. */
export const DEFAULT_MAX_RECORD = 1024 * 1024
/** Smallest accepted chunk size. */
export const MIN_CHUNK_SIZE = 256

/** Options of {@link chunkLines}. */
export interface ChunkOptions {
  /** Upper bound of a chunk's compressed size in bytes (default 64 MiB). */
  chunkSize?: number
  /** Most line bytes per chunk before compression (default 16 MiB). */
  inputSize?: number
  /** Longest accepted line in bytes, newline excluded (default 1 MiB). */
  maxRecordSize?: number
  /** Codec of the stored chunks: `gzip` (default) or `none` (plain lines, no decompression to read). */
  compress?: ChunkCodec
  /** gzip level 1-9 (default 6). */
  level?: number
  /** Called after each gzip member with running totals (lines, uncompressed bytes, compressed bytes). */
  onProgress?: (p: ChunkProgress) => void
}

/** How chunks are stored: gzip members, or the plain lines. */
export type ChunkCodec = 'gzip' | 'none'

/**
 * Parses a `--compress` value: `none`, `gzip` or `gzip:LEVEL` (1-9); DDFS_BAD_OPTION otherwise.
 *
 * @example
 * parseCompress('gzip:1') // { compress: 'gzip', level: 1 }
 */
export function parseCompress(text: string): { compress: ChunkCodec; level?: number } {
  const m = /^(none|gzip)(?::([1-9]))?$/.exec(text)
  if (!m || (m[1] === 'none' && m[2] !== undefined)) {
    throw new DiscoError('DDFS_BAD_OPTION', `expected --compress none, gzip or gzip:LEVEL (1-9), found ${JSON.stringify(text)}`)
  }
  return m[2] === undefined ? { compress: m[1] as ChunkCodec } : { compress: 'gzip', level: Number(m[2]) }
}

/** Running totals reported while chunking. */
export interface ChunkProgress {
  lines: number
  bytesIn: number
  bytesOut: number
  chunks: number
}

interface Member {
  data: Buffer
  firstLine: number
  lines: number
  bytesIn: number
}

/** Validates the numeric options once, with coded errors. */
export function checkChunkOptions(opts: ChunkOptions): Required<Omit<ChunkOptions, 'onProgress'>> {
  const compress = opts.compress ?? 'gzip'
  if (compress !== 'gzip' && compress !== 'none') {
    throw new DiscoError('DDFS_BAD_OPTION', `expected compress gzip or none, found ${JSON.stringify(compress)}`)
  }
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE
  const inputSize = opts.inputSize ?? DEFAULT_CHUNK_INPUT
  const maxRecordSize = opts.maxRecordSize ?? DEFAULT_MAX_RECORD
  const level = opts.level ?? 6
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE) {
    throw new DiscoError('DDFS_BAD_OPTION', `expected a chunk size of at least ${MIN_CHUNK_SIZE} bytes, found ${chunkSize}`)
  }
  if (!Number.isSafeInteger(inputSize) || inputSize < MIN_CHUNK_SIZE) {
    throw new DiscoError('DDFS_BAD_OPTION', `expected a chunk input size of at least ${MIN_CHUNK_SIZE} bytes, found ${inputSize}`)
  }
  if (!Number.isSafeInteger(maxRecordSize) || maxRecordSize < 1) {
    throw new DiscoError('DDFS_BAD_OPTION', `expected a positive maximum record size, found ${maxRecordSize}`)
  }
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new DiscoError('DDFS_BAD_OPTION', `expected a gzip level 1-9, found ${level}`)
  }
  return { chunkSize, inputSize, maxRecordSize, compress, level }
}

/** Compresses runs of lines into gzip members (or keeps them plain), several in flight on the libuv pool, in order. */
async function* members(source: AsyncIterable<Uint8Array>, batch: number, maxRecord: number, compress: ChunkCodec, level: number,
  label: string): AsyncGenerator<Member> {
  const inflight: Promise<Member>[] = []
  for await (const run of lineRuns(source, batch, maxRecord, label)) {
    const m = { firstLine: run.firstLine, lines: run.lines, bytesIn: run.bytes.length }
    if (compress === 'none') {
      inflight.push(Promise.resolve({ ...m, data: run.bytes }))
    } else {
      inflight.push(gzip(run.bytes, { level, memLevel: 9 }).then((data) => ({ ...m, data })))
    }
    if (inflight.length >= 4) yield await inflight.shift()!
  }
  while (inflight.length > 0) yield await inflight.shift()!
}

/**
 * Splits line-oriented input (plain or gzip) into gzip chunks of at most `chunkSize` compressed
 * bytes and hands each chunk, as a byte stream, to `store` (which must consume it fully) in order.
 * Resolves to what `store` returned per chunk. A line longer than `maxRecordSize` (or one that
 * alone cannot fit a chunk) fails with `DDFS_RECORD_TOO_LARGE` naming its line number. A last line
 * without a newline gets one.
 *
 * @example
 * await chunkLines(fs.createReadStream('clicks.ndjson'), (i, bytes) => blobs.put(`clicks-${i}$v`, bytes))
 * // → [BlobInfo, BlobInfo, …]
 */
export async function chunkLines<T>(
  source: AsyncIterable<Uint8Array>,
  store: (index: number, bytes: AsyncIterable<Uint8Array>) => Promise<T>,
  opts: ChunkOptions = {},
  label = 'input',
): Promise<T[]> {
  const { chunkSize, inputSize, maxRecordSize, compress, level } = checkChunkOptions(opts)
  // Worst-case deflate growth is ~0.03 % + a few bytes per member: leave room so a batch of
  // several lines always fits an empty chunk; a single over-sized line is reported instead.
  const batch = Math.max(1, Math.min(1 << 20, inputSize, Math.floor((chunkSize - 64) / 1.002)))
  const it = members(source, batch, maxRecordSize, compress, level, label)[Symbol.asyncIterator]()
  const totals: ChunkProgress = { lines: 0, bytesIn: 0, bytesOut: 0, chunks: 0 }
  let next = await it.next()
  const out: T[] = []
  while (!next.done) {
    let size = 0
    let input = 0
    async function* one(): AsyncGenerator<Buffer> {
      while (!next.done) {
        const m = next.value
        if (m.data.length > chunkSize) {
          throw new DiscoError(
            'DDFS_RECORD_TOO_LARGE',
            `${label}: line ${m.firstLine} compresses to ${m.data.length} bytes, more than the chunk size of ${chunkSize} bytes`,
          )
        }
        if (size > 0 && (size + m.data.length > chunkSize || input + m.bytesIn > inputSize)) return
        size += m.data.length
        input += m.bytesIn
        totals.lines += m.lines
        totals.bytesIn += m.bytesIn
        totals.bytesOut += m.data.length
        yield m.data
        opts.onProgress?.({ ...totals })
        next = await it.next()
      }
    }
    const gen = one()
    try {
      out.push(await store(out.length, gen))
    } finally {
      await gen.return(undefined)
    }
    if (size === 0) throw new DiscoError('DDFS_INTERNAL', 'chunk store callback returned without reading its chunk')
    totals.chunks++
    opts.onProgress?.({ ...totals })
  }
  return out
}
