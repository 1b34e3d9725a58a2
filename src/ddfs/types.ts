// The two small backend interfaces of DDFS (blobs, tags) and the data shapes they exchange.
// Adapters implement these; the `Ddfs` facade validates arguments and implements the semantics.
//
// How a NATS JetStream adapter maps (spec/ecosystem.md part B): TagStore.read = kv.get (revision
// = the entry's sequence), write = kv.create when `expected` is 0 else kv.update(key, value,
// expected), list = kv.keys() decoded (KV keys cannot hold ':' or '@', so names are encoded),
// purge = kv.purge guarded by the revision. BlobStore = the object store (`nats-obj://bucket/name`
// URLs) or S3; put streams, get streams. Tombstones are ordinary records, so CAS covers them too.

/** One blob as a list of replica URLs (the original's shape; the local store has one replica). */
export type ReplicaSet = string[]

/**
 * One entry of a tag: a blob's replica set, or a one-element list holding a `tag://other` link.
 */
export type TagEntry = string[]

/**
 * What a tag store keeps per tag version. Tokens are stored here but never shown to readers.
 * A tombstone (deleted tag) is a record with `deleted` set and no entries.
 */
export interface TagRecord {
  /** Tag name, e.g. `incoming:clicks:2026-11-22`. */
  name: string
  /** `<name>$<unique>`; changes on every modification. */
  id: string
  /** Milliseconds since the epoch of the last modification. */
  mtime: number
  /** Entries, newest first. */
  urls: TagEntry[]
  /** String attributes (the original's `user-data`). */
  attrs: Record<string, string>
  /** Read token; `null`/absent means none. */
  readToken?: string | null
  /** Write token; `null`/absent means none. */
  writeToken?: string | null
  /** Set on a tombstone: when the tag was deleted (ms). */
  deleted?: number
  /** Set on a pending-write record (`+pending:<id>`, see pending.ts): when its lease ends (ms). */
  expires?: number
}

/** A tag record with the store revision it was read at (the compare-and-set handle). */
export interface TagState {
  /** Store revision, > 0. */
  revision: number
  record: TagRecord
}

/**
 * Tag storage with compare-and-set: every update names the revision it was computed from, so a
 * KV store with revisions (NATS JetStream KV) or a directory of version files both fit.
 *
 * @example
 * const s = await tags.read('a')                       // undefined when never written
 * await tags.write('a', record, s?.revision ?? 0)      // new revision, or undefined on conflict
 */
export interface TagStore {
  // Names are tag names, plus `+pending:<id>` records of in-flight writes: adapters store any
  // name of `[A-Za-z0-9_\-@:+.]` characters alike (the compliance suite checks both kinds).
  /** The newest version of a tag (tombstones included), or `undefined` if none is stored. */
  read(name: string): Promise<TagState | undefined>
  /**
   * Stores `record` as the new version iff the current revision is `expected` (0 = nothing stored).
   * Resolves to the new revision, or `undefined` when another writer got there first.
   */
  write(name: string, record: TagRecord, expected: number): Promise<number | undefined>
  /** Names of stored tags starting with the raw string `prefix` (tombstones included), any order. */
  list(prefix: string): Promise<string[]>
  /** Removes every stored version of a tag iff its revision is still `expected`; true when removed. */
  purge(name: string, expected: number): Promise<boolean>
  /** Optional housekeeping: drops superseded versions / leftovers older than `olderThanMs`
   * (with `dryRun`, only counts them); resolves to how many. */
  sweep?(olderThanMs: number, dryRun?: boolean): Promise<number>
}

/** A stored blob as listed by a blob store. */
export interface BlobInfo {
  /** The blob's URL (what tags reference). */
  url: string
  /** Size in bytes. */
  size: number
  /** When it was written (ms since the epoch). */
  mtime: number
}

/** Bytes for a blob: a whole buffer, or a stream of chunks (Node Readable streams qualify). */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array>

/** Options of {@link BlobStore.put}. */
export interface PutOptions {
  /**
   * Replace a blob already stored under the same name (atomically: readers see the old or the new
   * bytes). Disco's job data uses it: a task re-run writes the same deterministic names. Without
   * it, a name already stored is DDFS_BLOB_EXISTS and its bytes stay (every adapter; the
   * compliance suite checks it).
   */
  replace?: boolean
}

/** Options of {@link BlobStore.get}. */
export interface GetOptions {
  /**
   * The reader keeps no view of a chunk once it asks for the next one, so the store may hand out
   * one buffer over and over (each chunk valid until the next); a store may ignore it.
   */
  readonly reuse?: boolean
}

/**
 * Immutable blob storage. `name` is the full versioned name (`data_txt-0$19b2…`), unique per put.
 * A put is atomic: until it resolves, nothing is visible; a crash leaves no partial blob.
 *
 * @example
 * const { url } = await blobs.put('x$1a2b', Buffer.from('hi\n'))
 * for await (const c of await blobs.get(url)) process.stdout.write(c)   // hi
 */
export interface BlobStore {
  /** Stores the bytes under `name` and returns where they live. */
  put(name: string, data: BlobSource, opts?: PutOptions): Promise<BlobInfo>
  /**
   * Streams a blob's bytes; throws `DDFS_BLOB_NOT_FOUND` when the URL is not stored here.
   * Every URL is decoded and confined to the store: one that is not exactly a URL this store
   * hands out (`..`, encoded or double-encoded separators, NUL, absolute paths, another store)
   * is `DDFS_BAD_URL`, never read.
   */
  get(url: string, opts?: GetOptions): Promise<AsyncIterable<Uint8Array>>
  /** Deletes a blob; deleting a missing blob is not an error; a URL `get` would refuse is refused (`DDFS_BAD_URL`). */
  delete(url: string): Promise<void>
  /** Every stored blob. */
  list(): AsyncIterable<BlobInfo>
  /** True when `url` is one of this store's URLs (so the facade can route reads). */
  owns(url: string): boolean
  /** Optional housekeeping: removes abandoned partial uploads older than `olderThanMs` (with
   * `dryRun`, only counts them); resolves to how many. */
  sweep?(olderThanMs: number, dryRun?: boolean): Promise<number>
  /** Optional: a stored blob's size in bytes without reading it (undefined when it is not stored). */
  size?(url: string): Promise<number | undefined>
  /**
   * Optional, for a store that keeps each blob as a local file (the embedded one): the files of
   * stored blobs, in order, for readers that read them directly (a reduce task's inputs, a map
   * task's gzip sniff; each file is the reader's to open and to find missing). DDFS_BLOB_NOT_FOUND
   * when the store has no place for one; a URL `get` would refuse is refused (`DDFS_BAD_URL`).
   */
  filePaths?(urls: readonly string[]): Promise<string[]>
  /**
   * Optional: deletes many blobs, as `delete` does each, in fewer round trips (a job's map
   * outputs). Every URL is checked first: a URL `get` would refuse deletes nothing (`DDFS_BAD_URL`).
   */
  deleteAll?(urls: readonly string[]): Promise<void>
}
