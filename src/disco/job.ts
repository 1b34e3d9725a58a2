// The engine: runs a job's plan on an executor, phase by phase (all map tasks, then one reduce
// task per partition), retrying failed attempts with capped exponential back-off and jitter. All
// state lives behind the job's stores: the record and event log in the job registry (written by
// compare-and-set), map outputs and results in the job data store, a runner heartbeat with an
// expiry that tells everyone else whether the job is still alive, and kill requests the runner
// watches for.
import { hostname } from 'node:os'
import { DiscoError } from '../errors.js'
import { DEFAULT_MAX_LINE, LineSplitter, throwTooLong, type LineSink } from '../ddfs/lines.js'
import { blobFileName } from '../ddfs/names.js'
import { MinHeap } from '../util/heap.js'
import { InProcessExecutor, WorkerPoolExecutor, isFatal, type Executor } from './executor.js'
import { expandInputs } from './inputs.js'
import { jobName, normalizeSpec, planJob, retryDelay } from './plan.js'
import { decodePairLines } from './records.js'
import { dataBlobName, dataBlobPrefix, openLocalStores, type DiscoStores } from './stores.js'
import type { JobEvent, JobRecordState } from './registry.js'
import type {
  JobInfo, JobPlan, JobProgress, JobSpec, MapTaskPlan, NormalizedSpec, ReduceTaskPlan, TaskMessage, TaskRecord, TaskResult,
} from './types.js'

/** A store: its directory (the embedded stores of `openLocalStores`) or opened stores. */
export type StoreRef = string | DiscoStores

/** The stores of a reference: a directory opens the embedded stores there. */
export function storesOf(store: StoreRef): DiscoStores {
  if (typeof store === 'string') {
    if (store === '') throw new DiscoError('DISCO_BAD_SPEC', 'expected a store directory or opened stores, found an empty string')
    return openLocalStores(store)
  }
  return store
}

/** Default lifetime of the runner's heartbeat; it beats every third of it. */
export const DEFAULT_HEARTBEAT_MS = 15_000

function heartbeatDefault(): number {
  const env = Number(process.env.DISCO_HEARTBEAT_MS)
  return Number.isInteger(env) && env > 0 ? env : DEFAULT_HEARTBEAT_MS
}

/** Options of {@link runJob}. */
export interface JobRunOptions {
  /** The store directory (e.g. `./.disco`) or opened stores (`openLocalStores`, a cluster's). */
  store: StoreRef
  /**
   * Default: a new {@link WorkerPoolExecutor} sized to the cores (embedded store factory),
   * closed when the job ends; `in-process` runs tasks in this thread on the given stores.
   */
  executor?: Executor | 'in-process'
  /** Called as tasks finish and as records are processed (at most every ~100 ms per task). */
  onProgress?: (p: JobProgress) => void
  /** Directory that relative module paths are resolved against (default `process.cwd()`). */
  cwd?: string
  /**
   * Lifetime of the runner's heartbeat in ms (default `$DISCO_HEARTBEAT_MS` or 15000): a job
   * whose runner has not beaten for that long is reported dead (DISCO_RUNNER_LOST).
   */
  heartbeatMs?: number
}

/** A started job. */
export interface JobHandle {
  readonly name: string
  /** Resolves with the final record when ready; rejects with the job's error when dead. */
  wait(): Promise<JobInfo>
  /** Stops the job (its status becomes dead, code DISCO_JOB_KILLED); resolves when it stopped. */
  kill(): Promise<void>
  /** The current record. */
  info(): Promise<JobInfo>
  /** The results as (key, value) pairs, merged in key order (see {@link jobResults}). */
  results(): AsyncGenerator<[string, unknown]>
  /** The same results, an array of pairs at a time (see {@link jobResultBatches}). */
  resultBatches(): AsyncGenerator<[string, unknown][]>
  /**
   * The records of the job's finished tasks in plan order, as {@link jobTasks} reads them from the
   * job store; those this process wrote for a job it ran to the end, without reading them back.
   */
  tasks(): Promise<TaskRecord[]>
}

/** Jobs running in this process, so kill() reaches them directly. */
const running = new Map<string, { abort: AbortController; done: Promise<unknown> }>()

/**
 * Starts a job: checks the spec, expands `tag://` inputs, creates the job record (status
 * `active`) and runs it in the background. Errors in the spec reject here; errors while running
 * make the job `dead` and reject `wait()`.
 *
 * @example
 * const job = await runJob({ inputs: ['raw://a b a'], map: { module: './wc.js', export: 'map' },
 *   reduce: { module: './wc.js', export: 'reduce' } }, { store: '.disco' })
 * await job.wait()
 * for await (const [word, n] of job.results()) console.log(word, n) // a 2, b 1
 */
