// DDFS blobs in a JetStream object store (`<prefix>-blobs`), URLs `nats-obj://<bucket>/<name>`.
//
// Puts go through the object store API. Reads do not use its `get` (an ephemeral push consumer
// that nats-server 2.9 may place on a dead server, where it waits out a 30 s heartbeat): they walk
// the object's chunk subject with direct gets (`next_by_subj`), which any live replica answers,
// retry each chunk through an election, and check the SHA-256 at the end.
import { createHash } from 'node:crypto'
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj'
import { DiscoError } from '../errors.js'
import type { BlobInfo, BlobSource, BlobStore, PutOptions } from '../ddfs/types.js'
import { fileNameOk } from '../ddfs/local.js'
import type { ClusterConnection } from './connect.js'
import { transient } from './retry.js'
import { spool } from './spool.js'

/** URL scheme of object-store blobs. */
export const OBJ_SCHEME = 'nats-obj://'

/** Chunk size of stored objects (below the default 1 MiB max_payload, with room for headers). */
const CHUNK_SIZE = 512 * 1024

/** Thrown when a replica answers a direct get before it has the chunk (retried as transient). */
class StaleReplicaError extends Error {
  constructor(what: string) { super(`stale replica: ${what} not there yet (timeout)`); this.name = 'StaleReplicaError' }
}

/** True when an object-store digest (`SHA-256=<base64url>`) is this SHA-256. */
function sameDigest(digest: string | undefined, sha: Buffer): boolean {
  return !!digest && digest.startsWith('SHA-256=') && Buffer.from(digest.slice(8), 'base64url').equals(sha)
}

/** Rejects names the local store rejects too, so adapters agree. */
export function checkBlobName(name: string): void {
  if (typeof name !== 'string' || !fileNameOk(name)) {
    throw new DiscoError('DDFS_BAD_BLOB_NAME', `expected a blob name of 1-255 bytes without "/", "\\" or NUL, found ${JSON.stringify(String(name).slice(0, 120))}`)
  }
}

/** A blob name as the last URL segment: percent-encoded except the grammar's `$ : @` (as local URLs). */
export function blobUrlSegment(name: string): string {
  return encodeURIComponent(name).replace(/%24/g, '$').replace(/%3A/gi, ':').replace(/%40/g, '@')
}

/**
 * The blob name in a URL's last segment. Only the canonical encoding of a valid name passes, so no
 * decoding trick reaches another object: anything else is `DDFS_BAD_URL`.
 */
export function blobNameOf(url: string, segment: string): string {
  const bad = (why: string): DiscoError => new DiscoError('DDFS_BAD_URL', `expected a blob URL of this store, found ${JSON.stringify(url.slice(0, 200))} (${why})`)
  let name: string
  try { name = decodeURIComponent(segment) } catch { throw bad('bad percent-encoding') }
  if (!fileNameOk(name)) throw bad('not a blob name')
  if (blobUrlSegment(name) !== segment) throw bad('not in canonical form')
  return name
}

/**
 * BlobStore on the JetStream object store.
 *
 * @example
 * const blobs = await ObjBlobStore.open(conn)
 * (await blobs.put('x$1', Buffer.from('hi'))).url // 'nats-obj://disco-blobs/x$1'
 */
export class ObjBlobStore implements BlobStore {
  readonly bucket: string
  private readonly os: ObjectStore
  private readonly conn: ClusterConnection
  private readonly prefix: string

  private constructor(conn: ClusterConnection, bucket: string, os: ObjectStore) {
    this.conn = conn
    this.bucket = bucket
    this.os = os
    this.prefix = `${OBJ_SCHEME}${bucket}/`
  }

  /** The store's object bucket, `<prefix>-<what>` (default `blobs`), created on first use. */
  static async open(conn: ClusterConnection, what = 'blobs'): Promise<ObjBlobStore> {
    const bucket = conn.name(what)
    const objm = new Objm(conn.js)
    const os = await transient(() => objm.create(bucket, { replicas: conn.replicas }), { what: `open object store ${bucket}` })
    return new ObjBlobStore(conn, bucket, os)
  }

  owns(url: string): boolean {
    return typeof url === 'string' && url.startsWith(this.prefix)
  }

  private urlOf(name: string): string {
    return this.prefix + blobUrlSegment(name)
  }

  private nameOf(url: string): string {
    if (typeof url !== 'string' || !this.owns(url)) throw new DiscoError('DDFS_BAD_URL', `expected a URL starting with ${this.prefix}, found ${JSON.stringify(String(url).slice(0, 200))}`)
    return blobNameOf(url, url.slice(this.prefix.length))
  }

  private info(name: string): Promise<ObjectInfo | null> {
    return transient(() => this.os.info(name), { what: `look up blob ${name}` })
  }

