// The Disco engine: a rule's map/reduce as a Disco job on the Disco stores of the rule's store
// (any DDFS, with the job registry and job data store that go with it). Workers load
// disco-job-functions.js by path, which imports the rule module named in the spec's `modules` (no
// closures shipped): by path on this machine, from a job pack on a cluster's workers.
import { availableParallelism } from 'node:os'
// The job engine's own modules, not the disco entry: the thread running the job does not load the
// task code (task.js and what it imports) that only pool threads run.
import { jobEvents, purgeJob, runJob, type JobHandle } from '../../disco/job.js'
import { WorkerPoolExecutor, type Executor } from '../../disco/executor.js'
import type { DiscoStores, FnRef, JobSpec } from '../../disco/index.js'
import { DiscoError, isDiscoError } from '../../errors.js'
import { decodeKey } from './map-reduce.js'
import { addErrors, mergeJobStats, mergeReadStats, type ErrorStats, type MapCounts, type BlobStats, type ReadStats } from '../results/stats.js'
import { suppressedNote } from './debug-lines.js'
import type { InfernoTaskStats, InfernoJobParams } from './disco-job-functions.js'
import { fromReduceWire } from './wire.js'
import type { ResultRow, Rule } from '../rules/rule.js'
import type { EngineJob, EngineResult, RuleEngine } from './rule-engine.js'
import { DISCO_JOB_FUNCTIONS, discoJobModules } from './job-modules.js'

/** True when a rule (and its sub-rules) can run on Disco: loaded from a module file. */
export function runsOnDisco(rule: Rule): boolean {
  return rule.modulePath !== undefined && rule.subRules.every(runsOnDisco)
}

/** Options of the Disco engine. */
export interface DiscoEngineOptions {
  /** Disco executor (default: a worker pool sized to the cores; `in-process` for debugging). */
  readonly executor?: Executor | 'in-process'
  /** Tries per task (default Disco's). */
  readonly maxAttempts?: number
  /** The stores jobs run on (default: the `disco` stores of the rule's store, see ddfsStore). */
  readonly stores?: DiscoStores
  /** For the default worker pool: the store factory module its threads resolve the stores with. */
  readonly storeFactory?: FnRef
  /**
   * A worker pool started by the caller (who closes it), used by every job instead of a pool per
   * job, so its threads can start and import the rule module while the inputs are selected. A
   * rule's `scheduler.maxCores` caps how many of its threads a job uses.
   */
  readonly pool?: WorkerPoolExecutor
}

/**
 * Creates the Disco engine. The job runs on `opts.stores`, else on the Disco stores the rule's
 * store was made with (`ddfsStore(stores.ddfs, stores)`); the rule must come from a rule module
 * (workers import it).
 *
 * @example
 * const stores = openLocalStores('.disco')
 * await runRule(rule, { store: ddfsStore(stores.ddfs, stores), engine: discoEngine() })
 */