export async function runJob(spec: JobSpec, opts: JobRunOptions): Promise<JobHandle> {
  const stores = storesOf(opts.store)
  const nspec = normalizeSpec(spec, opts.cwd ?? process.cwd())
  warm(opts.executor, nspec)
  const inputs = await expandInputs(nspec.inputs, stores.ddfs)
  const ttl = opts.heartbeatMs ?? heartbeatDefault()
  const micros = stores.jobs.now() * 1000 + Number(process.hrtime.bigint() % 1000n)
  const now = new Date(stores.jobs.now()).toISOString()
  const host = hostname()
  let record: JobInfo | undefined
  const name = await stores.jobs.create((bump) => jobName(nspec.prefix, micros, bump), (name) => (record = {
    name, status: 'active', spec: nspec, created: now, updated: now, host, pid: process.pid, heartbeatMs: ttl,
    tasks: { map: inputs.length, reduce: nspec.partitions, done: 0, failed: 0 }, records: 0,
  }))
  // The expanded inputs are stored (so that a resumed job plans the very same tasks) while the
  // first map tasks start; the record as stored is the one just made (a JSON copy). No heartbeat
  // yet: a runner that has not beaten counts as alive for a heartbeat's lifetime from the record's
  // creation (runnerAlive), and its first beat comes a third of that later, so a job that ends
  // sooner writes (and leaves) no heartbeat key at all.
  const plan = planJob(name, nspec.partitions, inputs)
  const saving = stores.data.put(dataBlobName(name, 'inputs'), Buffer.from(JSON.stringify(inputs)), { replace: true }).then((b) => b.url)
  saving.catch(() => {}) // awaited by the run (a failure fails the job)
  await stores.jobs.log(name, `job ${name} started: ${plan.mapTasks.length} map tasks, ${plan.partitions} partitions`)
  return start(stores, plan, JSON.parse(JSON.stringify(record)) as JobInfo, opts, ttl, new Map(), saving, false)
}

/**
 * Has a given worker pool start its threads and import the job's modules now, so that they boot
 * while the job is recorded and planned instead of after (a pool started already only imports).
 */
function warm(executor: JobRunOptions['executor'], spec: NormalizedSpec): void {
  if (!(executor instanceof WorkerPoolExecutor)) return
  const fns = [spec.map, spec.combiner, spec.reduce, spec.partitioner]
  executor.start().preload([...new Set(fns.flatMap((f) => (f ? [f.module] : [])))])
}

/**
 * Runs a job whose record is written (and whose runner beat already when `beaten`): in the
 * background, as a handle.
 */
function start(
  stores: DiscoStores, plan: JobPlan, info: JobInfo, opts: JobRunOptions, ttl: number, reused: Map<string, TaskResult>, inputsUrl: Promise<string>, beaten: boolean,
): JobHandle {
  const name = info.name
  const abort = new AbortController()
  let executor: Executor
  let owned = false
  if (opts.executor === 'in-process') executor = new InProcessExecutor(1, { stores: () => stores })
  else if (opts.executor) executor = opts.executor
  else {
    executor = new WorkerPoolExecutor()
    owned = true
  }
  const records = new Map<string, TaskRecord>()
  const done = execute({ stores, plan, spec: info.spec, info, executor, abort, ttl, onProgress: opts.onProgress, reused, inputsUrl, records, beaten })
    .finally(() => {
      running.delete(name)
      // The pool's idle threads end in the background (they never hold the process): the job's
      // outcome is known and stored, so wait() does not wait for threads to exit.
      if (owned) executor.close().catch(() => {})
    })
  done.catch(() => {}) // surfaced through wait()
  // The record as this runner saved it when the job ended ready: its results are read without
  // reading the record back (before wait() resumes its caller: this callback came first).
  let ready: JobInfo | undefined
  done.then((i) => { ready = i }, () => {})
  const batches = (): AsyncGenerator<[string, unknown][]> => (ready ? readyBatches(stores, ready) : jobResultBatches(stores, name))
  running.set(name, { abort, done })
  return {
    name,
    wait: () => done,
    kill: async () => {
      abort.abort()
      await done.catch(() => {})
    },
    info: () => jobInfo(stores, name),
    results: async function* () {
      for await (const batch of batches()) yield* batch
    },
    resultBatches: batches,
    tasks: async () => {
      const all = [...plan.mapTasks, ...plan.reduceTasks]
      const ready = await done.then(() => true, () => false)
      // Every task's record written by this process (none reused from an earlier runner): in plan order.
      if (ready && all.every((t) => records.has(t.id))) return all.map((t) => records.get(t.id)!)
      return jobTasks(stores, name)
    },
  }
}

/**
 * Finishes a job whose runner died (an `active` job reported dead with DISCO_RUNNER_LOST, on any
 * host): takes the job over by compare-and-set on its record (so two resumers never both run it),
 * beats as its runner, reuses every finished task whose outputs are still stored (their records in
 * the job store) and runs the rest; attempts still running or finished on cluster workers are
 * picked up, not run again. The results are those a run without the failure gives.
 * DISCO_JOB_NOT_RESUMABLE when the job is ready, dead for another reason (killed or failed:
 * run it again), or its runner is alive.
 *
 * @example
 * const job = await resumeJob('.disco', 'wc@6a4:0:1') // after the process running it was killed
 * await job.wait()
 */
