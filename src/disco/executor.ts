// Executors run one attempt of one task. The engine schedules, retries and records; an executor
// only runs. In-process (tests, debugging) and a worker_threads pool (the embedded default); a
// queue-backed distributed executor fits the same interface. Each executor is given the store
// factory that turns a task's store reference into stores (default: the embedded directory one).
//
// This module stays light (no task engine, no stores): a command starts its pool before it loads
// the rest, so the threads boot while it does.
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { DiscoError } from '../errors.js'
import type { DiscoStores, StoreFactory } from './stores.js'
import type { FnRef, TaskHooks, TaskMessage, TaskResult } from './types.js'

/** Where worker threads find the embedded store factory, `localStoreFactory` of stores.ts (they import it by module and export). */
export const LOCAL_STORE_FACTORY: FnRef = { module: new URL('./stores.js', import.meta.url).href, export: 'localStoreFactory' }

/** The embedded store factory, loaded on first use. */
const lazyLocalStores: StoreFactory = async (ref) => (await import('./stores.js')).localStoreFactory(ref)

/**
 * Runs task attempts. `run` resolves with the task's result or rejects with its error; an
 * aborted `signal` stops the attempt (rejecting with DISCO_JOB_KILLED).
 *
 * @example
 * const ex = new InProcessExecutor(); await runJob(spec, { store, executor: ex })
 */
export interface Executor {
  /** How many attempts the engine may run at once. */
  readonly concurrency: number
  run(task: TaskMessage, hooks: TaskHooks, signal: AbortSignal): Promise<TaskResult>
  close(): Promise<void>
}

/**
 * A user-thrown error that stops retries at once and kills the job (Disco's FATAL).
 *
 * @example
 * throw new FatalTaskError('bad configuration: no such column "ts"')
 */
export class FatalTaskError extends DiscoError {
  constructor(message: string) {
    super('DISCO_TASK_FATAL', message)
    this.name = 'FatalTaskError'
  }
}

/** Engine errors that no retry can fix. */
const FATAL_CODES = new Set(['DISCO_TASK_FATAL', 'DISCO_FN_NOT_FOUND', 'DISCO_BAD_KEY', 'DISCO_BAD_SUMS', 'DISCO_BAD_PARTITION', 'DISCO_INPUT_UNSUPPORTED', 'DISCO_JOB_KILLED', 'MODULE_NOT_FOUND', 'MODULE_SYNTAX', 'MODULE_LOAD_FAILED'])

/** True when an error must not be retried. */
export function isFatal(e: unknown): boolean {
  const x = e as { code?: unknown; fatal?: unknown } | null
  return !!x && ((typeof x.code === 'string' && FATAL_CODES.has(x.code)) || x.fatal === true)
}

/** An error as plain data (crosses threads and processes). */
export interface ErrorData { name: string; message: string; stack?: string; code?: string; fatal?: boolean }

export function errorToData(e: unknown): ErrorData {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    const d: ErrorData = { name: e.name, message: e.message, fatal: isFatal(e) }
    if (e.stack) d.stack = e.stack
    if (typeof code === 'string') d.code = code
    return d
  }
  return { name: 'Error', message: String(e) }
}

export function errorFromData(d: ErrorData): Error {
  const e: Error & { fatal?: boolean } = d.code && d.code.startsWith('DISCO_') ? new DiscoError(d.code, d.message) : Object.assign(new Error(d.message), d.code ? { code: d.code } : {})
  e.name = d.name
  if (d.stack) e.stack = d.stack
  if (d.fatal) e.fatal = true
  return e
}

/**
 * Runs tasks in the calling thread (tasks interleave only where they await). For tests and
 * debugging; a task cannot be interrupted mid-record.
 */
export class InProcessExecutor implements Executor {
  private readonly factory: StoreFactory
  private readonly opened = new Map<string, Promise<DiscoStores>>()

  /** `stores`: resolves task store references (default: store directories). */
  constructor(readonly concurrency = 1, opts: { stores?: StoreFactory } = {}) {
    this.factory = opts.stores ?? lazyLocalStores
  }

  async run(task: TaskMessage, hooks: TaskHooks, signal: AbortSignal): Promise<TaskResult> {
    let stores = this.opened.get(task.store)
    if (!stores) {
      stores = Promise.resolve(this.factory(task.store))
      this.opened.set(task.store, stores)
    }
    const { runTask } = await import('./task.js')
    return runTask(task, hooks, await stores, signal)
  }

  async close(): Promise<void> {}
}

/**
 * What a pool thread is sent: a task attempt to run, or modules to import ahead of the tasks that
 * need them (`preload`; failures there are left to the task that imports the module).
 */
export type PoolMessage = TaskMessage | { kind: 'preload'; modules: readonly string[] }

/** Messages from a pool worker. */
export type WorkerReply =
  | { type: 'log'; message: string }
  | { type: 'progress'; records: number; bytes?: number }
  | { type: 'done'; result: TaskResult }
  | { type: 'error'; error: ErrorData }

