// The functions Disco workers load by path (never closures): they import the rule module the task
// names (`ctx.modules.rule`; a cluster worker's copy comes from a job pack), find the rule (or
// sub-rule) by name, restrict it to the job's keysets and run the keyset map / reduce of blob-tasks.ts.
import { basename, extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Emit, TaskContext } from '../../disco/index.js'
import { DiscoError } from '../../errors.js'
import { mapBytes, newJobStats, partitionOf, reducePartition } from './blob-tasks.js'
import { cappedDebug, suppressedNote, type DebugLines } from './debug-lines.js'
import { addOversized } from '../reading/readers.js'
import { encodeKey, type ErrorStats } from './map-reduce.js'
import { findRuleByName, loadRuleModule } from '../rules/lookup.js'
import { withRule, type Params, type Rule } from '../rules/rule.js'
import { BlockScanner } from '../../util/json-block.js'
import { reduceWire } from './wire.js'

// A pool thread imports this module ahead of its first task (WorkerPoolExecutor.preload) and most
// often waits for that task while the runner selects inputs and records the job: the block
// scanner's WebAssembly module (10-20 ms to assemble and compile) is built then, not in the first
// map task. Unref'd: it never holds a process that has nothing else to do. A failure is left to
// the first task that makes a scanner (it meets the same error and reports it as the task's).
setImmediate(() => {
  try {
    BlockScanner.prepare()
  } catch {}
}).unref()

/** The params of an Inferno job on Disco (plain JSON). */
export interface InfernoJobParams {
  /** Absolute path of the rule module where the job was started (workers import `ctx.modules.rule`). */
  readonly module: string
  /** Rule (or sub-rule) name inside it. */
  readonly rule: string
  /** The keysets this job computes (a `module.rule.keyset` address keeps one). */
  readonly keysets: readonly string[]
  /** The effective user params (rule params, settings, `-P`, rule init changes). */
  readonly params: Params
  /** `-D`: log every step to the job's event log. */
  readonly debug: boolean
}

/** What an Inferno task reports to its Disco job (`ctx.report`): counters as data. */
export interface InfernoTaskStats {
  read?: unknown
  map?: unknown
  blobs?: unknown
  mapErrors?: unknown
  reduceErrors?: unknown
  /** `-D` debug lines a reduce task counted past its cap (the job notes them when it ends). */
  debugSuppressed?: number
}

const rules = new Map<string, Promise<Rule>>()
/** The rule each job's params name, once loaded in this worker (for the synchronous partitioner). */
const loaded = new Map<string, Rule>()

function ruleId(p: InfernoJobParams): string {
  return `${p.module}\u0000${p.rule}\u0000${p.keysets.join(',')}`
}

/**
 * Loads (once per worker and module) the rule a job runs, from the module the task was given
 * (`ctx.modules.rule`: the rule module itself, or its copy from a job pack), else `p.module`.
 */
export function jobRule(p: InfernoJobParams, ctx?: Pick<TaskContext, 'modules'>): Promise<Rule> {
  const given = ctx?.modules.rule
  const id = `${given ?? p.module}\u0000${ruleId(p)}`
  let r = rules.get(id)
  if (!r) {
    r = (async () => {
      const path = given === undefined ? p.module : given.startsWith('file:') ? fileURLToPath(given) : given
      // Named after the original file, whichever copy is imported.
      const mod = await loadRuleModule(path, basename(p.module, extname(p.module)))
      const rule = findRuleByName(mod.rules, p.rule)
      if (!rule) throw new DiscoError('INFERNO_RULE_NOT_FOUND', `expected rule ${p.rule} in ${p.module}, found none`)
      const keysets: Record<string, Rule['keysets'][string]> = {}
      for (const k of p.keysets) {
        const ks = rule.keysets[k]
        if (!ks) throw new DiscoError('INFERNO_RULE_NOT_FOUND', `expected keyset ${k} in rule ${p.rule}, found none`)
        keysets[k] = ks
      }
      return withRule(rule, { keysets: Object.freeze(keysets) })
    })()
    r.catch(() => rules.delete(id))
    rules.set(id, r)
  }
  return r
}