export async function resumeJob(name: string, opts: JobRunOptions): Promise<JobHandle> {
  const stores = storesOf(opts.store)
  const ttl = opts.heartbeatMs ?? heartbeatDefault()
  const host = hostname()
  const not = (why: string): DiscoError => new DiscoError('DISCO_JOB_NOT_RESUMABLE', `job ${name} ${why}`)
  /** The record, when the job is one to resume. */
  const resumable = async (): Promise<JobRecordState> => {
    const s = await stores.jobs.get(name)
    if (!s) throw new DiscoError('DISCO_JOB_NOT_FOUND', `no job ${name} in the job store`)
    const cur = s.info
    if (cur.status === 'ready') throw not('is ready: nothing to resume')
    if (cur.status === 'dead') throw not(`is dead (${cur.error?.code ?? 'unknown'}): only a job whose runner died while it was active can be resumed; run it again`)
    if (running.has(name) || (await runnerAlive(stores, cur))) throw not(`is running: its runner (${cur.host}, pid ${cur.pid}) is alive`)
    return s
  }
  await resumable()
  // Finished tasks count when every output they recorded is still stored.
  const stored = new Set<string>()
  let inputsUrl: string | undefined
  for await (const b of stores.data.list()) {
    stored.add(b.url)
    if (blobFileName(b.url) === dataBlobName(name, 'inputs')) inputsUrl = b.url
  }
  let inputs: string[]
  try {
    if (inputsUrl === undefined) throw new Error('not found')
    const parts: Buffer[] = []
    for await (const c of await stores.data.get(inputsUrl)) parts.push(Buffer.from(c))
    inputs = JSON.parse(Buffer.concat(parts).toString()) as string[]
  } catch (e) {
    throw not(`cannot be resumed: its expanded inputs are not in the job data store (${(e as Error).message})`)
  }
  // Take the job over by compare-and-set on the record as read: of two resumers, one wins. The
  // runner's heartbeat is written first, so a resumer that loses the race then finds it alive.
  let info: JobInfo | undefined
  let lost = ''
  for (let i = 0; i < 100 && !info; i++) {
    const s = await resumable()
    lost = `${s.info.host}, pid ${s.info.pid}`
    await stores.jobs.beat('runner', name, ttl, { host, pid: process.pid })
    const now = new Date(stores.jobs.now()).toISOString()
    const next: JobInfo = { ...s.info, host, pid: process.pid, heartbeatMs: ttl, updated: now, resumes: (s.info.resumes ?? 0) + 1 }
    if ((await stores.jobs.put(name, next, s.revision)) !== undefined) info = next
  }
  if (!info) throw new DiscoError('DISCO_STORE_CONFLICT', `job ${name}: its record kept changing while it was taken over`)
  const plan = planJob(name, info.spec.partitions, inputs)
  const reused = new Map<string, TaskResult>()
  const recs = await stores.jobs.tasks(name)
  // A reduced partition's map outputs were deleted with it: a map task is done when its outputs
  // for the partitions still to reduce are stored.
  const reducedParts = new Set(plan.reduceTasks.filter((t) => recs.some((r) => r.task === t.id && r.blobs.every((b) => stored.has(b.url)))).map((t) => t.partition))
  for (const r of recs) {
    const isMap = r.task.startsWith('map:')
    if (r.blobs.every((b) => stored.has(b.url) || (isMap && reducedParts.has(b.partition)))) {
      reused.set(r.task, { records: r.records, outputs: r.outputs, blobs: r.blobs, ...(r.stats === undefined ? {} : { stats: r.stats }) })
    }
  }
  const maps = plan.mapTasks.filter((t) => reused.has(t.id)).length
  const reduces = plan.reduceTasks.filter((t) => reused.has(t.id)).length
  info.records = plan.mapTasks.reduce((n, t) => n + (reused.get(t.id)?.records ?? 0), 0)
  info.tasks = { ...info.tasks, done: maps + reduces }
  await stores.jobs.log(name, `job ${name} resumed (resume ${info.resumes}; runner ${lost} lost): ${maps} of ${plan.mapTasks.length} map tasks and ${reduces} of ${plan.reduceTasks.length} reduce tasks already done`)
  return start(stores, plan, info, opts, ttl, reused, Promise.resolve(inputsUrl), true)
}

interface Run {
  stores: DiscoStores
  plan: JobPlan
  spec: NormalizedSpec
  info: JobInfo
  executor: Executor
  abort: AbortController
  ttl: number
  onProgress?: ((p: JobProgress) => void) | undefined
  /** Attempts still running (awaited before the job's data is cleaned up). */
  inflight?: Set<Promise<unknown>>
  /** Results of tasks a resumed job does not run again (by task id). */
  reused: Map<string, TaskResult>
  /** The stored expanded inputs, once stored (deleted with the map outputs when the job ends). */
  inputsUrl: Promise<string>
  /** Stored input bytes read by finished map tasks (for progress). */
  bytes?: number
  /** The task records this runner wrote, by task id. */
  records: Map<string, TaskRecord>
  /** True once a heartbeat of this runner was written (a job that never beat has none to remove). */
  beaten: boolean
  /** The revision of the record as this runner saved it last. */
  revision?: number
}

