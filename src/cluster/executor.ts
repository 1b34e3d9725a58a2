// Disco's distributed executor on JetStream. The coordinating process (any `disco run --store
// nats://…`) publishes each task attempt to one work-queue stream (`<prefix>-tasks`, subjects
// `<prefix>.task.<job>`), de-duplicated by message id (job, task — which names its phase — and
// attempt). Worker processes (`disco worker`) share one durable pull consumer (`<prefix>-workers`):
// a worker runs the task, stores its outputs in the job data store, writes the task's outcome into
// the job store under `job.<job>.run.<task>.<attempt>`, and only then acks. While a task runs the
// worker tells the server it is still `working()`; a worker that dies stops doing so and the
// server redelivers the task after `ack_wait`, up to `max_deliver` times. The coordinator learns
// every outcome from a watch on the job store (no polling), so the engine starts the reduce phase
// once the store shows every map done; when the server gives up on a task (its max-deliveries
// advisory), the attempt fails with DISCO_TASK_LOST naming the task and its last error.
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { AckPolicy, RetentionPolicy, type ConsumerConfig, type JsMsg } from '@nats-io/jetstream'
import { DiscoError } from '../errors.js'
import { keyToken, type DiscoStores, type Executor, type TaskHooks, type TaskMessage, type TaskResult } from '../disco/index.js'
import { errorFromData, errorToData, type ErrorData } from '../disco/executor.js'
import { runTask } from '../disco/task.js'
import type { ClusterConnection } from './connect.js'
import { transient } from './retry.js'
import { ensureStream } from './streams.js'
import { packSpec, unpackSpec, type storePack } from './pack.js'

/** Default time a worker has to ack or say `working()` before the server redelivers (ms). */
export const ACK_WAIT_MS = 30_000
/** Default deliveries of one task message before the server gives up on it. */
export const MAX_DELIVER = 5
/** Log lines a worker keeps per task attempt (to replay into the job's event log). */
const MAX_LOG_LINES = 200
/** Worker heartbeat period and lifetime in the job store (ms). */
const BEAT_MS = 5_000
const BEAT_TTL_MS = 15_000

/** Names of the stream and consumer of a store's task queue. */
export function queueNames(conn: ClusterConnection): { stream: string; consumer: string; subject: string } {
  return { stream: conn.name('tasks'), consumer: conn.name('workers'), subject: `${conn.config.prefix}.task` }
}

/** The work-queue stream, created on first use. */
export async function ensureTaskStream(conn: ClusterConnection): Promise<void> {
  const q = queueNames(conn)
  await ensureStream(conn, { name: q.stream, subjects: [`${q.subject}.>`], retention: RetentionPolicy.Workqueue, duplicate_window: 120_000_000_000 })
}

/** The shared durable pull consumer of the worker pool, created (or its timing updated) on first use. */
export async function ensureWorkerConsumer(conn: ClusterConnection, opts: { ackWaitMs?: number; maxDeliver?: number } = {}): Promise<void> {
  const q = queueNames(conn)
  const cfg: Partial<ConsumerConfig> = {
    durable_name: q.consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: (opts.ackWaitMs ?? ACK_WAIT_MS) * 1_000_000,
    max_deliver: opts.maxDeliver ?? MAX_DELIVER,
    max_ack_pending: 10_000,
    num_replicas: conn.replicas,
  }
  await transient(async () => {
    const info = await conn.jsm.consumers.info(q.stream, q.consumer).catch((e: Error) => {
      if (/not found/i.test(e.message)) return undefined
      throw e
    })
    if (!info) {
      await conn.jsm.consumers.add(q.stream, cfg).catch((e: Error) => { if (!/already in use|exists/i.test(e.message)) throw e })
    } else if (info.config.ack_wait !== cfg.ack_wait || info.config.max_deliver !== cfg.max_deliver) {
      await conn.jsm.consumers.update(q.stream, q.consumer, { ack_wait: cfg.ack_wait!, max_deliver: cfg.max_deliver! })
    }
  }, { what: `open consumer ${q.consumer}` })
}

/** A task queue message: the attempt, and the job packs its module references name (id → manifest URL). */
export interface TaskEnvelope {
  task: TaskMessage
  packs: Record<string, string>
}

