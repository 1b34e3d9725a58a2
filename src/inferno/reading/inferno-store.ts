// The store Inferno runs over: tags (tags.ts) plus reading and writing blob lines.
import { DiscoError } from '../../errors.js'
import type { Ddfs } from '../../ddfs/ddfs.js'
import type { LineOptions } from '../../ddfs/lines.js'
import { rawText } from '../../ddfs/names.js'
import type { DiscoStores } from '../../disco/index.js'
import { blobRefName, type BlobRef, type InfernoTags } from './tags.js'

/** Tags plus blob lines: everything a rule run needs from storage. */
export interface InfernoStore extends InfernoTags {
  /**
   * The lines of a blob (gunzipped), without line ends. `raw://text` URLs yield their text. A line
   * longer than `opts.maxLine` goes to `opts.onTooLong` (default: DDFS_RECORD_TOO_LARGE).
   */
  readLines(blob: BlobRef, opts?: LineOptions): AsyncIterable<string>
  /** Stores lines as a new blob named `name` (plus a unique suffix) and returns it, untagged (fixtures; a run uses `saveLines`). */
  putLines(name: string, lines: Iterable<string> | AsyncIterable<string>): Promise<BlobRef>
  /**
   * Stores lines as a new blob and adds it to `tag`, as one write that a concurrent GC cannot
   * break (on DDFS: `Ddfs.beginWrite`); `beforeTag` runs once the blob is stored, before the tag
   * update (a failure there aborts the write). Returns the blob.
   */
  saveLines(tag: string, name: string, lines: Iterable<string> | AsyncIterable<string>, beforeTag?: (blob: BlobRef) => Promise<void>): Promise<BlobRef>
  /** Deletes a tag (missing tags are ignored). */
  deleteTag(tag: string): Promise<void>
  /**
   * Optional: a blob's stored size in bytes (for progress), undefined when unknown. Reads nothing.
   */
  blobSize?(blob: BlobRef): Promise<number | undefined>
  /** The Disco stores behind this store, when its rules may run as Disco jobs (see ddfsStore). */
  readonly disco?: DiscoStores
}

/** Lines of a `raw://TEXT` URL (percent-decoded, as DDFS reads it), or undefined for other URLs. */
export function rawLines(url: string): string[] | undefined {
  return rawText(url)?.split('\n')
}

/**
 * An in-memory store (tests, examples, single-process runs). Blob URLs are `mem://blob/<name>$<n>`.
 *
 * @example
 * const s = new MemoryStore(); await s.append('incoming:x:2012-12-01', [await s.putLines('x', ['{"a":1}'])])
 */
export class MemoryStore implements InfernoStore {
  private readonly tags = new Map<string, BlobRef[]>()
  private readonly data = new Map<string, string[]>()
  private seq = 0

  async listTags(prefix: string): Promise<string[]> {
    return [...this.tags.keys()].filter((t) => t.startsWith(prefix)).sort()
  }

  async blobs(tag: string): Promise<BlobRef[]> {
    return [...(this.tags.get(tag) ?? [])]
  }

  /** Prepends (newest first), skipping blobs whose name the tag already lists. */
  async append(tag: string, blobs: readonly BlobRef[]): Promise<void> {
    const list = this.tags.get(tag) ?? []
    const have = new Set(list.map(blobRefName))
    const fresh = blobs.filter((b) => !have.has(blobRefName(b)))
    this.tags.set(tag, [...[...fresh].reverse(), ...list])
  }

  /** Replaces a tag's list exactly as given (test fixtures). */
  setTag(tag: string, blobs: readonly BlobRef[]): void {
    this.tags.set(tag, [...blobs])
  }

  async deleteTag(tag: string): Promise<void> {
    this.tags.delete(tag)
  }

  async *readLines(blob: BlobRef): AsyncIterable<string> {
    for (const url of blob) {
      const raw = rawLines(url)
      if (raw) { yield* raw; return }
      const lines = this.data.get(url)
      if (lines) { yield* lines; return }
    }
    throw new DiscoError('INFERNO_BLOB_MISSING', `expected blob ${blob[0] ?? '(no replicas)'} in the store, found none of its replicas`)
  }

  async putLines(name: string, lines: Iterable<string> | AsyncIterable<string>): Promise<BlobRef> {
    const all: string[] = []
    for await (const l of lines) all.push(l)
    const url = `mem://blob/${name.replace(/[^A-Za-z0-9_\-@:]/g, '_')}$${(this.seq++).toString(16)}`
    this.data.set(url, all)
    return [url]
  }

  async saveLines(tag: string, name: string, lines: Iterable<string> | AsyncIterable<string>, beforeTag?: (blob: BlobRef) => Promise<void>): Promise<BlobRef> {
    const blob = await this.putLines(name, lines)
    await beforeTag?.(blob)
    await this.append(tag, [blob])
    return blob
  }

  async blobSize(blob: BlobRef): Promise<number | undefined> {
    for (const url of blob) {
      const lines = rawLines(url) ?? this.data.get(url)
      if (lines) return lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) - (rawLines(url) ? 1 : 0)
    }
    return undefined
  }

  /** Stores lines under a fixed URL (test fixtures with given blob names). */
  putAt(url: string, lines: readonly string[]): BlobRef {
    this.data.set(url, [...lines])
    return [url]
  }
}

/**
 * The DDFS store as an Inferno store: prefix listing, newest-first blobs, appends that skip blobs
 * already listed (by versioned name, inside DDFS's compare-and-set update), gunzipped lines,
 * result blobs written and tagged as one GC-safe write. Given Disco stores (whose `ddfs` is this
 * one), module rules run as Disco jobs on them by default.
 *
 * @example
 * const stores = openLocalStores('.disco')
 * const store = ddfsStore(stores.ddfs, stores)
 */
export function ddfsStore(ddfs: Ddfs, disco?: DiscoStores): InfernoStore & { readonly ddfs: Ddfs } {
  if (disco && disco.ddfs !== ddfs) throw new DiscoError('INFERNO_ENGINE', 'expected Disco stores over the same DDFS store, found stores of another one')
  return {
    ddfs,
    ...(disco ? { disco } : {}),
    listTags: (prefix) => ddfs.list(prefix),
    blobs: (tag) => ddfs.blobs(tag),
    async append(tag, blobs) {
      // DDFS prepends in the order given; the newest (last given) goes first, as repeated appends would.
      await ddfs.tag(tag, [...blobs].reverse(), { update: 'versioned' })
    },
    readLines: (blob, opts) => {
      const raw = blob.length > 0 ? rawLines(blob[0]!) : undefined
      return raw ? (async function* () { yield* raw })() : ddfs.readLines(blob, opts)
    },
    putLines: (name, lines) => ddfs.pushBlob(name, lineBytes(lines)),
    async saveLines(tag, name, lines, beforeTag) {
      const w = await ddfs.beginWrite(tag)
      try {
        const blob = await w.put(name, lineBytes(lines))
        await beforeTag?.(blob)
        await w.commit()
        return blob
      } catch (e) {
        await w.abort()
        throw e
      }
    },
    async deleteTag(tag) {
      if (await ddfs.exists(tag)) await ddfs.delete(tag)
    },
    blobSize: (blob) => ddfs.blobSize(blob),
  }
}

async function* lineBytes(lines: Iterable<string> | AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder()
  for await (const l of lines) yield enc.encode(`${l}\n`)
}