/** How long cleanup waits for attempts that ignore the abort (in-process tasks mid-record). */
const SETTLE_MS = 10_000

async function execute(run: Run): Promise<JobInfo> {
  const { stores, plan, spec, info } = run
  const name = info.name
  const started = Date.now()
  run.inflight = new Set()
  // One beat at a time (a slow store skips beats rather than piling them up), and the one in flight
  // is awaited before the heartbeat is removed: it would otherwise write the finished job's
  // heartbeat back after its removal.
  let beating: Promise<unknown> | undefined
  const beat = setInterval(() => {
    run.beaten = true
    beating ??= stores.jobs.beat('runner', name, run.ttl, { host: info.host, pid: info.pid }).catch(() => {}).finally(() => { beating = undefined })
  }, Math.max(10, run.ttl / 3))
  beat.unref()
  const watching = new AbortController()
  stores.jobs.whenKilled(name, watching.signal).then((killed) => { if (killed) run.abort.abort() }, () => {})
  const made: string[] = [] // data blobs written (inputs, map outputs and results)
  for (const r of run.reused.values()) for (const b of r.blobs) made.push(b.url)
  const resume = info.resumes ? { resume: info.resumes } : {}
  try {
    const mapping = runPhase(run, 'map', plan.mapTasks, (t, attempt) => ({
      kind: 'map', job: name, store: stores.ref, spec, task: t as MapTaskPlan, attempt, ...resume,
    }), started, made)
    mapping.catch(() => {}) // awaited below
    // The expanded inputs finish being stored while the first map tasks run.
    let inputsUrl: string
    try {
      inputsUrl = await run.inputsUrl
    } catch (e) {
      run.abort.abort()
      throw e
    }
    made.push(inputsUrl)
    const maps = await mapping
    const inputsOf = (p: number): string[] => plan.mapTasks.flatMap((t) => maps.get(t.id)!.blobs.filter((b) => b.partition === p).map((b) => b.url))
    // A partition's map outputs are deleted once its reduce task is recorded, while the other
    // reduce tasks run (a resumed job re-runs no map task for a partition already reduced).
    const reduced = new Set<number>()
    const deleting: Promise<unknown>[] = []
    const reduces = await runPhase(run, 'reduce', plan.reduceTasks, (t, attempt) => ({
      kind: 'reduce', job: name, store: stores.ref, spec, task: t as ReduceTaskPlan, inputs: inputsOf((t as ReduceTaskPlan).partition), attempt, ...resume,
    }), started, made, (t) => {
      const p = (t as ReduceTaskPlan).partition
      reduced.add(p)
      const d = deleteData(stores, inputsOf(p))
      d.catch(() => {}) // awaited below (a failure fails the job there)
      deleting.push(d)
    }).finally(() => Promise.allSettled(deleting))
    const results = plan.reduceTasks.flatMap((t) => reduces.get(t.id)!.blobs.map((b) => b.url))
    info.results = results
    info.outputs = plan.reduceTasks.reduce((n, t) => n + reduces.get(t.id)!.outputs, 0)
    await Promise.all(deleting)
    const left = plan.mapTasks.flatMap((t) => maps.get(t.id)!.blobs.filter((b) => !reduced.has(b.partition)).map((b) => b.url))
    await deleteData(stores, [inputsUrl, ...left])
    if (spec.save !== undefined) {
      run.onProgress?.({ job: name, phase: 'save', done: 0, total: results.length, records: info.records, bytes: run.bytes ?? 0, elapsedMs: Date.now() - started })
      info.savedTag = await saveResults(stores, spec.save || `disco:results:${name}`, results, name)
      await stores.jobs.log(name, `results saved under tag ${info.savedTag}`)
    }
    // The last event is logged before the status changes, so whoever sees the job over (wait,
    // events --follow) also sees its last event.
    await stores.jobs.log(name, `READY: Job done in ${((Date.now() - started) / 1000).toFixed(3)} s`)
    info.status = 'ready'
    await saveInfo(run)
    return info
  } catch (e) {
    const err = jobError(e)
    await settle(run.inflight)
    await deleteData(stores, made).catch(() => {})
    delete info.results
    info.status = 'dead'
    info.error = { code: err.code, message: err.message }
    if (err.stack) info.error.stack = err.stack
    await stores.jobs.log(name, `DEAD: ${err.code}: ${err.message}`)
    await saveInfo(run)
    throw err
  } finally {
    clearInterval(beat)
    watching.abort()
    await beating
    if (run.beaten) await stores.jobs.stopBeat('runner', name).catch(() => {})
  }
}

/** Waits (bounded) for attempts still running, so nothing they store outlives the cleanup. */
async function settle(inflight: Set<Promise<unknown>> | undefined): Promise<void> {
  if (!inflight || inflight.size === 0) return
  let t: NodeJS.Timeout | undefined
  await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => { t = setTimeout(r, SETTLE_MS) })])
  clearTimeout(t)
}

