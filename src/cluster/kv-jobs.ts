// Disco's job store on JetStream: keys in a KV bucket (`<prefix>-jobs`), logs in a stream
// (`<prefix>-events`, subjects `<prefix>.log.<log>`). Compare-and-set as in cas.ts. Expiry of
// heartbeats and leases is decided by the registry from the `expires` time in each value (nats-server
// 2.9 has no per-key TTL, and a bucket max_age would also expire job records). Delete and purge
// markers older than a minute are removed when their keys are listed (MARKER_AGE_MS).
import { randomBytes } from 'node:crypto'
import type { StoredMsg } from '@nats-io/jetstream'
import type { KV } from '@nats-io/kv'
import type { JobStore, KvChange, KvEntry, LogEntry } from '../disco/jobstore.js'
import type { ClusterConnection } from './connect.js'
import { CasBucket, markerHeaders } from './cas.js'
import { openBucket } from './kv-tags.js'
import { transient } from './retry.js'
import { ensureStream } from './streams.js'

/** A follow wakes up at least this often, in case a wake-up message was missed in a reconnect. */
const FOLLOW_SAFETY_MS = 5_000
/**
 * Delete and purge markers this old are removed from the bucket when their keys are listed, and an
 * unconditional delete (a heartbeat's end) lists its siblings at most this often: the markers of
 * keys that come and go do not pile up (the local store compacts its `d` markers the same way).
 */
const MARKER_AGE_MS = 60_000

/** Options of {@link KvJobStore.open}. */
export interface KvJobStoreOptions {
  /** Age at which delete markers are removed (default one minute; tests use less). */
  readonly markerAgeMs?: number
}

/**
 * JobStore on NATS JetStream.
 *
 * @example
 * const jobs = await KvJobStore.open(conn)
 * await jobs.put('job.x.info', '{}', 0)
 */
export class KvJobStore implements JobStore {
  private readonly conn: ClusterConnection
  private readonly kv: KV
  private readonly cas: CasBucket
  private readonly logStream: string
  private readonly logPrefix: string
  private readonly markerAgeMs: number
  /** When each parent prefix's markers were last compacted by an unconditional delete (ms). */
  private readonly compacted = new Map<string, number>()

  private constructor(conn: ClusterConnection, kv: KV, cas: CasBucket, logStream: string, logPrefix: string, markerAgeMs: number) {
    this.conn = conn
    this.kv = kv
    this.cas = cas
    this.logStream = logStream
    this.logPrefix = logPrefix
    this.markerAgeMs = markerAgeMs
  }

  /** The store's job bucket and event stream, created on first use. */
  static async open(conn: ClusterConnection, opts: KvJobStoreOptions = {}): Promise<KvJobStore> {
    const bucket = conn.name('jobs')
    const kv = await openBucket(conn, bucket)
    const logPrefix = `${conn.config.prefix}.log`
    const logStream = conn.name('events')
    await ensureStream(conn, { name: logStream, subjects: [`${logPrefix}.>`] })
    return new KvJobStore(conn, kv, new CasBucket(conn, bucket), logStream, logPrefix, opts.markerAgeMs ?? MARKER_AGE_MS)
  }

  private static value(m: StoredMsg): string {
    return m.string()
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const m = await this.cas.read(key, `read ${key}`)
    return CasBucket.live(m) ? { revision: m.seq, value: KvJobStore.value(m) } : undefined
  }

  async put(key: string, value: string | null, expected?: number): Promise<number | undefined> {
    const body = value ?? ''
    const hdrs = value === null ? markerHeaders('DEL') : undefined
    if (expected === undefined) {
      const revision = await this.cas.put(key, body, hdrs, `write ${key}`)
      if (value === null) await this.compactSiblings(key)
      return revision
    }
    const ours = (m: StoredMsg): boolean => value === null ? !CasBucket.live(m) : CasBucket.live(m) && m.string() === value
    return this.cas.write(key, expected, body, hdrs, ours, `write ${key}`)
  }

  keys(prefix: string): Promise<string[]> {
    return this.cas.keys(prefix ? `${prefix}.>` : '>', `list keys under ${prefix || '(all)'}`, { dropMarkersOlderThanMs: this.markerAgeMs })
  }

