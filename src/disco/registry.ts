// The public face of a job store: job records (compare-and-set), event logs, kill requests,
// heartbeats with an expiry and leases, implemented once over any `JobStore` backend. Names are
// encoded into key tokens here, and every time is taken from one injectable clock, so expiry is
// testable without sleeping.
//
// Key layout (one place): job.<name>.info   the job record
//                         job.<name>.kill.request  a kill request (alone under its prefix, so
//                                           a runner watches it without its task records)
//                         job.<name>.events the event log (a log, not a key)
//                         job.<name>.tasks  finished tasks' records (a log: one append per task,
//                                           the last record of a task wins; a job's records
//                                           used to be keys job.<name>.task.<task>, still read)
//                         hb.<group>.<id>   a heartbeat
//                         lease.<name>      a lease
//                         inferno.<rule>.…  the Inferno daemon's state of a rule (inferno/daemon)
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { DiscoError } from '../errors.js'
import type { JobStore } from './jobstore.js'
import type { JobInfo, TaskRecord } from './types.js'

const PLAIN = /^[A-Za-z0-9_-]$/
const MAX_TOKEN = 200

/**
 * Encodes any text as one key token: characters outside `[A-Za-z0-9_-]` become `=XX` per UTF-8
 * byte; a result longer than 200 characters keeps a head and a SHA-256 (not decodable).
 *
 * @example
 * keyToken('wc@6a4:0:1') // 'wc=406a4=3A0=3A1'
 */
