// The Disco engine: a rule's map/reduce as a Disco job on the DDFS store. Workers load
// job-functions.js by path, which imports the rule module by path (no closures shipped).
import { availableParallelism } from 'node:os'
import { jobEvents, purgeJob, runJob, WorkerPoolExecutor, type Executor, type JobSpec } from '../disco/index.js'
import type { Ddfs } from '../ddfs/index.js'
import { DiscoError, isDiscoError } from '../errors.js'
import { decodeKey } from './keyset.js'
import { addErrors, mergeJobStats, type JobStats } from './stats.js'
import { fromReduceWire, REDUCE_ERROR_MARK, STATS_MARK, type InfernoJobParams } from './job-functions.js'
import type { ResultRow, Rule } from './rule.js'
import type { EngineJob, EngineResult, RuleEngine } from './runner.js'
import type { InfernoStore } from './store.js'

const FUNCTIONS = new URL('./job-functions.js', import.meta.url).pathname

/** The Ddfs behind a store made by ddfsStore, if any. */
export function ddfsOfStore(store: InfernoStore): Ddfs | undefined {
  return (store as { ddfs?: Ddfs }).ddfs
}

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
}

/**
 * Creates the Disco engine. The store must come from ddfsStore (the job reads its blobs) and the
 * rule from a rule module (workers import it).
 *
 * @example
 * await runRule(rule, { store: ddfsStore(openStore()), engine: discoEngine() })
 */
export function discoEngine(opts: DiscoEngineOptions = {}): RuleEngine {
  return {
    async run(job: EngineJob): Promise<EngineResult> {
      const ddfs = ddfsOfStore(job.store)
      if (!ddfs) throw new DiscoError('INFERNO_ENGINE', 'expected a DDFS store (ddfsStore) for the Disco engine, found another store')
      const dir = ddfs.dir
      if (!dir) throw new DiscoError('INFERNO_ENGINE', 'expected a DDFS store on a directory for the Disco engine, found one without a directory')
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
        map: { module: FUNCTIONS, export: 'map' },
        mapForm: 'bytes',
        reduce: { module: FUNCTIONS, export: 'reduce' },
        ...(rule.partitionFunction ? { partitioner: { module: FUNCTIONS, export: 'partition' } } : {}),
        partitions: job.partitions,
        params,
        sort: rule.sort,
        ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
        ...(job.maxRecordSize ? { maxRecordSize: job.maxRecordSize } : {}),
      }
      let blobsDone = 0
      // The rule's scheduler.maxCores caps the worker pool (default: one worker per core).
      const own = !opts.executor && job.rule.scheduler.maxCores < availableParallelism()
        ? new WorkerPoolExecutor({ size: Math.max(1, job.rule.scheduler.maxCores) }) : undefined
      const executor = opts.executor ?? own
      const handle = await runJob(spec, {
        store: dir,
        ...(executor ? { executor } : {}),
        onProgress: (p) => {
          if (p.phase === 'map') job.onRecords?.(p.records)
          if (p.phase === 'map' && p.done > blobsDone) {
            for (; blobsDone < p.done; blobsDone++) job.onBlob?.()
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
        collectStats(dir, handle.name, job)
      }
      const rows: AsyncIterable<ResultRow> = {
        async *[Symbol.asyncIterator]() {
          for await (const [k, v] of handle.results()) yield [decodeKey(k), fromReduceWire(v)]
        },
      }
      return { jobName: handle.name, partitions: [rows], purge: () => purgeJob(dir, handle.name), purgeDropsResults: true }
    },
  }
}

/** Sums the per-task statistics lines of the job's event log into the job's counters; forwards the rest to `-D`. */
function collectStats(dir: string, name: string, job: EngineJob): void {
  let events: [string, string, string][]
  try {
    events = jobEvents(dir, name).events
  } catch {
    return
  }
  for (const [, , msg] of events) {
    const i = msg.indexOf(STATS_MARK)
    if (i >= 0) {
      try {
        mergeJobStats(job.stats, { ...(JSON.parse(msg.slice(i + STATS_MARK.length)) as Partial<JobStats>), blobsDone: 1 })
      } catch { /* a malformed line is ignored */ }
      continue
    }
    const j = msg.indexOf(REDUCE_ERROR_MARK)
    if (j >= 0) addErrors(job.stats.reduceErrors, { errors: 1, errorSample: [msg.slice(j + REDUCE_ERROR_MARK.length)] })
    // `-D`: the tasks' debug lines (and the engine's own events) are handed on after the job.
    else job.debug?.(msg)
  }
}