  async put(name: string, data: BlobSource, opts: PutOptions = {}): Promise<BlobInfo> {
    checkBlobName(name)
    const sp = await spool(data)
    try {
      const info = await transient(async (attempt) => {
        const old = await this.os.info(name)
        if (old && !old.deleted && !opts.replace) {
          // Our own earlier attempt may have landed before its answer was lost.
          if (attempt > 0 && old.size === sp.size && sameDigest(old.digest, sp.sha256)) return old
          throw new DiscoError('DDFS_BLOB_EXISTS', `blob ${name} is already stored in ${this.bucket}`)
        }
        const meta = { name, options: { max_chunk_size: CHUNK_SIZE } }
        if (sp.bytes) return await this.os.putBlob(meta, sp.bytes)
        return await this.os.put(meta, ReadableStream.from(sp.open()) as ReadableStream<Uint8Array>)
      }, { what: `store blob ${name}` })
      return { url: this.urlOf(name), size: info.size, mtime: Date.parse(info.mtime) }
    } finally {
      await sp.dispose()
    }
  }

  async get(url: string): Promise<AsyncIterable<Uint8Array>> {
    const name = this.nameOf(url)
    const info = await this.info(name)
    if (!info || info.deleted) throw new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} is not stored in ${this.bucket}`)
    if (info.options?.link) throw new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} is an object-store link, not a blob`)
    return this.chunks(url, info)
  }

  /** The object's chunks in order, by direct get, with the digest checked at the end. */
  private async *chunks(url: string, info: ObjectInfo): AsyncGenerator<Uint8Array> {
    const stream = `OBJ_${this.bucket}`
    const subject = `$O.${this.bucket}.C.${info.nuid}`
    const sha = createHash('sha256')
    let seq = 0
    let got = 0
    for (let i = 0; i < info.chunks; i++) {
      const m = await transient(async () => {
        const r = await this.conn.jsm.direct.getMessage(stream, { seq: seq + 1, next_by_subj: subject }).catch((e: Error) => {
          if (/not found/i.test(e.message)) return null
          throw e
        })
        if (!r) {
          // Deleted while we read, or a replica that has not caught up yet.
          const now = await this.os.info(info.name)
          if (!now || now.deleted || now.nuid !== info.nuid) throw new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} was deleted while it was read`)
          throw new StaleReplicaError(`chunk ${i + 1}/${info.chunks} of ${url}`)
        }
        return r
      }, { what: `read blob ${url}` })
      seq = m.seq
      got += m.data.length
      sha.update(m.data)
      if (m.data.length > 0) yield m.data
    }
    if (got !== info.size || !sameDigest(info.digest, sha.digest())) {
      throw new DiscoError('CLUSTER_BLOB_CORRUPT', `blob ${url}: read ${got} bytes whose SHA-256 does not match the stored ${info.size} bytes`)
    }
  }

  async delete(url: string): Promise<void> {
    const name = this.nameOf(url)
    const info = await this.info(name)
    if (!info || info.deleted) return
    await transient(() => this.os.delete(name), { what: `delete blob ${url}` })
  }

  /**
   * Purges orphan chunks: those of puts that died midway (the client purges them when the source
   * fails, but not when the process dies) and of deletes or replaces whose purge was lost. A
   * chunk subject `$O.<bucket>.C.<nuid>` is an orphan when no live object names its nuid and its
   * newest chunk is older than `olderThanMs` (a put still running is younger). Chunk subjects are
   * listed before the objects, so a put that finishes meanwhile is seen as live. Called by DDFS GC.
   */
  async sweep(olderThanMs: number, dryRun = false): Promise<number> {
    const stream = `OBJ_${this.bucket}`
    const chunkPrefix = `$O.${this.bucket}.C.`
    const si = await transient(() => this.conn.jsm.streams.info(stream, { subjects_filter: `${chunkPrefix}>` }), { what: `list chunks of ${this.bucket}` })
    const subjects = Object.keys(si.state.subjects ?? {})
    if (subjects.length === 0) return 0
    const live = new Set<string>()
    for (const i of await transient(() => this.os.list(), { what: `list blobs of ${this.bucket}` })) if (!i.deleted) live.add(i.nuid)
    let n = 0
    for (const subject of subjects) {
      if (live.has(subject.slice(chunkPrefix.length))) continue
      const last = await transient(() => this.conn.jsm.direct.getMessage(stream, { last_by_subj: subject }).catch((e: Error) => {
        if (/not found/i.test(e.message)) return null
        throw e
      }), { what: `read chunk ${subject}` })
      if (!last || Date.now() - last.time.getTime() < olderThanMs) continue
      if (!dryRun) await transient(() => this.conn.jsm.streams.purge(stream, { filter: subject }), { what: `purge chunks ${subject}` })
      n++
    }
    return n
  }

  async *list(): AsyncIterable<BlobInfo> {
    const all = await transient(() => this.os.list(), { what: `list blobs of ${this.bucket}` })
    for (const i of all) {
      if (i.deleted || i.options?.link) continue
      yield { url: this.urlOf(i.name), size: i.size, mtime: Date.parse(i.mtime) }
    }
  }
}