/** The npm package of a bare specifier (`@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`). */
function packageOf(spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/**
 * A bare import of a job or rule module that this worker cannot resolve becomes the fatal
 * DISCO_PACKAGE_MISSING naming the package and where to install it (packs carry only the module's
 * own files).
 */
export function missingPackage(e: unknown, worker: string): unknown {
  const m = e instanceof Error ? /Cannot find (?:package|module) '([^'.\/][^']*)'/.exec(e.message) : null
  if (!m || m[1]!.startsWith('node:')) return e
  const pkg = packageOf(m[1]!)
  const err = new DiscoError('DISCO_PACKAGE_MISSING', `npm package ${pkg} is not installed where disco worker ${worker} runs: a job pack carries only the module's own files, so bare imports must be installed on every worker (npm install ${pkg} there); ${(e as Error).message}`, { cause: e })
  ;(err as DiscoError & { fatal?: boolean }).fatal = true
  return err
}

/** The job store key of one task attempt's outcome. */
export function runKey(job: string, task: string, attempt: number): string {
  return `job.${keyToken(job)}.run.${keyToken(task)}.${attempt}`
}

/** What a worker writes about one attempt: started (by whom), done, or failed. */
export type RunRecord =
  | { state: 'running'; worker: string; delivery: number; at: string }
  | { state: 'done'; worker: string; delivery: number; result: TaskResult; logs: string[] }
  | { state: 'failed'; worker: string; delivery: number; error: ErrorData; logs: string[] }

interface Pending {
  key: string
  seq?: number
  task: TaskMessage
  hooks: TaskHooks
  resolve: (r: TaskResult) => void
  reject: (e: unknown) => void
  last?: RunRecord
}

/**
 * The coordinator's side: implements Disco's {@link Executor} by publishing task attempts to the
 * work queue and waiting for their outcomes in the job store.
 *
 * @example
 * const ex = await ClusterExecutor.open(conn, stores)
 * const h = await runJob(spec, { store: stores, executor: ex }); await h.wait(); await ex.close()
 */
export class ClusterExecutor implements Executor {
  /** Attempts in flight at once: the queue holds them; workers decide how many run. */
  readonly concurrency: number
  private readonly pending = new Map<string, Pending>()
  private readonly watching = new Set<string>()
  private readonly stop = new AbortController()
  private readonly packs = new Map<string, ReturnType<typeof storePack>>()
  private advisory?: { unsubscribe(): void }

  private constructor(private readonly conn: ClusterConnection, private readonly stores: DiscoStores, concurrency: number) {
    this.concurrency = concurrency
  }

  /** Opens the task stream and listens for the server giving up on a task. */
  static async open(conn: ClusterConnection, stores: DiscoStores, opts: { concurrency?: number } = {}): Promise<ClusterExecutor> {
    await ensureTaskStream(conn)
    const ex = new ClusterExecutor(conn, stores, opts.concurrency ?? 256)
    const q = queueNames(conn)
    const sub = conn.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${q.stream}.${q.consumer}`, {
      callback: (err, m) => { if (!err) void ex.gaveUp(m.json<{ stream_seq: number; deliveries: number }>()) },
    })
    ex.advisory = sub
    return ex
  }

  /** The server stopped delivering a message: fail its attempt with the last thing we know. */
  private async gaveUp(a: { stream_seq: number; deliveries: number }): Promise<void> {
    const p = [...this.pending.values()].find((x) => x.seq === a.stream_seq)
    if (!p) return
    const q = queueNames(this.conn)
    await this.conn.jsm.streams.deleteMessage(q.stream, a.stream_seq).catch(() => false)
    // A worker may have finished just as the server gave up: its outcome wins.
    const e = await this.stores.jobs.store.get(p.key).catch(() => undefined)
    if (e) this.settle(p, JSON.parse(e.value) as RunRecord)
    if (!this.pending.has(p.key)) return
    this.pending.delete(p.key)
    const last = p.last ?? (e ? (JSON.parse(e.value) as RunRecord) : undefined)
    const why = last?.state === 'running' ? `worker ${last.worker} stopped during delivery ${last.delivery} without finishing (killed or lost)` : 'no worker reported starting it'
    const err = new DiscoError('DISCO_TASK_LOST', `task ${p.task.task.id} of job ${p.task.job} was delivered ${a.deliveries} times (max_deliver) without finishing; last error: ${why}`)
    ;(err as DiscoError & { fatal?: boolean }).fatal = true
    p.reject(err)
  }

  private settle(p: Pending, rec: RunRecord): void {
    p.last = rec
    if (rec.state === 'running') return
    this.pending.delete(p.key)
    for (const l of rec.logs) p.hooks.log(l)
    if (rec.state === 'done') {
      if (p.task.kind === 'map') p.hooks.progress(rec.result.records)
      p.resolve(rec.result)
    } else {
      p.reject(errorFromData(rec.error))
    }
  }

  /** One watch per job over its attempts' outcomes, for as long as the executor is open. */
  private watch(job: string): void {
    if (this.watching.has(job)) return
    this.watching.add(job)
    const prefix = `job.${keyToken(job)}.run`
    void (async () => {
      for (;;) {
        try {
          for await (const c of this.stores.jobs.store.watch(prefix, this.stop.signal)) {
            const p = this.pending.get(c.key)
            if (p && c.value !== undefined) this.settle(p, JSON.parse(c.value) as RunRecord)
          }
          return
        } catch {
          if (this.stop.signal.aborted) return
          await new Promise((r) => setTimeout(r, 500)) // the watch broke (e.g. a reconnect): resume it
        }
      }
    })()
  }

  run(task: TaskMessage, hooks: TaskHooks, signal: AbortSignal): Promise<TaskResult> {
    if (signal.aborted) return Promise.reject(new DiscoError('DISCO_JOB_KILLED', 'the job was killed'))
    const key = runKey(task.job, task.task.id, task.attempt)
    return new Promise<TaskResult>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(key)
        reject(new DiscoError('DISCO_JOB_KILLED', 'the job was killed'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      const p: Pending = {
        key, task, hooks,
        resolve: (r) => { signal.removeEventListener('abort', onAbort); resolve(r) },
        reject: (e) => { signal.removeEventListener('abort', onAbort); reject(e) },
      }
      this.pending.set(key, p)
      this.watch(task.job)
      const q = queueNames(this.conn)
      const msgID = `${task.job}|${task.task.id}|${task.attempt}${task.resume ? `|r${task.resume}` : ''}`
      packSpec(this.stores.data, task.spec, this.packs)
        .then(({ spec, packs }) => {
          const body = JSON.stringify({ task: { ...task, spec }, packs } satisfies TaskEnvelope)
          return transient(() => this.conn.js.publish(`${q.subject}.${keyToken(task.job)}`, body, { msgID }), { what: `queue task ${task.task.id}` })
        })
        .then((ack) => { p.seq = ack.seq }, (e: unknown) => {
          if (!this.pending.has(key)) return
          this.pending.delete(key)
          p.reject(e)
        })
    })
  }

  async close(): Promise<void> {
    this.stop.abort()
    this.advisory?.unsubscribe()
    for (const p of this.pending.values()) p.reject(new DiscoError('DISCO_JOB_KILLED', 'the executor was closed'))
    this.pending.clear()
  }
}

/** Options of {@link ClusterWorker}. */
export interface WorkerOptions {
  /** Tasks run at once (default 1). */
  concurrency?: number
  ackWaitMs?: number
  maxDeliver?: number
  /** Where the worker reports (one line each). */
  log?: (line: string) => void
  /** Test hook: the worker process dies (SIGKILL) when it starts this task id on a first delivery (`<id>*`: on any delivery). */
  dieAt?: string
}

/**
 * The worker's side: pulls tasks from the shared consumer and runs them against the stores, at
 * most `concurrency` at once, until {@link ClusterWorker.stop}.
 *
 * @example
 * const w = new ClusterWorker(conn, stores, { concurrency: 2 }); await w.start(); … await w.stop()
 */
export class ClusterWorker {
  readonly id: string
  private readonly concurrency: number
  private readonly running = new Map<string, { msg: JsMsg; ctl: AbortController; done: Promise<void> }>()
  private stopping = false
  private loop?: Promise<void>
  private beat?: NodeJS.Timeout
  private wake?: () => void
  private readonly say: (line: string) => void

  constructor(private readonly conn: ClusterConnection, private readonly stores: DiscoStores, private readonly opts: WorkerOptions = {}) {
    this.id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.concurrency = Math.max(1, opts.concurrency ?? 1)
    this.say = opts.log ?? (() => {})
  }

  /** Opens the queue and starts pulling. */
  async start(): Promise<void> {
    await ensureTaskStream(this.conn)
    await ensureWorkerConsumer(this.conn, { ...(this.opts.ackWaitMs ? { ackWaitMs: this.opts.ackWaitMs } : {}), ...(this.opts.maxDeliver ? { maxDeliver: this.opts.maxDeliver } : {}) })
    await this.heartbeat()
    this.beat = setInterval(() => { void this.heartbeat().catch(() => {}) }, BEAT_MS)
    this.loop = this.pull()
    this.say(`worker ${this.id} started (concurrency ${this.concurrency})`)
  }

  private heartbeat(): Promise<unknown> {
    return this.stores.jobs.beat('worker', this.id, BEAT_TTL_MS, {
      host: hostname(), pid: process.pid, concurrency: this.concurrency, running: [...this.running.keys()],
    })
  }

  private async pull(): Promise<void> {
    const q = queueNames(this.conn)
    const consumer = await transient(() => this.conn.js.consumers.get(q.stream, q.consumer), { what: `open consumer ${q.consumer}` })
    while (!this.stopping) {
      const free = this.concurrency - this.running.size
      if (free <= 0) {
        await new Promise<void>((r) => { this.wake = r })
        continue
      }
      try {
        const batch = await consumer.fetch({ max_messages: free, expires: 2_000 })
        for await (const m of batch) {
          if (this.stopping) { m.nak(); continue }
          this.begin(m)
        }
      } catch (e) {
        if (this.stopping) break
        this.say(`worker ${this.id}: pulling tasks failed (${(e as Error).message}); retrying`)
        await new Promise((r) => setTimeout(r, 500))
      }
    }
  }

  private begin(m: JsMsg): void {
    let task: TaskMessage
    let packs: Record<string, string>
    try {
      ({ task, packs } = m.json<TaskEnvelope>())
      if (!task?.task?.id) throw new Error('not a task')
    } catch {
      m.term()
      return
    }
    const key = runKey(task.job, task.task.id, task.attempt)
    const ctl = new AbortController()
    const done = this.runOne(m, task, packs ?? {}, key, ctl.signal).catch((e: unknown) => {
      this.say(`worker ${this.id}: ${task.task.id} of ${task.job}: ${(e as Error).message} (left for redelivery)`)
    }).finally(() => {
      this.running.delete(key)
      this.wake?.()
    })
    this.running.set(key, { msg: m, ctl, done })
  }

  private async runOne(m: JsMsg, task: TaskMessage, packs: Record<string, string>, key: string, signal: AbortSignal): Promise<void> {
    const jobs = this.stores.jobs
    const delivery = m.info.deliveryCount
    // A job that is gone or over (killed, failed) is not worth running.
    const job = await jobs.get(task.job)
    if (!job || job.info.status !== 'active') {
      m.term()
      return
    }
    const prev = await jobs.store.get(key)
    if (prev && (JSON.parse(prev.value) as RunRecord).state !== 'running') {
      m.ack() // an earlier delivery finished; its outcome is recorded
      return
    }
    await jobs.store.put(key, JSON.stringify({ state: 'running', worker: this.id, delivery, at: new Date().toISOString() } satisfies RunRecord))
    if (this.opts.dieAt === task.task.id && delivery === 1 || this.opts.dieAt === `${task.task.id}*`) process.kill(process.pid, 'SIGKILL')
    const keepAlive = setInterval(() => m.working(), Math.max(1_000, Math.floor((this.opts.ackWaitMs ?? ACK_WAIT_MS) / 3)))
    const logs: string[] = []
    if (delivery > 1) {
      const was = prev ? (JSON.parse(prev.value) as RunRecord) : undefined
      logs.push(`${task.task.id}: delivery ${delivery} to worker ${this.id}${was ? ` (worker ${was.worker} did not finish delivery ${was.delivery})` : ''}`)
    }
    const hooks: TaskHooks = {
      log: (line) => { if (logs.length < MAX_LOG_LINES) logs.push(line) },
      progress: () => { m.working() },
    }
    let rec: RunRecord
    try {
      const spec = await unpackSpec(this.stores.data, task.spec, packs)
      const result = await runTask({ ...task, spec }, hooks, this.stores, signal)
      rec = { state: 'done', worker: this.id, delivery, result, logs }
    } catch (e) {
      if (signal.aborted) {
        m.nak()
        return
      }
      rec = { state: 'failed', worker: this.id, delivery, error: errorToData(missingPackage(e, this.id)), logs }
    } finally {
      clearInterval(keepAlive)
    }
    // The outputs are stored: record the outcome, then ack (a crash in between redelivers, and
    // the redelivery finds the outcome and only acks).
    await jobs.store.put(key, JSON.stringify(rec))
    await m.ackAck().catch(() => m.ack())
  }

  /**
   * Stops pulling; lets running tasks finish for up to `graceMs`, then hands the rest back to the
   * queue (nak) for other workers. Resolves to the number of tasks handed back (their code may
   * still be running in this process: exit it).
   */
  async stop(graceMs = 20_000): Promise<number> {
    this.stopping = true
    this.wake?.()
    const all = Promise.all([...this.running.values()].map((r) => r.done))
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([all.then(() => false), new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs) })])
    clearTimeout(timer)
    const handed = late ? [...this.running.values()] : []
    for (const r of handed) {
      r.ctl.abort()
      r.msg.nak()
    }
    await this.loop?.catch(() => {})
    clearInterval(this.beat)
    await this.stores.jobs.stopBeat('worker', this.id).catch(() => {})
    this.say(`worker ${this.id} stopped${handed.length ? `, handed back ${handed.length} task(s): ${[...this.running.keys()].join(', ')}` : ''}`)
    return handed.length
  }
}