  /**
   * After an unconditional delete (heartbeats end that way, one key per job): the old markers among
   * the key's siblings go, at most once per MARKER_AGE_MS per parent and store handle (best effort).
   */
  private async compactSiblings(key: string): Promise<void> {
    const dot = key.lastIndexOf('.')
    if (dot < 0) return
    const parent = key.slice(0, dot)
    const now = Date.now()
    if (now - (this.compacted.get(parent) ?? -Infinity) < this.markerAgeMs) return
    this.compacted.set(parent, now)
    await this.keys(parent).catch(() => {})
  }

  async *watch(prefix: string, signal: AbortSignal): AsyncIterable<KvChange> {
    // A KV watch (an ordered consumer: current values, then changes). If it breaks (a server
    // died), it is opened again; that re-delivers current values, which the interface allows.
    while (!signal.aborted) {
      const iter = await transient(() => this.kv.watch({ key: prefix ? `${prefix}.>` : '>' }), { what: `watch ${prefix}` })
      const stop = (): void => { iter.stop() }
      signal.addEventListener('abort', stop, { once: true })
      // Aborted while the watch was being opened: the listener came too late to stop it, and a
      // prefix without keys would deliver nothing that ends the loop.
      if (signal.aborted) stop()
      try {
        for await (const e of iter) {
          const live = e.operation === 'PUT'
          if (!live && !e.isUpdate) continue
          yield { key: e.key, revision: e.revision, value: live ? e.string() : undefined }
          if (signal.aborted) return
        }
      } catch (e) {
        if (signal.aborted) return
        if (!/timeout|heartbeat|closed|disconnect|consumer/i.test((e as Error).message)) throw e
      } finally {
        signal.removeEventListener('abort', stop)
        iter.stop()
      }
    }
  }

  private logSubject(log: string): string {
    return `${this.logPrefix}.${log}`
  }

  async append(log: string, data: string): Promise<void> {
    // One message id per append: a retry after a lost answer is dropped by the stream's
    // duplicate window instead of logging the entry twice.
    const msgID = randomBytes(12).toString('base64url')
    await transient(() => this.conn.js.publish(this.logSubject(log), data, { msgID }), { what: `append to ${log}` })
  }

  async *read(log: string, after: number, follow?: AbortSignal): AsyncIterable<LogEntry> {
    const subject = this.logSubject(log)
    // Following: a core subscription on the log's subject wakes the reader when an entry arrives;
    // entries themselves are read from the stream leader in order.
    let pending = 0
    let wake: (() => void) | undefined
    const poke = (): void => { pending++; wake?.() }
    const sub = follow ? this.conn.nc.subscribe(subject, { callback: () => poke() }) : undefined
    if (follow) {
      follow.addEventListener('abort', poke, { once: true })
      await this.conn.nc.flush()
    }
    let seq = after
    try {
      for (;;) {
        if (follow?.aborted) return
        const seen = pending
        const m = await transient(() => this.conn.jsm.streams.getMessage(this.logStream, { seq: seq + 1, next_by_subj: subject } as never).catch((e: Error) => {
          if (/no message found|not found/i.test(e.message)) return null
          throw e
        }), { what: `read log ${log}` })
        if (m) {
          seq = m.seq
          yield { seq, data: m.string() }
          continue
        }
        if (!follow) return
        if (pending !== seen) continue
        await new Promise<void>((res) => {
          const t = setTimeout(res, FOLLOW_SAFETY_MS)
          wake = () => { clearTimeout(t); res() }
        })
        wake = undefined
      }
    } finally {
      follow?.removeEventListener('abort', poke)
      sub?.unsubscribe()
    }
  }

  async purge(prefix: string): Promise<void> {
    for (const key of await this.keys(prefix)) await this.cas.put(key, '', markerHeaders('PURGE'), `purge ${key}`)
    const filter = prefix ? `${this.logPrefix}.${prefix}.>` : `${this.logPrefix}.>`
    await transient(() => this.conn.jsm.streams.purge(this.logStream, { filter }), { what: `purge logs under ${prefix}` })
  }
}