/** Writes the engine's view of the record (the runner is its only writer while it is active). */
async function saveInfo(run: Run): Promise<void> {
  const { stores, info } = run
  info.updated = new Date(stores.jobs.now()).toISOString()
  // Against the revision it wrote last (no read first), else the current one.
  run.revision = await stores.jobs.save(info.name, { ...info }, run.revision)
}

async function deleteData(stores: DiscoStores, urls: readonly string[]): Promise<void> {
  // A store with a batch delete (the embedded one looks at its directories once for the batch).
  if (stores.data.deleteAll) return stores.data.deleteAll(urls)
  // A job has many map outputs (tasks × partitions): deleted 32 at a time.
  for (let i = 0; i < urls.length; i += 32) await Promise.all(urls.slice(i, i + 32).map((u) => stores.data.delete(u)))
}

/** Copies the result blobs into DDFS (named `<job>-<partition>.ndjson`) and appends them to `tag`. */
async function saveResults(stores: DiscoStores, tag: string, results: readonly string[], job: string): Promise<string> {
  const items = []
  for (const [i, url] of results.entries()) items.push({ name: `${job}-${i}.ndjson`, data: await stores.data.get(url) })
  await stores.ddfs.push(tag, items)
  return tag
}

function jobError(e: unknown): DiscoError {
  if (e instanceof DiscoError) return e
  return new DiscoError('DISCO_TASK_FAILED', (e as Error)?.message ?? String(e), { cause: e })
}

type TaskPlan = MapTaskPlan | ReduceTaskPlan

/**
 * Runs every task of a phase, at most `executor.concurrency` at once, retrying failures; resolves
 * with each task's result by task id. Input records are counted once per map task, from its
 * successful attempt (a failed attempt's progress is dropped). `recorded` is told of each task
 * run here once its record is written.
 */
function runPhase(
  run: Run, phase: 'map' | 'reduce', tasks: readonly TaskPlan[], message: (t: TaskPlan, attempt: number) => TaskMessage,
  started: number, made: string[], recorded?: (t: TaskPlan) => void,
): Promise<Map<string, TaskResult>> {
  const { executor, spec, info, stores, abort } = run
  const name = info.name
  const results = new Map<string, TaskResult>()
  for (const t of tasks) {
    const r = run.reused.get(t.id)
    if (r) results.set(t.id, r)
  }
  const queue: { task: TaskPlan; attempt: number }[] = tasks.filter((t) => !results.has(t.id)).map((task) => ({ task, attempt: 1 }))
  const live = new Map<string, number>() // records seen by running map attempts
  const liveBytes = new Map<string, number>() // stored input bytes read by running map attempts
  let outstanding = queue.length
  let active = 0
  let done = results.size
  let lastSave = 0
  const records = (): number => {
    let n = info.records
    for (const v of live.values()) n += v
    return n
  }
  const bytes = (): number => {
    let n = run.bytes ?? 0
    for (const v of liveBytes.values()) n += v
    return n
  }
  const report = (): void =>
    run.onProgress?.({ job: name, phase, done, total: tasks.length, records: records(), bytes: bytes(), elapsedMs: Date.now() - started })
  return new Promise<Map<string, TaskResult>>((resolve, reject) => {
    let failed = false
    const fail = (e: unknown): void => {
      if (failed) return
      failed = true
      abort.abort()
      reject(e)
    }
    const onAbort = (): void => fail(new DiscoError('DISCO_JOB_KILLED', 'the job was killed'))
    if (abort.signal.aborted) return onAbort()
    abort.signal.addEventListener('abort', onAbort, { once: true })
    const pump = (): void => {
      if (failed) return
      if (outstanding === 0) {
        abort.signal.removeEventListener('abort', onAbort)
        report()
        resolve(results)
        return
      }
      while (active < executor.concurrency && queue.length > 0) start(queue.shift()!)
    }
    const start = ({ task, attempt }: { task: TaskPlan; attempt: number }): void => {
      active++
      const key = `${task.id}#${attempt}`
      const hooks = {
        log: (m: string) => { stores.jobs.log(name, m).catch(() => {}) },
        progress: (n: number, b?: number) => {
          if (phase !== 'map') return
          live.set(key, (live.get(key) ?? 0) + n)
          if (b) liveBytes.set(key, (liveBytes.get(key) ?? 0) + b)
          report()
        },
      }
      const attemptStart = Date.now()
      const p = executor.run(message(task, attempt), hooks, abort.signal)
      run.inflight!.add(p)
      p.finally(() => run.inflight!.delete(p)).catch(() => {})
      p.then(
        async (res) => {
          active--
          live.delete(key)
          const read = liveBytes.get(key) ?? 0
          liveBytes.delete(key)
          for (const b of res.blobs) made.push(b.url)
          if (failed) return
          const ms = Date.now() - attemptStart
          results.set(task.id, res)
          if (phase === 'map') info.records += res.records
          if (phase === 'map') run.bytes = (run.bytes ?? 0) + read
          info.tasks.done++
          done++
          // The next attempt starts now, on the thread this one freed; the phase still ends only
          // once every task's record is written (`outstanding` counts down after the writes).
          pump()
          try {
            const rec: TaskRecord = { task: task.id, attempt, ms, ...res }
            // The record and the event, side by side (two appends; their order does not matter).
            await Promise.all([
              stores.jobs.putTask(name, rec),
              stores.jobs.log(name, `${task.id} done: ${res.records} records in, ${res.outputs} out, ${ms} ms${attempt > 1 ? ` (attempt ${attempt})` : ''}`),
            ])
            run.records.set(task.id, rec)
            recorded?.(task)
            if (Date.now() - lastSave > 500) {
              lastSave = Date.now()
              await saveInfo(run)
            }
          } catch (e) {
            return fail(e)
          }
          outstanding--
          report()
          pump()
        },
        (e: unknown) => {
          active--
          live.delete(key)
          liveBytes.delete(key)
          if (failed) return
          info.tasks.failed++
          const err = e as Error & { code?: string }
          const what = `${task.id}${'input' in task ? ` (${task.input.slice(0, 100)})` : ''}`
          stores.jobs.log(name, `${what} failed (attempt ${attempt}): ${err.code ? err.code + ': ' : ''}${err.message}`).catch(() => {})
          if (abort.signal.aborted) return fail(new DiscoError('DISCO_JOB_KILLED', 'the job was killed'))
          if (isFatal(e) || attempt >= spec.maxAttempts) {
            const code = isFatal(e) && typeof err.code === 'string' && err.code.startsWith('DISCO_') ? err.code : 'DISCO_TASK_FAILED'
            const tries = isFatal(e) ? 'fatal error' : `failed ${attempt} times`
            const final = new DiscoError(code, `${what} ${tries}: ${err.message}`, { cause: e })
            final.stack = `${final.name}: ${final.message}\n  task stack: ${err.stack ?? '(none)'}`
            return fail(final)
          }
          const delay = retryDelay(attempt, spec.retryBaseMs, spec.retryCapMs)
          setTimeout(() => {
            queue.push({ task, attempt: attempt + 1 })
            pump()
          }, delay) // not unref'd: a pending retry keeps the process alive
          pump()
        },
      )
    }
    report() // the phase has begun (a reduce phase reports nothing else until its first task ends)
    pump()
  })
}

