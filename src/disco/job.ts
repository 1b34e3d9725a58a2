// The engine: runs a job's plan on an executor, phase by phase (all map tasks, then one reduce
// task per partition), retrying failed attempts with capped exponential back-off and jitter,
// persisting the job record and event log in the store, and watching for kill requests.
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { DiscoError } from '../errors.js'
import { InProcessExecutor, WorkerPoolExecutor, isFatal, type Executor } from './executor.js'
import { expandInputs } from './inputs.js'
import { normalizeSpec, planJob, retryDelay } from './plan.js'
import { KvMerger, LineReader, decodePair } from './runs.js'
import { appendEvent, createJob, jobDir, killMarker, listJobNames, readEvents, readInfo, removeJob, writeInfo } from './state.js'
import { resultFile } from './task.js'
import { ddfsInputStore, saveResults, storeDirOf, useDdfsInputs, type StoreRef } from './ddfs-inputs.js'
import type { JobInfo, JobPlan, JobProgress, JobSpec, MapTaskPlan, NormalizedSpec, ReduceTaskPlan, TaskMessage } from './types.js'

export type { StoreRef }

useDdfsInputs() // in-process tasks read DDFS blobs too

/** Options of {@link runJob}. */
export interface JobRunOptions {
  /** The store directory (default layout of DDFS, e.g. `./.disco`) or an opened DDFS store. */
  store: StoreRef
  /** Default: a new {@link WorkerPoolExecutor} sized to the cores, closed when the job ends. */
  executor?: Executor | 'in-process'
  /** Called as tasks finish and as records are processed (at most every ~100 ms per task). */
  onProgress?: (p: JobProgress) => void
  /** Directory that relative module paths are resolved against (default `process.cwd()`). */
  cwd?: string
}

/** A started job. */
export interface JobHandle {
  readonly name: string
  /** Resolves with the final record when ready; rejects with the job's error when dead. */
  wait(): Promise<JobInfo>
  /** Stops the job (its status becomes dead, code DISCO_JOB_KILLED). */
  kill(): Promise<void>
  /** The current record. */
  info(): JobInfo
  /** The results as (key, value) pairs, merged in key order (see {@link jobResults}). */
  results(): AsyncGenerator<[string, unknown]>
}

/** Jobs running in this process, so kill() reaches them directly. */
const running = new Map<string, AbortController>()

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
  const storeDir = storeDirOf(opts.store)
  const nspec = normalizeSpec(spec, opts.cwd ?? process.cwd())
  const inputStore = ddfsInputStore(opts.store)
  const inputs = await expandInputs(nspec.inputs, inputStore)
  const name = createJob(storeDir, nspec.prefix)
  const plan = planJob(name, nspec.partitions, inputs)
  const now = new Date().toISOString()
  const info: JobInfo = {
    name, status: 'active', spec: nspec, created: now, updated: now, host: hostname(), pid: process.pid,
    tasks: { map: plan.mapTasks.length, reduce: plan.reduceTasks.length, done: 0, failed: 0 }, records: 0,
  }
  writeInfo(storeDir, info)
  appendEvent(storeDir, name, `job ${name} started: ${plan.mapTasks.length} map tasks, ${plan.partitions} partitions`)
  const abort = new AbortController()
  running.set(name, abort)
  let executor: Executor
  let owned = false
  if (opts.executor === 'in-process') executor = new InProcessExecutor()
  else if (opts.executor) executor = opts.executor
  else {
    executor = new WorkerPoolExecutor()
    owned = true
  }
  const done = execute({ storeDir, store: opts.store, plan, spec: nspec, info, executor, abort, onProgress: opts.onProgress })
    .finally(async () => {
      running.delete(name)
      if (owned) await executor.close()
    })
  done.catch(() => {}) // surfaced through wait()
  return {
    name,
    wait: () => done,
    kill: async () => abort.abort(),
    info: () => readInfo(storeDir, name),
    results: () => jobResults(storeDir, name),
  }
}

interface Run {
  storeDir: string
  store: StoreRef
  plan: JobPlan
  spec: NormalizedSpec
  info: JobInfo
  executor: Executor
  abort: AbortController
  onProgress?: ((p: JobProgress) => void) | undefined
}