export function keyToken(text: string): string {
  let out = ''
  for (const ch of text) {
    if (PLAIN.test(ch)) out += ch
    else for (const b of Buffer.from(ch, 'utf8')) out += '=' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  if (out === '') return '='
  if (out.length <= MAX_TOKEN) return out
  return `${out.slice(0, 120)}==${createHash('sha256').update(text).digest('hex')}`
}

/** A job's event: when, on which host, what. */
export interface JobEvent {
  /** Position in the log (pass it as `after` to continue). */
  seq: number
  ts: string
  host: string
  message: string
}

/** A heartbeat: who is alive until when (registry clock, ms since the epoch). */
export interface Heartbeat {
  group: string
  id: string
  at: number
  expires: number
  /** Free JSON data (e.g. a worker's host, pid, concurrency). */
  data?: unknown
  /** True when `expires` is still in the future. */
  alive: boolean
}

/** A lease: one owner of a name until `expires` unless renewed. */
export interface Lease {
  name: string
  owner: string
  acquired: number
  expires: number
}

/** A job record with its compare-and-set handle. */
export interface JobRecordState {
  revision: number
  info: JobInfo
}

/** Options of {@link JobRegistry}. */
export interface RegistryOptions {
  /** The clock for heartbeats and leases (ms since the epoch); default Date.now. */
  now?: () => number
  /** Host name written into events; default os.hostname(). */
  host?: string
}

/** Tries of a compare-and-set loop before DISCO_STORE_CONFLICT. */
const CAS_TRIES = 1000

/**
 * Jobs, events, kill requests, heartbeats and leases over a {@link JobStore}.
 *
 * @example
 * const reg = new JobRegistry(new LocalJobStore('.disco/jobs'))
 * await reg.beat('worker', 'w1', 15_000)             // alive for 15 s
 * (await reg.heartbeat('worker', 'w1'))?.alive        // true
 * await reg.acquire('rule:names.count', 'daemon-1', 60_000) // a Lease, or undefined when held
 */
export class JobRegistry {
  readonly now: () => number
  readonly host: string

  constructor(readonly store: JobStore, opts: RegistryOptions = {}) {
    this.now = opts.now ?? Date.now
    this.host = opts.host ?? hostname()
  }

  private static jobKey(name: string, what: 'info' | 'kill.request' | 'events' | 'tasks'): string {
    return `job.${keyToken(name)}.${what}`
  }

  // ---- job records ----

  /**
   * Creates the record of a new job under the first free name `makeName(bump)` (bump = 0, 1, …)
   * and returns the name.
   */
  async create(makeName: (bump: number) => string, make: (name: string) => JobInfo): Promise<string> {
    for (let bump = 0; bump < CAS_TRIES; bump++) {
      const name = makeName(bump)
      if ((await this.store.put(JobRegistry.jobKey(name, 'info'), JSON.stringify(make(name)), 0)) !== undefined) return name
    }
    throw new DiscoError('DISCO_STORE_CONFLICT', `no free job name after ${CAS_TRIES} tries (last ${makeName(CAS_TRIES - 1)})`)
  }

  /** A job record and its revision, or undefined. */
  async get(name: string): Promise<JobRecordState | undefined> {
    const e = await this.store.get(JobRegistry.jobKey(name, 'info'))
    if (!e) return undefined
    try {
      return { revision: e.revision, info: JSON.parse(e.value) as JobInfo }
    } catch (err) {
      throw new DiscoError('DISCO_CORRUPT_STATE', `the record of job ${name} is not valid JSON`, { cause: err })
    }
  }

  /** A job record; DISCO_JOB_NOT_FOUND when there is none. */
  async info(name: string): Promise<JobInfo> {
    const s = await this.get(name)
    if (!s) throw new DiscoError('DISCO_JOB_NOT_FOUND', `no job ${name} in the job store`)
    return s.info
  }

  /** Writes a job record iff its revision is `expected`; the new revision or undefined. */
  put(name: string, info: JobInfo, expected: number): Promise<number | undefined> {
    return this.store.put(JobRegistry.jobKey(name, 'info'), JSON.stringify(info), expected)
  }

  /**
   * Applies `change` to the current record until the compare-and-set succeeds (it is called again
   * on a fresh copy after a conflict); `change` returning undefined leaves the record as it is.
   * Returns the record as stored. DISCO_JOB_NOT_FOUND when there is none.
   */
  async update(name: string, change: (info: JobInfo) => JobInfo | undefined): Promise<JobInfo> {
    return (await this.casWrite(name, change)).info
  }

  /** update's loop: the record as stored and its revision. */
  private async casWrite(name: string, change: (info: JobInfo) => JobInfo | undefined): Promise<JobRecordState> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const s = await this.get(name)
      if (!s) throw new DiscoError('DISCO_JOB_NOT_FOUND', `no job ${name} in the job store`)
      const next = change(s.info)
      if (next === undefined) return s
      const revision = await this.put(name, next, s.revision)
      if (revision !== undefined) return { revision, info: next }
    }
    throw new DiscoError('DISCO_STORE_CONFLICT', `job ${name}: ${CAS_TRIES} compare-and-set conflicts in a row`)
  }

  /**
   * Writes the record of a job whose runner calls it: by compare-and-set on `revision` (the one
   * it wrote last, when known: no read first), else on the current revision, so a record removed
   * meanwhile is never written back (DISCO_JOB_NOT_FOUND). Resolves to the new revision.
   */
  async save(name: string, info: JobInfo, revision?: number): Promise<number> {
    if (revision !== undefined) {
      const r = await this.put(name, info, revision)
      if (r !== undefined) return r
    }
    return (await this.casWrite(name, () => info)).revision
  }

  /** Names of all jobs with a record (any order). */
  async names(): Promise<string[]> {
    const out: string[] = []
    for (const key of await this.store.keys('job')) {
      if (!key.endsWith('.info')) continue
      const e = await this.store.get(key)
      if (!e) continue
      try {
        out.push((JSON.parse(e.value) as JobInfo).name)
      } catch { /* a corrupt record: get() reports it */ }
    }
    return out
  }

  /** Every record change of a job (its current record first) until `signal` aborts. */
  async *watch(name: string, signal: AbortSignal): AsyncIterable<JobInfo | undefined> {
    const key = JobRegistry.jobKey(name, 'info')
    for await (const c of this.store.watch(`job.${keyToken(name)}`, signal)) {
      if (c.key !== key) continue
      yield c.value === undefined ? undefined : (JSON.parse(c.value) as JobInfo)
    }
  }

  /** Removes a job's record, kill request and events (its data elsewhere is the caller's). */
  async remove(name: string): Promise<void> {
    await this.store.purge(`job.${keyToken(name)}`)
    await this.store.put(`hb.runner.${keyToken(name)}`, null)
  }

  // ---- task records ----

  /**
   * Records a finished task (replacing an earlier record of the same task): one append to the
   * job's task log, not a key per task (a key is a directory and a few files in the embedded
   * store, written and later purged one by one).
   */
  async putTask(name: string, rec: TaskRecord): Promise<void> {
    await this.store.append(JobRegistry.jobKey(name, 'tasks'), JSON.stringify(rec))
  }

  /** The records of a job's finished tasks (any order; the last record of each task). */
  async tasks(name: string): Promise<TaskRecord[]> {
    const byTask = new Map<string, TaskRecord>()
    const parse = (text: string): void => {
      let rec: TaskRecord
      try {
        rec = JSON.parse(text) as TaskRecord
      } catch (e) {
        throw new DiscoError('DISCO_CORRUPT_STATE', `a task record of job ${name} is not valid JSON`, { cause: e })
      }
      byTask.delete(rec.task) // the newest record of a task, in the order written
      byTask.set(rec.task, rec)
    }
    // Records kept as keys by earlier versions (none for jobs run since): read 32 at a time.
    const keys = await this.store.keys(`job.${keyToken(name)}.task`)
    for (let i = 0; i < keys.length; i += 32) {
      for (const e of await Promise.all(keys.slice(i, i + 32).map((key) => this.store.get(key)))) if (e) parse(e.value)
    }
    for await (const e of this.store.read(JobRegistry.jobKey(name, 'tasks'), 0)) parse(e.data)
    return [...byTask.values()]
  }

  // ---- events ----

  /** Appends a timestamped event to a job's log. */
  log(name: string, message: string): Promise<void> {
    return this.store.append(JobRegistry.jobKey(name, 'events'), JSON.stringify([new Date(this.now()).toISOString(), this.host, message]))
  }

  /** A job's events after position `after` (0: all) and the position to continue from. */
  async events(name: string, after = 0): Promise<{ events: JobEvent[]; next: number }> {
    const events: JobEvent[] = []
    let next = after
    for await (const e of this.store.read(JobRegistry.jobKey(name, 'events'), after)) {
      events.push(JobRegistry.event(e.seq, e.data))
      next = e.seq
    }
    return { events, next }
  }

  /** A job's events after `after`, then new ones as they come, until `signal` aborts. */
  async *follow(name: string, after: number, signal: AbortSignal): AsyncIterable<JobEvent> {
    for await (const e of this.store.read(JobRegistry.jobKey(name, 'events'), after, signal)) yield JobRegistry.event(e.seq, e.data)
  }

  private static event(seq: number, data: string): JobEvent {
    try {
      const [ts, host, message] = JSON.parse(data) as [string, string, string]
      return { seq, ts, host, message }
    } catch {
      return { seq, ts: '', host: '', message: data }
    }
  }

  // ---- kill requests ----

  /** Asks whoever runs a job to kill it. */
  async requestKill(name: string, by = `${this.host}:${process.pid}`): Promise<void> {
    await this.store.put(JobRegistry.jobKey(name, 'kill.request'), JSON.stringify({ at: this.now(), by }))
  }

  /** True when a kill of the job was requested. */
  async killRequested(name: string): Promise<boolean> {
    return (await this.store.get(JobRegistry.jobKey(name, 'kill.request'))) !== undefined
  }

  /** Resolves true when a kill of the job is requested (now or later), false when `signal` aborts first. */
  async whenKilled(name: string, signal: AbortSignal): Promise<boolean> {
    const key = JobRegistry.jobKey(name, 'kill.request')
    // Only the kill request's own prefix: a job's prefix also holds its record and every task
    // record, which a polling store would read again on every look.
    for await (const c of this.store.watch(`job.${keyToken(name)}.kill`, signal)) {
      if (c.key === key && c.value !== undefined) return true
    }
    return false
  }

  // ---- heartbeats ----

  private static hbKey(group: string, id: string): string {
    return `hb.${keyToken(group)}.${keyToken(id)}`
  }

  /** Records that `id` of `group` is alive for the next `ttlMs`. */
  async beat(group: string, id: string, ttlMs: number, data?: unknown): Promise<Heartbeat> {
    const at = this.now()
    const hb = { group, id, at, expires: at + ttlMs, ...(data === undefined ? {} : { data }) }
    await this.store.put(JobRegistry.hbKey(group, id), JSON.stringify(hb))
    return { ...hb, alive: ttlMs > 0 }
  }

  private parseBeat(value: string): Heartbeat | undefined {
    try {
      const hb = JSON.parse(value) as Omit<Heartbeat, 'alive'>
      return { ...hb, alive: hb.expires > this.now() }
    } catch {
      return undefined
    }
  }

  /** The last heartbeat of `id` (alive or expired), or undefined when it never beat or stopped. */
  async heartbeat(group: string, id: string): Promise<Heartbeat | undefined> {
    const e = await this.store.get(JobRegistry.hbKey(group, id))
    return e ? this.parseBeat(e.value) : undefined
  }

  /** The last heartbeats of a group, alive and expired. */
  async heartbeats(group: string): Promise<Heartbeat[]> {
    const out: Heartbeat[] = []
    for (const key of await this.store.keys(`hb.${keyToken(group)}`)) {
      const e = await this.store.get(key)
      const hb = e && this.parseBeat(e.value)
      if (hb) out.push(hb)
    }
    return out
  }

  /** Removes a heartbeat (a clean stop). */
  async stopBeat(group: string, id: string): Promise<void> {
    await this.store.put(JobRegistry.hbKey(group, id), null)
  }

  // ---- leases ----

  private async readLease(name: string): Promise<{ revision: number; lease: Lease } | undefined> {
    const e = await this.store.get(`lease.${keyToken(name)}`)
    if (!e) return undefined
    try {
      return { revision: e.revision, lease: JSON.parse(e.value) as Lease }
    } catch {
      return { revision: e.revision, lease: { name, owner: '', acquired: 0, expires: 0 } } // corrupt: treat as expired
    }
  }

  /**
   * The lease on `name` if someone holds it unexpired, else undefined. With `expired`, also a
   * lease whose holder let it expire without releasing it (it died): who it was and since when.
   */
  async lease(name: string, expired = false): Promise<Lease | undefined> {
    const s = await this.readLease(name)
    return s && (expired || s.lease.expires > this.now()) ? s.lease : undefined
  }

  /**
   * Takes the lease on `name` for `ttlMs` when it is free or expired (or already `owner`'s: then
   * it is extended). Resolves to the lease, or undefined while another owner holds it.
   */
  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const s = await this.readLease(name)
      const now = this.now()
      if (s && s.lease.expires > now && s.lease.owner !== owner) return undefined
      const lease: Lease = { name, owner, acquired: s && s.lease.owner === owner && s.lease.expires > now ? s.lease.acquired : now, expires: now + ttlMs }
      if ((await this.store.put(`lease.${keyToken(name)}`, JSON.stringify(lease), s?.revision ?? 0)) !== undefined) return lease
    }
    return undefined
  }

  /** Extends `owner`'s lease by `ttlMs` from now; undefined when the lease is no longer theirs. */
  async renew(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const s = await this.readLease(name)
      if (!s || s.lease.owner !== owner) return undefined
      const lease: Lease = { ...s.lease, expires: this.now() + ttlMs }
      if ((await this.store.put(`lease.${keyToken(name)}`, JSON.stringify(lease), s.revision)) !== undefined) return lease
    }
    return undefined
  }

  /** Gives up `owner`'s lease; false when it was not theirs (someone else's is left alone). */
  async release(name: string, owner: string): Promise<boolean> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const s = await this.readLease(name)
      if (!s || s.lease.owner !== owner) return false
      if ((await this.store.put(`lease.${keyToken(name)}`, null, s.revision)) !== undefined) return true
    }
    return false
  }
}