/** The records of the jobs in a store, newest first (liveness as in {@link jobInfo}). */
export async function listJobs(store: StoreRef): Promise<JobInfo[]> {
  const stores = storesOf(store)
  const out: JobInfo[] = []
  for (const n of await stores.jobs.names()) out.push(await jobInfo(stores, n))
  return out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.name < b.name ? 1 : -1))
}

/** True while the job's runner beats (a runner that never beat yet counts from the record's creation). */
async function runnerAlive(stores: DiscoStores, info: JobInfo): Promise<boolean> {
  const hb = await stores.jobs.heartbeat('runner', info.name)
  if (hb) return hb.alive
  return Date.parse(info.created) + (info.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) > stores.jobs.now()
}

/**
 * The record of a job (DISCO_JOB_NOT_FOUND when there is none). An `active` job whose runner's
 * heartbeat has expired (the runner died, on any host) is reported `dead` with DISCO_RUNNER_LOST.
 */
export async function jobInfo(store: StoreRef, name: string): Promise<JobInfo> {
  const stores = storesOf(store)
  const info = await stores.jobs.info(name)
  if (info.status === 'active' && !running.has(name) && !(await runnerAlive(stores, info))) {
    info.status = 'dead'
    info.error = { code: 'DISCO_RUNNER_LOST', message: `the runner of the job (${info.host}, pid ${info.pid}) stopped sending heartbeats before the job finished (disco resume ${info.name} finishes it)` }
  }
  return info
}

/** Resolves `@` (the newest job), `@?text` (the newest job whose name contains text) or a name. */
export async function resolveJob(store: StoreRef, ref: string): Promise<string> {
  if (ref !== '@' && !ref.startsWith('@?')) return ref
  const jobs = (await listJobs(store)).filter((j) => ref === '@' || j.name.includes(ref.slice(2)))
  if (jobs.length === 0) throw new DiscoError('DISCO_JOB_NOT_FOUND', `no job matches ${ref}`)
  return jobs[0]!.name
}

/**
 * Waits until the record changes (watching the store) or `ms` pass, whichever comes first. A
 * change made before the watch started counts too (`seen` is the record last looked at).
 */
async function nextChange(stores: DiscoStores, seen: JobInfo, ms: number): Promise<void> {
  const ac = new AbortController()
  const t = setTimeout(() => ac.abort(), Math.max(0, ms))
  try {
    for await (const cur of stores.jobs.watch(seen.name, ac.signal)) {
      if (!cur || cur.status !== seen.status || cur.updated !== seen.updated) return
    }
  } finally {
    clearTimeout(t)
    ac.abort()
  }
}

