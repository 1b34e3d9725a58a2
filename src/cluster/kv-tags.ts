// DDFS tags on a JetStream KV bucket (`<prefix>-tags`): one key per tag, the value the tag record
// as JSON, the entry's revision the compare-and-set handle (kv.create / kv.update with the
// expected revision; a purge names it too).
import { Kvm, type KV } from '@nats-io/kv'
import { JetStreamApiError, JetStreamApiCodes, type StoredMsg } from '@nats-io/jetstream'
import { headers, type MsgHdrs } from '@nats-io/transport-node'
import { DiscoError } from '../errors.js'
import type { TagRecord, TagState, TagStore } from '../ddfs/types.js'
import type { ClusterConnection } from './connect.js'
import { transient } from './retry.js'

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

/** True for the error a KV create/update/purge gives when the expected revision is stale. */
export function isWrongRevision(e: unknown): boolean {
  if (e instanceof JetStreamApiError) return e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  return /wrong last sequence|key exists/i.test((e as Error)?.message ?? '')
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

/** Longest a write keeps re-trying lost races on *other* keys before calling it a conflict. */
const WRITE_WINDOW_MS = 30_000

/**
 * TagStore on JetStream KV.
 *
 * Compare-and-set: nats-server 2.9 does not enforce a key's expected revision against writes still
 * in flight in a cluster (checked here: 60 concurrent `kv.update`s on an R3 bucket all "succeeded"
 * and one survived). Its stream-wide expected last sequence is enforced. So a write reads the
 * bucket's last sequence L, then the key from the stream leader; when the key is still at the
 * expected revision it publishes with "expected last sequence L". A write to any other key in
 * between makes that fail, and the write simply looks again. Reads go to the stream leader too, so
 * a process always reads its own writes.
 *
 * @example
 * const tags = await KvTagStore.open(conn)
 * await tags.write('a', record, 0) // the new revision
 */
export class KvTagStore implements TagStore {
  readonly kv: KV
  private readonly conn: ClusterConnection
  readonly bucket: string
  private readonly stream: string

  constructor(conn: ClusterConnection, bucket: string, kv: KV) {
    this.conn = conn
    this.bucket = bucket
    this.kv = kv
    this.stream = `KV_${bucket}`
  }

  /** The store's tag bucket, `<prefix>-tags`, created on first use. */
  static async open(conn: ClusterConnection): Promise<KvTagStore> {
    const bucket = conn.name('tags')
    return new KvTagStore(conn, bucket, await openBucket(conn, bucket))
  }

  private subject(name: string): string {
    return `$KV.${this.bucket}.${encodeKey(name)}`
  }

  /** The newest message of a key, read from the stream leader (null when never written). */
  private async latest(name: string): Promise<StoredMsg | null> {
    return this.conn.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(name) }).catch((e: Error) => {
      if (/no message found|not found/i.test(e.message)) return null
      throw e
    })
  }

  /** The bucket's last sequence, from the stream leader. */
  private async lastSeq(): Promise<number> {
    return (await this.conn.jsm.streams.info(this.stream)).state.last_seq
  }

  private static live(m: StoredMsg | null): m is StoredMsg {
    const op = m?.header?.get('KV-Operation')
    return !!m && (op === undefined || op === '' || op === 'PUT')
  }

  async read(name: string): Promise<TagState | undefined> {
    const m = await transient(() => this.latest(name), { what: `read tag ${name}` })
    if (!KvTagStore.live(m)) return undefined
    try {
      return { revision: m.seq, record: JSON.parse(m.string()) as TagRecord }
    } catch (err) {
      throw new DiscoError('DDFS_CORRUPT_TAG', `tag ${name} revision ${m.seq} in bucket ${this.bucket} is not valid JSON`, { cause: err })
    }
  }

  /**
   * Publishes `body` (with `hdrs`) to the key iff it is still at `expected` (0: absent or
   * deleted). `ours(m)` recognises our own earlier attempt whose answer was lost.
   */
  private async casPublish(name: string, expected: number, body: string, hdrs: MsgHdrs | undefined, ours: (m: StoredMsg, tried: boolean) => boolean): Promise<number | undefined> {
    const deadline = Date.now() + WRITE_WINDOW_MS
    let tried = false
    return transient(async () => {
      for (;;) {
        const last = await this.lastSeq()
        const m = await this.latest(name)
        if (m && m.seq > last) continue
        const current = KvTagStore.live(m) ? m.seq : 0
        if (current !== expected) return m && m.seq > expected && ours(m, tried) ? m.seq : undefined
        try {
          tried = true
          const ack = await this.conn.js.publish(this.subject(name), body, { expect: { lastSequence: last }, ...(hdrs ? { headers: hdrs } : {}) })
          return ack.seq
        } catch (e) {
          if (!isWrongRevision(e)) throw e
          if (Date.now() > deadline) return undefined
        }
      }
    }, { what: `write tag ${name}` })
  }

  async write(name: string, record: TagRecord, expected: number): Promise<number | undefined> {
    const body = JSON.stringify(record)
    // Records carry a unique id and mtime: the same bytes are our own write.
    return this.casPublish(name, expected, body, undefined, (m) => KvTagStore.live(m) && m.string() === body)
  }

  async list(prefix: string): Promise<string[]> {
    return transient(async () => {
      const out: string[] = []
      for await (const k of await this.kv.keys()) {
        const name = decodeKey(k)
        if (name.startsWith(prefix)) out.push(name)
      }
      return out
    }, { what: 'list tags' })
  }

  async purge(name: string, expected: number): Promise<boolean> {
    if (expected <= 0) return false
    const h = headers()
    h.set('KV-Operation', 'PURGE')
    h.set('Nats-Rollup', 'sub')
    return (await this.casPublish(name, expected, '', h, (m, tried) => tried && !KvTagStore.live(m))) !== undefined
  }
}