export function discoEngine(opts: DiscoEngineOptions = {}): RuleEngine {
  return {
    async run(job: EngineJob): Promise<EngineResult> {
      const stores = opts.stores ?? job.store.disco
      if (!stores) throw new DiscoError('INFERNO_ENGINE', 'expected Disco stores for the Disco engine (ddfsStore(ddfs, stores) or discoEngine({ stores })), found a store without them')
      const { rule } = job
      if (!rule.modulePath) {
        throw new DiscoError('INFERNO_ENGINE', `expected rule ${rule.name} to come from a rule module (workers import it by path), found a rule defined in memory`)
      }
      const params: InfernoJobParams = {
        module: rule.modulePath, rule: rule.name, keysets: Object.keys(rule.keysets), params: job.params, debug: job.debug !== undefined,
      }
      const spec: JobSpec = {
        prefix: rule.name.replace(/[^A-Za-z0-9_-]/g, '_'),
        inputs: job.inputs.map((b) => b[0]!),
        map: { module: DISCO_JOB_FUNCTIONS, export: 'map' },
        mapForm: 'bytes',
        reduce: { module: DISCO_JOB_FUNCTIONS, export: 'reduce' },
        ...(rule.partitionFunction ? { partitioner: { module: DISCO_JOB_FUNCTIONS, export: 'partition' } } : {}),
        partitions: job.partitions,
        params,
        // The rule module travels with the job (a cluster ships it to its workers as a job pack).
        modules: { rule: rule.modulePath },
        sort: rule.sort,
        ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
        ...(job.maxRecordSize ? { maxRecordSize: job.maxRecordSize } : {}),
      }
      let blobsDone = 0
      let reducing = false
      // The rule's scheduler.maxCores caps the worker pool (default: one worker per core).
      const cap = job.rule.scheduler.maxCores < availableParallelism() ? Math.max(1, job.rule.scheduler.maxCores) : undefined
      const own = opts.executor || opts.pool ? undefined
        : cap !== undefined ? new WorkerPoolExecutor({ size: cap, ...(opts.storeFactory ? { stores: opts.storeFactory } : {}) })
          : opts.storeFactory ? new WorkerPoolExecutor({ stores: opts.storeFactory }) : undefined
      opts.pool?.preload(discoJobModules(rule.modulePath))
      const executor = opts.executor ?? (opts.pool && cap !== undefined ? opts.pool.limit(cap) : opts.pool) ?? own
      const handle = await runJob(spec, {
        store: stores,
        ...(executor ? { executor } : {}),
        onProgress: (p) => {
          if (p.phase === 'map') job.onRecords?.(p.records)
          if (p.phase === 'map' && p.bytes > 0) job.onBytes?.(p.bytes)
          if (p.phase === 'map' && p.done > blobsDone) {
            for (; blobsDone < p.done; blobsDone++) job.onBlob?.()
          }
          if (p.phase === 'reduce' && !reducing) {
            reducing = true
            job.onReduce?.()
          }
        },
      })
      try {
        await handle.wait()
      } catch (e) {
        const msg = isDiscoError(e) ? `${e.code}: ${e.message}` : (e as Error)?.message ?? String(e)
        throw new DiscoError('INFERNO_JOB_FAILED', `the Disco job ${handle.name} of rule ${rule.name} failed: ${msg}`, { cause: e })
      } finally {
        await own?.close()
        await collectStats(stores, handle, job)
      }
      const rows: AsyncIterable<ResultRow> = {
        async *[Symbol.asyncIterator]() {
          for await (const [k, v] of handle.results()) yield [decodeKey(k), fromReduceWire(v)]
        },
      }
      return { jobName: handle.name, partitions: [rows], purge: () => purgeJob(stores, handle.name), purgeDropsResults: true }
    },
  }
}

/**
 * Sums the statistics the tasks reported as data (kept with their task records) into the job's
 * counters, and forwards the event log to `-D` after the job.
 */
async function collectStats(stores: DiscoStores, handle: JobHandle, job: EngineJob): Promise<void> {
  const name = handle.name
  let tasks
  try {
    tasks = await handle.tasks()
  } catch {
    return
  }
  for (const t of tasks) {
    if (t.stats) {
      const s = t.stats as InfernoTaskStats
      if (s.read) {
        mergeReadStats(job.stats.read, s.read as ReadStats)
        job.stats.blobsDone++
      }
      if (s.map || s.blobs) mergeJobStats(job.stats, { map: s.map as MapCounts, blobs: (s.blobs ?? []) as BlobStats[] })
      if (s.mapErrors) addErrors(job.stats.mapErrors, s.mapErrors as ErrorStats)
      if (s.reduceErrors) addErrors(job.stats.reduceErrors, s.reduceErrors as ErrorStats)
    }
  }
  if (!job.debug) return
  try {
    // Bounded: each task logs at most DEBUG_LINES_PER_TASK debug lines (debug-lines.ts).
    for (const e of (await jobEvents(stores, name)).events) job.debug(e.message)
  } catch { /* the job's log is gone */ }
  for (const t of tasks) {
    const n = (t.stats as InfernoTaskStats | undefined)?.debugSuppressed
    if (n) job.debug(`${t.task}: ${suppressedNote(n)}`)
  }
}
