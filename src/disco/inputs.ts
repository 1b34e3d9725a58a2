// Job inputs: expanding tags into blob URLs (at planning time) and reading the lines of one input
// (inside a task). `raw://TEXT` and files are read here; DDFS tags and blobs go through the store.
import { createReadStream, openSync, readSync, closeSync } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { StringDecoder } from 'node:string_decoder'
import { fileURLToPath } from 'node:url'
import { isAbsolute } from 'node:path'
import { DiscoError } from '../errors.js'

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

/**
 * Calls `fn` for every line of an input (UTF-8, newline stripped, `\r\n` tolerated), awaiting
 * it only when it returns a promise. Returns the number of lines.
 */
export async function forEachLine(url: string, store: InputStore | undefined, fn: (line: string) => unknown): Promise<number> {
  const decoder = new StringDecoder('utf8')
  let rest = ''
  let n = 0
  const one = (line: string): unknown => {
    n++
    return fn(line.endsWith('\r') ? line.slice(0, -1) : line)
  }
  for await (const chunk of inputBytes(url, store)) {
    const text = rest + decoder.write(chunk as Buffer)
    let start = 0
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
      const r = one(text.slice(start, i))
      start = i + 1
      if (r && typeof (r as Promise<unknown>).then === 'function') await r
    }
    rest = text.slice(start)
  }
  rest += decoder.end()
  if (rest !== '') {
    const r = one(rest)
    if (r && typeof (r as Promise<unknown>).then === 'function') await r
  }
  return n
}

/** The lines of an input as an async iterable (for stream-form map functions). */
export async function* inputLines(url: string, store: InputStore | undefined): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  let rest = ''
  for await (const chunk of inputBytes(url, store)) {
    const text = rest + decoder.write(chunk as Buffer)
    const lines = text.split('\n')
    rest = lines.pop()!
    for (const l of lines) yield l.endsWith('\r') ? l.slice(0, -1) : l
  }
  rest += decoder.end()
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest
}
