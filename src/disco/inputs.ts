// Job inputs: expanding tags into blob URLs (at planning time) and reading the lines of one input
// (inside a task). Store blobs and `raw://` URLs are read through DDFS, files given by the user
// directly; all through DDFS's line splitter (`lineBatches`), so gzip, `raw://` decoding and line
// splitting follow one set of rules: lines end at `\n`, and a `\r` before it stays part of the
// line, as everywhere in DDFS and Inferno.
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { isMainThread } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { DiscoError } from '../errors.js'
import { readChunks } from '../util/read-chunks.js'
import type { Ddfs } from '../ddfs/ddfs.js'
import { isGzip, lineBatches, maybeGunzip, type LineOptions } from '../ddfs/lines.js'
import { rawText } from '../ddfs/names.js'
import type { DiscoStores } from './stores.js'

/**
 * Expands job inputs into one URL per map task: `tag://NAME` becomes the tag's blobs (newest
 * first, first replica); everything else stays as it is.
 */
export async function expandInputs(inputs: readonly string[], ddfs: Ddfs): Promise<string[]> {
  const out: string[] = []
  for (const input of inputs) {
    if (input.startsWith('tag://')) {
      // A tag's URLs resolve through the store only: a tag naming file:// or a path is refused (DDFS_BAD_URL).
      for (const set of await ddfs.blobs(input.slice('tag://'.length), { ignoreMissing: false })) if (set[0] !== undefined) out.push(ddfs.checkUrl(set[0]))
    } else {
      out.push(input)
    }
  }
  return out
}

/**
 * DISCO_INPUT_UNSUPPORTED unless the input can be read: raw://, file://, an absolute path, a
 * DDFS blob, or a job data blob (the results of an earlier job).
 */
export function checkInput(url: string, stores: DiscoStores): void {
  if (url.startsWith('raw://') || url.startsWith('file://') || url.startsWith('/') || stores.ddfs.blobStore.owns(url) || stores.data.owns(url)) return
  throw new DiscoError('DISCO_INPUT_UNSUPPORTED', `expected an input URL tag://, raw://, file://, a DDFS blob or job results, found ${JSON.stringify(url.slice(0, 120))}`)
}

/**
 * The lines of one input in batches (gunzipped; see the module comment for the line rules). A
 * line longer than `opts.maxLine` goes to `opts.onTooLong` (default: DDFS_RECORD_TOO_LARGE).
 */
export async function* inputLineBatches(url: string, stores: DiscoStores, opts: LineOptions = {}): AsyncGenerator<string[]> {
  checkInput(url, stores)
  if (stores.data.owns(url)) yield* lineBatches(await stores.data.get(url), url, opts)
  else if (url.startsWith('file://') || url.startsWith('/')) {
    const path = url.startsWith('file://') ? fileURLToPath(url) : url
    try {
      yield* lineBatches(fileChunks(path), url, opts)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DiscoError('DISCO_INPUT_NOT_FOUND', `input ${url} does not exist`)
      throw e
    }
  } else yield* stores.ddfs.readLineBatches(url, opts)
}

/**
 * The decoded (gunzipped) bytes of one input (for bytes-form map functions). `onRead` is told the
 * stored (still compressed) bytes as they are read, for progress against the input's stored size.
 * With `reuse` (a reader that keeps no view of a chunk once it asks for the next), a plain
 * (not gzip) file or blob is read into one buffer over and over: each chunk is valid until the next.
 */
export async function* inputBytes(url: string, stores: DiscoStores, onRead?: (bytes: number) => void, opts: { reuse?: boolean } = {}): AsyncGenerator<Uint8Array> {
  checkInput(url, stores)
  const raw = rawText(url)
  if (raw !== undefined) { const b = Buffer.from(raw); onRead?.(b.byteLength); yield b; return }
  if (stores.data.owns(url)) { yield* maybeGunzip(counted(await stores.data.get(url), onRead), url); return }
  if (url.startsWith('file://') || url.startsWith('/')) {
    try {
      const path = url.startsWith('file://') ? fileURLToPath(url) : url
      // The gunzip stream reads ahead of its reader: only a plain file's chunks can share a buffer.
      if (opts.reuse === true && !gzipFile(path)) yield* counted(fileChunks(path, true), onRead)
      else yield* maybeGunzip(counted(fileChunks(path), onRead), url)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DiscoError('DISCO_INPUT_NOT_FOUND', `input ${url} does not exist`)
      throw e
    }
    return
  }
  yield* maybeGunzip(counted(opts.reuse === true ? reusedUnlessGzip(url, stores) : await stores.ddfs.openBlob(url), onRead), url)
}

/**
 * A blob's chunks for a reader that keeps no view of a chunk past the next: a plain blob of a
 * local store read into one buffer over and over (maybeGunzip hands each chunk on before it asks
 * for the next); a gzip blob (its first two bytes read from its file), or one of another store, in
 * buffers of their own (the gunzip stream reads ahead of its reader and keeps what it read).
 */
async function* reusedUnlessGzip(url: string, stores: DiscoStores): AsyncGenerator<Uint8Array> {
  const store = stores.ddfs.blobStore
  let plain = false
  if (store.filePaths && store.owns(url)) {
    try {
      plain = !gzipFile((await store.filePaths([url]))[0]!, constants.O_RDONLY | constants.O_NOFOLLOW)
    } catch { /* read as usual: the store's get says what is wrong */ }
  }
  yield* await stores.ddfs.openBlob(url, { reuse: plain })
}

/**
 * Bytes of a file read into a fresh 1 MiB buffer each (no stream: its buffering copies what it
 * joins). Off the main thread (a pool worker) the reads are synchronous: a read from the page
 * cache takes a fraction of a millisecond, while an asynchronous one waits its turn in the
 * process's libuv threadpool behind the file work every other thread queued there (on a busy
 * disk, slow metadata operations stalled map tasks there for 0.1-0.3 s at a time).
 */
async function* fileChunks(path: string, reuse = false): AsyncGenerator<Uint8Array> {
  yield* readChunks(isMainThread ? await open(path, 'r') : openSync(path, 'r'), FILE_CHUNK, { reuse })
}

/** True when the file at `path` starts as gzip does. */
function gzipFile(path: string, flags: number = constants.O_RDONLY): boolean {
  const fd = openSync(path, flags)
  try {
    const head = Buffer.alloc(2)
    return isGzip(head.subarray(0, readSync(fd, head, 0, 2, 0)))
  } finally {
    closeSync(fd)
  }
}

const FILE_CHUNK = 1 << 20

/** `source`, telling `onRead` the size of each chunk as it passes (or `source` itself without one). */
function counted(source: AsyncIterable<Uint8Array>, onRead?: (bytes: number) => void): AsyncIterable<Uint8Array> {
  if (!onRead) return source
  return (async function* () {
    for await (const c of source) {
      onRead(c.byteLength)
      yield c
    }
  })()
}