async function execute(run: Run): Promise<JobInfo> {
  const { storeDir, plan, spec, info } = run
  const dir = jobDir(storeDir, info.name)
  const started = Date.now()
  const watch = setInterval(() => {
    if (existsSync(killMarker(storeDir, info.name))) run.abort.abort()
  }, 200)
  watch.unref()
  try {
    await runPhase(run, 'map', plan.mapTasks, (t, attempt) => ({
      kind: 'map', job: info.name, jobDir: dir, storeDir, spec, task: t as MapTaskPlan, attempt,
    }), started)
    await runPhase(run, 'reduce', plan.reduceTasks, (t, attempt) => ({
      kind: 'reduce', job: info.name, jobDir: dir, storeDir, spec, task: t as ReduceTaskPlan, mapTasks: plan.mapTasks.length, attempt,
    }), started)
    info.results = plan.reduceTasks.map((t) => resultFile(t.partition)).filter((f) => existsSync(join(dir, f)))
    if (spec.save !== undefined) {
      run.onProgress?.({ job: info.name, phase: 'save', done: 0, total: info.results.length, records: info.records, elapsedMs: Date.now() - started })
      info.savedTag = await saveResults(run.store, spec.save || `disco:results:${info.name}`, info.results.map((f) => join(dir, f)), info.name)
      appendEvent(storeDir, info.name, `results saved under tag ${info.savedTag}`)
    }
    info.status = 'ready'
    writeInfo(storeDir, info)
    appendEvent(storeDir, info.name, `READY: Job done in ${((Date.now() - started) / 1000).toFixed(3)} s`)
    return info
  } catch (e) {
    const err = jobError(e)
    info.status = 'dead'
    info.error = { code: err.code, message: err.message }
    if (err.stack) info.error.stack = err.stack
    writeInfo(storeDir, info)
    appendEvent(storeDir, info.name, `DEAD: ${err.code}: ${err.message}`)
    throw err
  } finally {
    clearInterval(watch)
    rmSync(join(dir, 'tmp'), { recursive: true, force: true })
    rmSync(killMarker(storeDir, info.name), { force: true })
  }
}

function jobError(e: unknown): DiscoError {
  if (e instanceof DiscoError) return e
  return new DiscoError('DISCO_TASK_FAILED', (e as Error)?.message ?? String(e), { cause: e })
}

type TaskPlan = MapTaskPlan | ReduceTaskPlan

/** Runs every task of a phase, at most `executor.concurrency` at once, retrying failures. */
function runPhase(run: Run, phase: 'map' | 'reduce', tasks: readonly TaskPlan[], message: (t: TaskPlan, attempt: number) => TaskMessage, started: number): Promise<void> {
  const { executor, spec, info, storeDir, abort } = run
  const queue: { task: TaskPlan; attempt: number }[] = tasks.map((task) => ({ task, attempt: 1 }))
  let outstanding = tasks.length
  let active = 0
  let done = 0
  let lastSave = 0
  const report = (): void =>
    run.onProgress?.({ job: info.name, phase, done, total: tasks.length, records: info.records, elapsedMs: Date.now() - started })
  return new Promise<void>((resolve, reject) => {
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
        resolve()
        return
      }
      while (active < executor.concurrency && queue.length > 0) start(queue.shift()!)
    }
    const start = ({ task, attempt }: { task: TaskPlan; attempt: number }): void => {
      active++
      const hooks = {
        log: (m: string) => appendEvent(storeDir, info.name, m),
        progress: (n: number) => {
          info.records += n
          report()
        },
      }
      const attemptStart = Date.now()
      executor.run(message(task, attempt), hooks, abort.signal).then(
        (res) => {
          active--
          if (failed) return
          outstanding--
          done++
          info.tasks.done++
          appendEvent(storeDir, info.name, `${task.id} done: ${res.records} records in, ${res.outputs} out, ${Date.now() - attemptStart} ms${attempt > 1 ? ` (attempt ${attempt})` : ''}`)
          if (Date.now() - lastSave > 500) {
            lastSave = Date.now()
            writeInfo(storeDir, info)
          }
          report()
          pump()
        },
        (e: unknown) => {
          active--
          if (failed) return
          info.tasks.failed++
          const err = e as Error & { code?: string }
          const what = `${task.id}${'input' in task ? ` (${task.input.slice(0, 100)})` : ''}`
          appendEvent(storeDir, info.name, `${what} failed (attempt ${attempt}): ${err.code ? err.code + ': ' : ''}${err.message}`)
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
    pump()
  })
}

/** The records of a job in this store, newest first; an active job whose process is gone shows as dead. */
export function listJobs(store: StoreRef): JobInfo[] {
  const dir = storeDirOf(store)
  return listJobNames(dir).map((n) => jobInfo(dir, n)).sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.name < b.name ? 1 : -1))
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The record of a job (DISCO_JOB_NOT_FOUND when there is none). An `active` job whose runner
 * process on this host has exited is reported `dead` with DISCO_RUNNER_LOST.
 */