/**
 * A pool of worker threads, one task per thread at a time, sized to the cores by default. A
 * thread that dies mid-task (crash, `process.exit`, termination) fails that attempt with
 * DISCO_WORKER_LOST, which the engine retries on a fresh thread.
 */
export class WorkerPoolExecutor implements Executor {
  readonly concurrency: number
  private idle: Worker[] = []
  private all = new Set<Worker>()

  private readonly stores: FnRef
  /** What every thread imports as soon as it starts ({@link preload}). */
  private readonly preloaded: string[] = []

  /**
   * `size`: threads (default: the cores); `stores`: the module and export of a
   * {@link StoreFactory} every thread imports to resolve task store references (default: the
   * embedded directory factory).
   */
  constructor(opts: { size?: number; stores?: FnRef } = {}) {
    this.concurrency = opts.size ?? Math.max(1, availableParallelism())
    this.stores = opts.stores ?? LOCAL_STORE_FACTORY
  }

  /**
   * Starts every thread now instead of on the first tasks, so thread start-up (and the modules
   * given to {@link preload}) overlaps what the caller does before its job, such as selecting the
   * inputs. A thread that fails to start is replaced when a task needs it; that task fails with
   * DISCO_WORKER_LOST as before.
   *
   * @example
   * const pool = new WorkerPoolExecutor().start() // threads booting while the caller plans
   */
  start(): this {
    while (this.all.size < this.concurrency) this.idle.push(this.spawn())
    return this
  }

  /**
   * Has every thread (the running ones and any started later) import these modules (`file:`
   * URLs or absolute paths, as task function references name them) ahead of the tasks that need
   * them. Nothing is reported here: a module that fails to load fails the task that imports it,
   * with the same MODULE_* code as without preloading.
   *
   * @example
   * pool.start().preload(['/abs/rules/clicks.js']) // a task's first import is then already done
   */
  preload(modules: readonly string[]): void {
    const fresh = modules.filter((m) => !this.preloaded.includes(m))
    if (fresh.length === 0) return
    this.preloaded.push(...fresh)
    for (const w of this.all) w.postMessage({ kind: 'preload', modules: fresh } satisfies PoolMessage)
  }

  /**
   * This pool seen as an executor of at most `n` tasks at once (a rule's `scheduler.maxCores`):
   * it shares the threads, and closing it leaves them running.
   */
  limit(n: number): Executor {
    if (n >= this.concurrency) return this
    return { concurrency: Math.max(1, n), run: (task, hooks, signal) => this.run(task, hooks, signal), close: async () => {} }
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { stores: this.stores } })
    // Idle threads do not keep the process alive (a task refs its thread while it runs).
    w.unref()
    if (this.preloaded.length > 0) w.postMessage({ kind: 'preload', modules: [...this.preloaded] } satisfies PoolMessage)
    this.all.add(w)
    w.on('error', () => {}) // reported to the running task by its own listener
    w.on('exit', () => {
      this.all.delete(w)
      this.idle = this.idle.filter((x) => x !== w)
    })
    return w
  }

  run(task: TaskMessage, hooks: TaskHooks, signal: AbortSignal): Promise<TaskResult> {
    if (signal.aborted) return Promise.reject(new DiscoError('DISCO_JOB_KILLED', 'the job was killed'))
    const w = this.idle.pop() ?? this.spawn()
    w.ref()
    return new Promise<TaskResult>((resolve, reject) => {
      let settled = false
      const finish = (keep: boolean): void => {
        settled = true
        w.off('message', onMessage)
        w.off('error', onError)
        w.off('exit', onExit)
        signal.removeEventListener('abort', onAbort)
        if (keep) {
          w.unref()
          this.idle.push(w)
        } else {
          void w.terminate()
        }
      }
      const onMessage = (m: WorkerReply): void => {
        if (settled) return
        if (m.type === 'log') hooks.log(m.message)
        else if (m.type === 'progress') hooks.progress(m.records, m.bytes)
        else if (m.type === 'done') {
          finish(true)
          resolve(m.result)
        } else {
          finish(true)
          reject(errorFromData(m.error))
        }
      }
      const onError = (err: Error): void => {
        if (settled) return
        finish(false)
        reject(new DiscoError('DISCO_WORKER_LOST', `worker thread crashed during ${task.task.id}: ${err.message}`, { cause: err }))
      }
      const onExit = (code: number): void => {
        if (settled) return
        finish(false)
        reject(new DiscoError('DISCO_WORKER_LOST', `worker thread exited (code ${code}) during ${task.task.id}`))
      }
      const onAbort = (): void => {
        if (settled) return
        finish(false)
        reject(new DiscoError('DISCO_JOB_KILLED', 'the job was killed'))
      }
      w.on('message', onMessage)
      w.on('error', onError)
      w.on('exit', onExit)
      signal.addEventListener('abort', onAbort)
      w.postMessage(task satisfies PoolMessage)
    })
  }

  async close(): Promise<void> {
    const ws = [...this.all]
    this.idle = []
    await Promise.all(ws.map((w) => w.terminate()))
  }
}
