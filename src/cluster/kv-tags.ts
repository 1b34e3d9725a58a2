// DDFS tags on a JetStream KV bucket (`<prefix>-tags`): one key per tag, the value the tag record
// as JSON, the entry's revision the compare-and-set handle (kv.create / kv.update with the
// expected revision; a purge names it too).
import { Kvm, type KV } from '@nats-io/kv'
import { DiscoError } from '../errors.js'
import type { TagRecord, TagState, TagStore } from '../ddfs/types.js'
import type { ClusterConnection } from './connect.js'
import { transient } from './retry.js'
import { CasBucket, markerHeaders } from './cas.js'

/**
 * A KV key for any string: `[A-Za-z0-9_-]` stay, every other UTF-8 byte becomes `=XX` (`=` is a
 * legal key character and never appears unescaped), so `incoming:log:2026` → `incoming=3Alog=3A2026`.
 * KV keys may hold `.` (a token separator) but not `:` or `@`, which tag names use.
 *
 * @example
 * encodeKey('a:b@c') // 'a=3Ab=40c'
 */
export function encodeKey(name: string): string {
  let out = ''
  for (const b of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9_-]/.test(c) ? c : '=' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** The inverse of {@link encodeKey}. */
export function decodeKey(key: string): string {
  const bytes: number[] = []
  for (let i = 0; i < key.length; i++) {
    if (key[i] === '=') { bytes.push(parseInt(key.slice(i + 1, i + 3), 16)); i += 2 } else bytes.push(key.charCodeAt(i))
  }
  return Buffer.from(bytes).toString('utf8')
}

/**
 * Opens a KV bucket, creating it (with the connection's replica count) when it does not exist.
 * A bucket that exists with another configuration is used as it is.
 */
export async function openBucket(conn: ClusterConnection, name: string, opts: { history?: number, ttlMs?: number } = {}): Promise<KV> {
  const kvm = new Kvm(conn.js)
  return transient(async () => {
    const exists = await conn.jsm.streams.info(`KV_${name}`).then(() => true, (e: Error) => {
      if (/not found/i.test(e.message)) return false
      throw e
    })
    if (exists) return await kvm.open(name)
    try {
      return await kvm.create(name, { replicas: conn.replicas, history: opts.history ?? 1, ...(opts.ttlMs ? { ttl: opts.ttlMs } : {}) })
    } catch (e) {
      const msg = (e as Error).message
      // Created by another process meanwhile.
      if (/already in use/i.test(msg)) return await kvm.open(name)
      if (/replicas|peers|insufficient/i.test(msg) && !/no suitable peers/i.test(msg)) {
        throw new DiscoError('CLUSTER_BAD_CONFIG', `cannot create bucket ${name} with ${conn.replicas} replicas: ${msg}`, { cause: e })
      }
      throw e
    }
  }, { what: `open bucket ${name}` })
}

/**
 * TagStore on JetStream KV: one key per tag (names encoded by {@link encodeKey}), the record as
 * JSON, compare-and-set as in cas.ts (which also explains why not plain `kv.update`).
 *
 * @example
 * const tags = await KvTagStore.open(conn)
 * await tags.write('a', record, 0) // the new revision
 */
export class KvTagStore implements TagStore {
  readonly kv: KV
  readonly bucket: string
  private readonly cas: CasBucket

  constructor(conn: ClusterConnection, bucket: string, kv: KV) {
    this.bucket = bucket
    this.kv = kv
    this.cas = new CasBucket(conn, bucket)
  }

  /** The store's tag bucket, `<prefix>-tags`, created on first use. */
  static async open(conn: ClusterConnection): Promise<KvTagStore> {
    const bucket = conn.name('tags')
    return new KvTagStore(conn, bucket, await openBucket(conn, bucket))
  }

  async read(name: string): Promise<TagState | undefined> {
    const m = await this.cas.read(encodeKey(name), `read tag ${name}`)
    if (!CasBucket.live(m)) return undefined
    try {
      return { revision: m.seq, record: JSON.parse(m.string()) as TagRecord }
    } catch (err) {
      throw new DiscoError('DDFS_CORRUPT_TAG', `tag ${name} revision ${m.seq} in bucket ${this.bucket} is not valid JSON`, { cause: err })
    }
  }

  async write(name: string, record: TagRecord, expected: number): Promise<number | undefined> {
    const body = JSON.stringify(record)
    // Records carry a unique id and mtime: the same bytes are our own write.
    return this.cas.write(encodeKey(name), expected, body, undefined, (m) => CasBucket.live(m) && m.string() === body, `write tag ${name}`)
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.cas.keys('>', 'list tags')).map(decodeKey).filter((name) => name.startsWith(prefix))
  }

  async purge(name: string, expected: number): Promise<boolean> {
    if (expected <= 0) return false
    const r = await this.cas.write(encodeKey(name), expected, '', markerHeaders('PURGE'), (m) => !CasBucket.live(m), `purge tag ${name}`)
    return r !== undefined
  }
}