function deadError(info: JobInfo): DiscoError {
  const e = new DiscoError(info.error?.code ?? 'DISCO_TASK_FAILED', `job ${info.name} is dead: ${info.error?.message ?? 'unknown error'}`)
  if (info.error?.stack) e.stack = info.error.stack
  return e
}

/**
 * Waits until a job is no longer active (watching its record; a runner that stops beating makes
 * it dead), then returns its record, or rejects with its error code when dead, or
 * DISCO_WAIT_TIMEOUT.
 */
export async function waitJob(store: StoreRef, name: string, opts: { timeoutMs?: number } = {}): Promise<JobInfo> {
  const stores = storesOf(store)
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs
  for (;;) {
    const info = await jobInfo(stores, name)
    if (info.status === 'ready') return info
    if (info.status === 'dead') throw deadError(info)
    if (Date.now() >= deadline) throw new DiscoError('DISCO_WAIT_TIMEOUT', `job ${name} still active after ${opts.timeoutMs} ms`)
    // Look again when the record changes, or when the runner's heartbeat would expire.
    const hb = await stores.jobs.heartbeat('runner', name)
    const expiresIn = hb ? hb.expires - stores.jobs.now() : info.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    await nextChange(stores, info, Math.min(deadline - Date.now(), expiresIn + 20))
  }
}

/**
 * Kills a job: directly when it runs in this process, otherwise by a kill request in the job
 * store that its runner watches for. Resolves with the final record once the job is no longer
 * active; a job whose runner is lost is recorded dead at once; DISCO_KILL_TIMEOUT when the runner
 * is alive but has not stopped the job within `timeoutMs` (default 10 s). Killing a finished job
 * is a no-op.
 */
export async function killJob(store: StoreRef, name: string, opts: { timeoutMs?: number } = {}): Promise<JobInfo> {
  const stores = storesOf(store)
  const info = await jobInfo(stores, name)
  if (info.status !== 'active') {
    if (info.error?.code === 'DISCO_RUNNER_LOST') await recordLost(stores, info)
    return info
  }
  const local = running.get(name)
  if (local) {
    local.abort.abort()
    await local.done.catch(() => {})
    return jobInfo(stores, name)
  }
  await stores.jobs.requestKill(name)
  try {
    return await waitJob(stores, name, { timeoutMs: opts.timeoutMs ?? 10_000 })
  } catch (e) {
    if (e instanceof DiscoError && e.code === 'DISCO_WAIT_TIMEOUT') {
      throw new DiscoError('DISCO_KILL_TIMEOUT', `job ${name} is still active ${opts.timeoutMs ?? 10_000} ms after the kill request: its runner (${info.host}, pid ${info.pid}) is alive but has not stopped it`)
    }
    if (e instanceof DiscoError) {
      const after = await jobInfo(stores, name)
      if (after.error?.code === 'DISCO_RUNNER_LOST') await recordLost(stores, after)
      return after
    }
    throw e
  }
}

/** Records a lost runner's job as dead and removes the data it left. */
async function recordLost(stores: DiscoStores, info: JobInfo): Promise<void> {
  if ((await stores.jobs.info(info.name)).status === 'active') {
    await stores.jobs.log(info.name, `DEAD: ${info.error!.code}: ${info.error!.message}`)
    await stores.jobs.update(info.name, (cur) => (cur.status === 'active' ? { ...cur, status: 'dead', error: info.error!, updated: new Date(stores.jobs.now()).toISOString() } : undefined))
  }
  await sweepData(stores, info.name, true)
}

/** Deletes a job's data blobs (all, or only map outputs when its results are to stay). */
async function sweepData(stores: DiscoStores, name: string, all: boolean): Promise<number> {
  const prefix = dataBlobPrefix(name)
  const doomed: string[] = []
  for await (const b of stores.data.list()) {
    const n = blobFileName(b.url)
    if (n.startsWith(prefix) && (all || n.includes('.map-'))) doomed.push(b.url)
  }
  await deleteData(stores, doomed)
  return doomed.length
}

/** Deletes all data and the record of a job (killing it first when active). */
export async function purgeJob(store: StoreRef, name: string): Promise<void> {
  const stores = storesOf(store)
  const info = await jobInfo(stores, name)
  if (info.status === 'active') await killJob(stores, name)
  // A job that ran to the end in one go (no failed attempt, never resumed) has nothing left but
  // its results: its runner deleted the inputs and map outputs, and every attempt's outputs were
  // its task's. Those are deleted by name; any other job's data is found by listing the store.
  if (info.status === 'ready' && !info.resumes && info.tasks.failed === 0) await deleteData(stores, info.results ?? [])
  else await sweepData(stores, name, true)
  await stores.jobs.remove(name)
}

/** A job's event log after position `after` (0: all), and the position to continue from. */
export async function jobEvents(store: StoreRef, name: string, after = 0): Promise<{ events: JobEvent[]; next: number }> {
  const stores = storesOf(store)
  await stores.jobs.info(name)
  return stores.jobs.events(name, after)
}

