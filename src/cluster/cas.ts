// Compare-and-set on a JetStream KV bucket that holds under nats-server 2.9 clusters.
//
// nats-server 2.9 does not enforce a key's expected revision (`Nats-Expected-Last-Subject-Sequence`,
// what `kv.update` sends) against writes still in flight in a cluster: checked here, 60 concurrent
// `kv.update`s of one key on an R3 bucket all "succeeded" and one survived. Its stream-wide expected
// last sequence is enforced. So a CAS write reads the bucket's last sequence L, then the key from
// the stream leader; when the key is still at the expected revision it publishes with "expected
// last sequence L". A write to any other key in between makes that fail, and the write looks
// again. Reads go to the stream leader, so a process always reads its own writes.
import { JetStreamApiError, JetStreamApiCodes, type StoredMsg } from '@nats-io/jetstream'
import { headers, type MsgHdrs } from '@nats-io/transport-node'
import type { ClusterConnection } from './connect.js'
import { transient } from './retry.js'

/** Longest a write keeps re-trying lost races on *other* keys before calling it a conflict. */
const WRITE_WINDOW_MS = 30_000

/** True for the error a publish with an expected (subject) sequence gives when it is stale. */
export function isWrongRevision(e: unknown): boolean {
  if (e instanceof JetStreamApiError) return e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  return /wrong last sequence|key exists/i.test((e as Error)?.message ?? '')
}

/** KV operation headers for a delete marker or a purge (rollup of the key's history). */
export function markerHeaders(op: 'DEL' | 'PURGE'): MsgHdrs {
  const h = headers()
  h.set('KV-Operation', op)
  if (op === 'PURGE') h.set('Nats-Rollup', 'sub')
  return h
}

/** Options of {@link CasBucket.keys}. */
export interface KeysOptions {
  /**
   * Delete and purge markers at least this old (by the server's time stamp) are removed from the
   * stream while listing, so keys that come and go (a heartbeat per job, a purged job's records)
   * do not stay in the bucket, one marker each, for ever. Younger markers stay, so a watcher that
   * is behind still sees the deletion.
   */
  readonly dropMarkersOlderThanMs?: number
}

/**
 * Raw access to one KV bucket's stream by (already valid) key, with the CAS described above.
 *
 * @example
 * const b = new CasBucket(conn, 'disco-jobs')
 * await b.write('job.x.info', '{}', 0)   // the new revision, or undefined
 */
export class CasBucket {
  readonly bucket: string
  readonly stream: string
  private readonly conn: ClusterConnection

  constructor(conn: ClusterConnection, bucket: string) {
    this.conn = conn
    this.bucket = bucket
    this.stream = `KV_${bucket}`
  }

  subject(key: string): string {
    return `$KV.${this.bucket}.${key}`
  }

  /** True when a stored message is a value, not a delete or purge marker. */
  static live(m: StoredMsg | null): m is StoredMsg {
    const op = m?.header?.get('KV-Operation')
    return !!m && (op === undefined || op === '' || op === 'PUT')
  }

  /** True when a stored message is a delete or purge marker (not a type guard, unlike `live`). */
  static marker(m: StoredMsg): boolean {
    return !CasBucket.live(m)
  }

  /** The newest message of a key, read from the stream leader (null when never written). */
  async latest(key: string): Promise<StoredMsg | null> {
    return this.conn.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(key) }).catch((e: Error) => {
      if (/no message found|not found/i.test(e.message)) return null
      throw e
    })
  }

  /** `latest` through elections. */
  read(key: string, what: string): Promise<StoredMsg | null> {
    return transient(() => this.latest(key), { what })
  }

  /**
   * The live keys whose subject matches `filter` (`>`, or `<prefix>.>`), listed from the stream
   * leader (stream info with a subject filter, then each key's newest message), through elections.
   * Not kv.keys(): that is an R1 ordered consumer which nats-server 2.9 may place on a replica
   * still behind the leader (keys written a moment ago missing) or on a dead server (a timeout).
   */
  keys(filter: string, what: string, opts: KeysOptions = {}): Promise<string[]> {
    return transient(async () => {
      const base = this.subject('')
      const info = await this.conn.jsm.streams.info(this.stream, { subjects_filter: this.subject(filter) })
      const out: string[] = []
      const oldest = opts.dropMarkersOlderThanMs === undefined ? undefined : Date.now() - opts.dropMarkersOlderThanMs
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const key = subject.slice(base.length)
        const m = await this.latest(key)
        if (m === null) continue
        if (!CasBucket.marker(m)) out.push(key)
        else if (oldest !== undefined && m.time.getTime() <= oldest) await this.dropMarker(subject, m.seq)
      }
      return out
    }, { what })
  }

  /**
   * Removes a key's delete (or purge) marker at `seq` and whatever came before it. Only messages up
   * to `seq` go: a value written after the marker meanwhile stays. Best effort (the next listing
   * tries again). Safe for compare-and-set: revisions are stream sequences, never reused, and a
   * key without messages reads as absent (revision 0), as it did with its marker.
   */
  private async dropMarker(subject: string, seq: number): Promise<void> {
    await this.conn.jsm.streams.purge(this.stream, { filter: subject, seq: seq + 1 }).catch(() => {})
  }

  /** Unconditional publish (a value, or a marker with `hdrs`); resolves to the new revision. */
  async put(key: string, body: string, hdrs: MsgHdrs | undefined, what: string): Promise<number> {
    const ack = await transient(() => this.conn.js.publish(this.subject(key), body, hdrs ? { headers: hdrs } : {}), { what })
    return ack.seq
  }

  /**
   * Publishes `body` (with `hdrs`) to the key iff it is still at `expected` (0: absent or deleted).
   * When a publish's answer was lost (a timeout), the write cannot know whether it landed; then
   * `ours(m)` tells whether the key's newer message is that write of ours.
   */
  async write(key: string, expected: number, body: string, hdrs: MsgHdrs | undefined, ours: (m: StoredMsg) => boolean, what: string): Promise<number | undefined> {
    const deadline = Date.now() + WRITE_WINDOW_MS
    let unsure = false
    return transient(async () => {
      for (;;) {
        const last = (await this.conn.jsm.streams.info(this.stream)).state.last_seq
        const m = await this.latest(key)
        if (m && m.seq > last) continue
        const current = CasBucket.live(m) ? m.seq : 0
        if (current !== expected) return unsure && m && m.seq > expected && ours(m) ? m.seq : undefined
        try {
          const ack = await this.conn.js.publish(this.subject(key), body, { expect: { lastSequence: last }, ...(hdrs ? { headers: hdrs } : {}) })
          return ack.seq
        } catch (e) {
          if (!isWrongRevision(e)) { unsure = true; throw e }
          if (Date.now() > deadline) return undefined
        }
      }
    }, { what })
  }
}