export function jobInfo(store: StoreRef, name: string): JobInfo {
  const dir = storeDirOf(store)
  const info = readInfo(dir, name)
  if (info.status === 'active' && info.host === hostname() && !running.has(name) && !processAlive(info.pid)) {
    info.status = 'dead'
    info.error = { code: 'DISCO_RUNNER_LOST', message: `the process running the job (pid ${info.pid}) exited before it finished` }
  }
  return info
}

/** Resolves `@` (the newest job), `@?text` (the newest job whose name contains text) or a name. */
export function resolveJob(store: StoreRef, ref: string): string {
  if (ref !== '@' && !ref.startsWith('@?')) return ref
  const jobs = listJobs(store).filter((j) => ref === '@' || j.name.includes(ref.slice(2)))
  if (jobs.length === 0) throw new DiscoError('DISCO_JOB_NOT_FOUND', `no job matches ${ref}`)
  return jobs[0]!.name
}

/**
 * Waits until a job is no longer active (polling the store), then returns its record, or
 * rejects with its error code when dead, or DISCO_WAIT_TIMEOUT.
 */
export async function waitJob(store: StoreRef, name: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<JobInfo> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs
  for (;;) {
    const info = jobInfo(store, name)
    if (info.status === 'ready') return info
    if (info.status === 'dead') {
      const e = new DiscoError(info.error?.code ?? 'DISCO_TASK_FAILED', `job ${name} is dead: ${info.error?.message ?? 'unknown error'}`)
      if (info.error?.stack) e.stack = info.error.stack
      throw e
    }
    if (Date.now() >= deadline) throw new DiscoError('DISCO_WAIT_TIMEOUT', `job ${name} still active after ${opts.timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200))
  }
}

/**
 * Kills a job: directly when it runs in this process, otherwise by leaving a kill request its
 * process picks up (an orphaned active job is marked dead at once). Killing a finished job is a no-op.
 */
export async function killJob(store: StoreRef, name: string, opts: { timeoutMs?: number } = {}): Promise<JobInfo> {
  const dir = storeDirOf(store)
  let info = jobInfo(dir, name)
  if (info.status !== 'active') {
    const raw = readInfo(dir, name)
    if (raw.status === 'active') { // runner lost: record it
      raw.status = 'dead'
      raw.error = info.error!
      writeInfo(dir, raw)
      appendEvent(dir, name, `DEAD: ${raw.error.code}: ${raw.error.message}`)
    }
    return info
  }
  const local = running.get(name)
  if (local) local.abort()
  else {
    writeFileSync(killMarker(dir, name), String(Date.now()))
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  while ((info = jobInfo(dir, name)).status === 'active' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return info
}

/** Deletes all data and the record of a job (killing it first when active). */
export async function purgeJob(store: StoreRef, name: string): Promise<void> {
  const dir = storeDirOf(store)
  const info = jobInfo(dir, name)
  if (info.status === 'active') await killJob(dir, name)
  removeJob(dir, name)
}

/** A job's event log from byte `offset`: `[timestamp, host, message]` entries and the next offset. */
export function jobEvents(store: StoreRef, name: string, offset = 0): { events: [string, string, string][]; offset: number } {
  return readEvents(storeDirOf(store), name, offset)
}

/**
 * Iterates the (key, value) results of a ready job: merged across partitions in key order (ties
 * by partition), or partition after partition when the job ran with `sort: false`.
 * DISCO_JOB_NOT_READY when the job is active or dead.
 *
 * @example
 * for await (const [key, value] of jobResults('.disco', '@')) console.log(key, value)
 */
export async function* jobResults(store: StoreRef, name: string): AsyncGenerator<[string, unknown]> {
  const dir = storeDirOf(store)
  const resolved = resolveJob(dir, name)
  const info = jobInfo(dir, resolved)
  if (info.status !== 'ready') throw new DiscoError('DISCO_JOB_NOT_READY', `expected job ${resolved} to be ready, found ${info.status}`)
  const files = (info.results ?? []).map((f) => join(jobDir(dir, resolved), f))
  if (info.spec.sort) {
    const m = new KvMerger(files)
    try {
      for (let c = m.next(); c; c = m.next()) yield [c.key, c.value]
    } finally {
      m.close()
    }
    return
  }
  for (const f of files) {
    const r = new LineReader(f)
    try {
      for (let l = r.next(); l !== undefined; l = r.next()) if (l !== '') yield decodePair(l, `${f}:${r.lineNo}`)
    } finally {
      r.close()
    }
  }
}