/** Map-side values on the wire: bigints as decimal text (the reduce coerces them back exactly). */
function mapWire(values: unknown[]): unknown[] {
  return values.some((v) => typeof v === 'bigint') ? values.map((v) => (typeof v === 'bigint' ? v.toString() : v)) : values
}

/**
 * Disco map (bytes form): one input blob's bytes → lines → reader (or the field scanner) → keyset
 * map → combiner → emit. Reader and map statistics are reported as data, once per task.
 */
export async function map(bytes: AsyncIterable<Uint8Array>, p: InfernoJobParams, emit: Emit, ctx: TaskContext): Promise<void> {
  const rule = await jobRule(p, ctx)
  loaded.set(ruleId(p), rule) // for partition(), called while this task maps
  const stats = newJobStats()
  const debug = p.debug ? cappedDebug((m) => ctx.log(m)) : undefined
  await mapBytes({ rule, params: p.params, debug: debug?.log, blob: ctx.input, onNewlines: ctx.newlines, borrowed: true }, bytes,
    (k, v) => emit(k, mapWire(v)), stats, ctx.lines)
  if (debug && debug.suppressed() > 0) ctx.log(suppressedNote(debug.suppressed()))
  // Lines Disco skipped as longer than the maximum record size are bad lines of this blob.
  if (ctx.oversized) addOversized(stats.read, ctx.oversized, stats.blobs.at(-1))
  ctx.report({ read: stats.read, map: stats.map, mapErrors: stats.mapErrors, blobs: stats.blobs } satisfies InfernoTaskStats)
}

// mapBytes is done with a chunk once it asks for the next (its splitter copies an unfinished line):
// Disco may read a plain blob or file into one buffer over and over.
map.reusesChunks = true
// The splitter in mapBytes counts the lines: Disco need not scan the bytes for newlines again.
map.countsNewlines = true

const initialised = new Set<string>()
/** Reduce errors so far of each reduce task attempt in this worker (reported cumulatively). */
const reduceErrors = new Map<string, ErrorStats>()
/** The capped `-D` lines of each reduce task attempt in this worker. */
const reduceDebug = new Map<string, DebugLines>()

/** Disco reduce: one key's values → sum → keyset post-processors → emit (encoded key, values). */
export async function reduce(key: string, values: Iterable<unknown>, p: InfernoJobParams, emit: Emit, ctx: TaskContext): Promise<void> {
  const rule = await jobRule(p, ctx)
  const stats = newJobStats()
  const pairs = (function* () {
    for (const v of values) yield [key, Array.isArray(v) ? v : [v]] as const
  })()
  // reduceInitFunction runs once per reduce task attempt, before its first key.
  const task = `${ctx.job}/${ctx.task}/${ctx.attempt}`
  const init = !initialised.has(task)
  initialised.add(task)
  let debug = reduceDebug.get(task)
  if (p.debug && !debug) reduceDebug.set(task, (debug = cappedDebug((m) => ctx.log(m))))
  for (const [k, v] of reducePartition(rule, p.params, pairs, stats, debug?.log, init)) {
    emit(encodeKey(k), reduceWire(v))
  }
  // Reduce has no end-of-task call: errors and dropped debug lines are reported cumulatively.
  const acc = reduceErrors.get(task) ?? { errors: 0, errorSample: [] }
  if (stats.reduceErrors.errors > 0) {
    reduceErrors.set(task, acc)
    acc.errors += stats.reduceErrors.errors
    for (const e of stats.reduceErrors.errorSample) if (acc.errorSample.length < 5) acc.errorSample.push(e)
  }
  const dropped = debug?.suppressed() ?? 0
  if (stats.reduceErrors.errors > 0 || dropped > 0) {
    ctx.report({ ...(acc.errors > 0 ? { reduceErrors: acc } : {}), ...(dropped > 0 ? { debugSuppressed: dropped } : {}) } satisfies InfernoTaskStats)
  }
}

/**
 * Disco partitioner for rules with a partitionFunction: hands it the key as JSON text (section
 * 2.4). Called only after map loaded the rule in this worker.
 */
export function partition(key: string, partitions: number, p: InfernoJobParams): number {
  const rule = loaded.get(ruleId(p))
  if (!rule) throw new DiscoError('INFERNO_ENGINE', `expected rule ${p.rule} to be loaded before partitioning, found it missing`)
  return partitionOf(rule, key, partitions)
}
