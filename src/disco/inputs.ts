// Job inputs: expanding tags into blob URLs (at planning time) and reading the lines of one input
// (inside a task). `raw://TEXT` and files are read here; DDFS tags and blobs go through the store.
import { createReadStream, openSync, readSync, closeSync } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { isAbsolute } from 'node:path'
import { DiscoError } from '../errors.js'
import { DEFAULT_MAX_LINE, LineSplitter, throwTooLong, type LineOptions, type LineSink } from '../ddfs/index.js'

/** What Disco needs from DDFS: expand a tag to blob URLs, stream a blob's bytes (gunzipped). */
export interface InputStore {
  /** The blob URLs of a tag, newest first, following tag links. */
  tagBlobs(tag: string): Promise<string[]>
  /** True when `url` is one of this store's blob URLs. */
  ownsUrl(url: string): boolean
  /** The decoded (gunzipped) bytes of a blob. */
  readBlob(url: string): AsyncIterable<Uint8Array>
}

/**
 * Expands job inputs into one URL per map task: `tag://NAME` becomes the tag's blobs (newest
 * first); everything else stays as it is.
 */
export async function expandInputs(inputs: readonly string[], store: InputStore | undefined): Promise<string[]> {
  const out: string[] = []
  for (const input of inputs) {
    if (input.startsWith('tag://')) {
      if (!store) throw new DiscoError('DISCO_INPUT_UNSUPPORTED', `input ${input} needs a DDFS store, none given`)
      out.push(...(await store.tagBlobs(input.slice('tag://'.length))))
    } else {
      out.push(input)
    }
  }
  return out
}

function filePath(url: string): string | undefined {
  if (url.startsWith('file://')) return fileURLToPath(url)
  if (isAbsolute(url)) return url
  return undefined
}

function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(2)
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b
  } finally {
    closeSync(fd)
  }
}

/** The decoded (gunzipped) bytes of one input: `raw://`, a file or a DDFS blob. */
export function inputBytes(url: string, store: InputStore | undefined): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (url.startsWith('raw://')) return [Buffer.from(url.slice('raw://'.length))]
  const path = filePath(url)
  if (path !== undefined) {
    const raw = createReadStream(path, { highWaterMark: 1 << 20 })
    return isGzipFile(path) ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw
  }
  if (store && store.ownsUrl(url)) return store.readBlob(url)
  throw new DiscoError('DISCO_INPUT_UNSUPPORTED', `expected an input URL tag://, raw://, file:// or a DDFS blob, found ${JSON.stringify(url.slice(0, 120))}`)
}

/** Splits an input into lines (newline and a `\r` before it stripped), one batch per chunk read. */
async function* lineBatchesOf(url: string, store: InputStore | undefined, opts: LineOptions): AsyncGenerator<string[]> {
  const max = opts.maxLine ?? DEFAULT_MAX_LINE
  const split = new LineSplitter(max, opts.onTooLong ?? throwTooLong(`input ${url}`, max))
  let batch: string[] = []
  const sink: LineSink = (b, s, e) => {
    batch.push(b.toString('utf8', s, e > s && b[e - 1] === 13 ? e - 1 : e))
  }
  for await (const chunk of inputBytes(url, store)) {
    split.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), sink)
    if (batch.length > 0) {
      yield batch
      batch = []
    }
  }
  split.end(sink)
  if (batch.length > 0) yield batch
}

/**
 * Calls `fn` for every line of an input (UTF-8, newline stripped, `\r\n` tolerated), awaiting
 * it only when it returns a promise. Returns the number of lines. Linear in the input; a line
 * longer than `opts.maxLine` goes to `opts.onTooLong` (default: DDFS_RECORD_TOO_LARGE).
 */
export async function forEachLine(url: string, store: InputStore | undefined, fn: (line: string) => unknown, opts: LineOptions = {}): Promise<number> {
  let n = 0
  for await (const batch of lineBatchesOf(url, store, opts)) {
    for (const line of batch) {
      n++
      const r = fn(line)
      if (r && typeof (r as Promise<unknown>).then === 'function') await r
    }
  }
  return n
}

/** The lines of an input as an async iterable (for stream-form map functions); options as forEachLine. */
export async function* inputLines(url: string, store: InputStore | undefined, opts: LineOptions = {}): AsyncGenerator<string> {
  for await (const batch of lineBatchesOf(url, store, opts)) yield* batch
}