/** The job store's records of a job's finished tasks, in plan order (map tasks, then reduce). */
export async function jobTasks(store: StoreRef, name: string): Promise<TaskRecord[]> {
  const stores = storesOf(store)
  const order = (id: string): number => (id.startsWith('map:') ? 0 : 1e9) + Number(id.slice(id.indexOf(':') + 1))
  return (await stores.jobs.tasks(name)).sort((a, b) => order(a.task) - order(b.task))
}

/**
 * The pairs of one stored result file, in file order, a batch (a read chunk's whole lines) at a
 * time: each chunk's whole lines decoded to one string and parsed as slices of it (not a string
 * per line); a line split over chunks is joined by the DDFS line splitter.
 */
async function* resultBatches(stores: DiscoStores, url: string): AsyncGenerator<[string, unknown][]> {
  const split = new LineSplitter(DEFAULT_MAX_LINE, throwTooLong(url, DEFAULT_MAX_LINE))
  let pairs: [string, unknown][] = []
  // A joined line: the splitter has counted it already.
  const joined: LineSink = (b, s, e) => { decodePairLines(b.toString('utf8', s, e), url, split.lines, pairs) }
  // A chunk's whole lines (each shorter than the chunk, so within the maximum): counted here.
  const whole: LineSink = (b, s, e) => { split.lines += decodePairLines(b.toString('utf8', s, e), url, split.lines + 1, pairs) }
  for await (const chunk of await stores.data.get(url)) {
    split.pushBlock(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), joined, whole)
    if (pairs.length > 0) {
      yield pairs
      pairs = []
    }
  }
  split.end(joined)
  if (pairs.length > 0) yield pairs
}

/** A result file being merged: its current batch and position (the merge waits only between batches). */
interface Head { batch: [string, unknown][]; i: number; src: number; it: AsyncIterator<[string, unknown][]> }

/**
 * Iterates the (key, value) results of a ready job: merged across partitions in key order (ties
 * by partition), or partition after partition when the job ran with `sort: false`.
 * DISCO_JOB_NOT_READY when the job is active or dead. {@link jobResultBatches} gives the same
 * pairs in arrays (cheaper per pair).
 *
 * @example
 * for await (const [key, value] of jobResults('.disco', '@')) console.log(key, value)
 */
export async function* jobResults(store: StoreRef, name: string): AsyncGenerator<[string, unknown]> {
  for await (const batch of jobResultBatches(store, name)) yield* batch
}

/** Pairs per batch of {@link jobResultBatches} when merging (file batches go as read). */
const RESULT_BATCH = 4096

/**
 * The results of a ready job as {@link jobResults} gives them, a batch (an array of pairs, in
 * order) at a time: one await per batch instead of one per pair. DISCO_JOB_NOT_READY when the
 * job is active or dead.
 *
 * @example
 * for await (const batch of jobResultBatches('.disco', '@')) for (const [key, value] of batch) console.log(key, value)
 */
export async function* jobResultBatches(store: StoreRef, name: string): AsyncGenerator<[string, unknown][]> {
  const stores = storesOf(store)
  const resolved = await resolveJob(stores, name)
  const info = await jobInfo(stores, resolved)
  if (info.status !== 'ready') throw new DiscoError('DISCO_JOB_NOT_READY', `expected job ${resolved} to be ready, found ${info.status}`)
  yield* readyBatches(stores, info)
}

/** The result batches of a ready job's record (see {@link jobResultBatches}). */
async function* readyBatches(stores: DiscoStores, info: JobInfo): AsyncGenerator<[string, unknown][]> {
  const urls = info.results ?? []
  if (!info.spec.sort || urls.length === 1) {
    for (const u of urls) yield* resultBatches(stores, u)
    return
  }
  const heap = new MinHeap<Head>((a, b) => {
    const x = a.batch[a.i]![0]
    const y = b.batch[b.i]![0]
    return x < y || (x === y && a.src < b.src)
  })
  const its = urls.map((u) => resultBatches(stores, u)[Symbol.asyncIterator]())
  try {
    // Every file's first batch read side by side (each is an open and a read in the threadpool).
    const firsts = await Promise.all(its.map((it) => it.next()))
    for (const [src, it] of its.entries()) {
      const r = firsts[src]!
      if (!r.done) heap.push({ batch: r.value, i: 0, src, it })
    }
    let out: [string, unknown][] = []
    for (let top = heap.peek(); top; top = heap.peek()) {
      out.push(top.batch[top.i]!)
      if (++top.i < top.batch.length) {
        heap.replaceTop(top)
        continue
      }
      const r = await top.it.next()
      if (r.done) heap.pop()
      else {
        top.batch = r.value
        top.i = 0
        heap.replaceTop(top)
      }
      if (out.length >= RESULT_BATCH) {
        yield out
        out = []
      }
    }
    if (out.length > 0) yield out
  } finally {
    for (const it of its) await it.return?.(undefined)
  }
}
