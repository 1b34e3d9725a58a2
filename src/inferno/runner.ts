// Running a rule end to end (spec inferno.md 2.1, 2.8, 7): input selection, the job, result
// tagging, result processing with retry, archiving; chained rules in concurrent waves.
import { DiscoError, isDiscoError } from '../errors.js'
import type { Params, ResultContext, ResultFormat, ResultProcessor, ResultRow, Rule } from './rules/rule.js'
import { localDay } from './rules/rule.js'
import { newJobStats, runWarnings, type ErrorStats, type JobStats, type ReadStats } from './results/stats.js'
import { jsonRecordLine, keysetResult, mergeRows, reduceResult, withRetry, type RetryPolicy } from './results/processors.js'
import { archiveBlobs, blobRefName, collectBlobs, resolveTagPrefixes, resultTagName, type BlobRef, type TagOverrides } from './reading/tags.js'
import type { InfernoStore } from './reading/inferno-store.js'
import type { FloatFormat } from './rules/values.js'
import type { WorkerPoolExecutor } from '../disco/index.js'
import { resultsTagOf } from './results/saved.js'
import type { EngineResult, RuleEngine } from './keyset/rule-engine.js'
import { discoEngine, runsOnDisco } from './keyset/disco-engine.js'
import { inlineEngine } from './keyset/inline-engine.js'

/** Live progress of a run (for a TTY progress line). */
export interface RunProgress {
  readonly rule: string
  readonly stage: 'select' | 'map' | 'reduce' | 'process' | 'archive' | 'done'
  readonly blobsDone: number
  readonly blobsTotal: number
  readonly records: number
  readonly badLines: number
  /** Stored input bytes read so far (engines that report them; else 0). */
  readonly bytesDone: number
  /** Stored size of all inputs, when the store knows every input's size (see InfernoStore.blobSize). */
  readonly bytesTotal: number | undefined
}

/** Options of runRule. */
export interface RunOptions {
  readonly store: InfernoStore
  /**
   * Where a run records what it committed to (its inputs, its result blob and tag) until it has
   * archived them, so a run killed at any point is resumed over the same inputs and publishes its
   * results once (the daemon passes one kept in its state directory).
   */
  readonly journal?: RunJournal | undefined
  /**
   * Purge the job's data but keep its saved results tag (`disco:results:<job>`), so
   * `--process-results` can run the processor again (what `inferno -i` does).
   */
  readonly keepSavedResults?: boolean | undefined
  /** Test hook: called after each stage's effects (`selected`, `job`, `saved`, `tagged`, `processed`, `archived`). */
  readonly onStage?: ((stage: RunStage) => void | Promise<void>) | undefined
  /** Longest input line in bytes (default 64 MiB); a longer line is a counted bad line. */
  readonly maxRecordSize?: number | undefined
  /** Date/tag overrides (`-S -R -O -t`). */
  readonly overrides?: TagOverrides
  /** `-u`: input URLs instead of the rule's sourceUrls. */
  readonly sourceUrls?: readonly string[] | undefined
  /** `-r`: result tag instead of the rule's. */
  readonly resultTag?: string | undefined
  /** `-f`: ignore minBlobs (zero blobs still skips). */
  readonly force?: boolean
  /** `-d`: raw rows instead of the result processor; no archiving. */
  readonly debug?: boolean
  /** `-D`: every map/reduce step to `log`. */
  readonly discoDebug?: boolean
  /** `-q`: select inputs only; the result has status `skipped` and reason `just query`. */
  readonly justQuery?: boolean
  /** Keep job data (no purge). */
  readonly noPurge?: boolean
  /** Overrides the rule's partition count. */
  readonly partitions?: number
  /** Settings and `-P` params: they override the rule's params. */
  readonly params?: Params
  /** Where the default processors write (default process.stdout). */
  readonly out?: (text: string) => void
  /** Log lines (default none). */
  /** Log lines (default none), with a level: failures are `error`, skips and lost archiving `warn`. */
  readonly log?: (msg: string, level?: 'info' | 'warn' | 'error') => void
  readonly onProgress?: (p: RunProgress) => void
  /** Number format of the CSV processors (Q1, default `g12`). */
  readonly floatFormat?: FloatFormat
  /** Output format of the default result processor (default `csv`). */
  readonly format?: ResultFormat
  /** Back-off of result processing and archiving (Q12). */
  readonly retry?: RetryPolicy
  /** The engine (default: Disco's, see keyset/disco-engine.ts; `inlineEngine` for in-process runs). */
  readonly engine?: RuleEngine
  /**
   * For the default Disco engine: a worker pool the caller started early (and closes), instead
   * of one started by the job (see DiscoEngineOptions.pool).
   */
  readonly pool?: WorkerPoolExecutor
  /** Today as `YYYY-MM-DD` (tests). */
  readonly today?: string
}

/** Outcome of a run. */
export interface RunResult {
  readonly rule: string
  readonly jobName: string
  readonly status: 'done' | 'skipped' | 'failed'
  /** Why it was skipped or failed. */
  readonly reason?: string
  readonly error?: DiscoError
  /**
   * Where a failed run stopped: `select` (input selection), `init` (ruleInitFunction), `job` (the
   * map/reduce), `tag`, `process` or `cleanup`. The original notified only failures after
   * submission (`job` and later).
   */
  readonly failedStage?: 'select' | 'init' | 'job' | 'tag' | 'process' | 'cleanup'
  /** Effective tag prefixes. */
  readonly prefixes: readonly string[]
  /** Tag → blobs read. */
  readonly tags: ReadonlyMap<string, readonly BlobRef[]>
  /** Extra input URLs (sourceUrls and sub-rule results). */
  readonly urls: readonly string[]
  /** Number of input blobs (tag blobs plus URLs). */
  readonly blobs: number
  readonly records: number
  readonly badLines: number
  readonly badSample: readonly string[]
  readonly mapErrors: ErrorStats
  readonly reduceErrors: ErrorStats
  /** Every counter of the run (per blob too): bad, skipped and invalid UTF-8 lines, missing key parts, non-numeric values. */
  readonly stats: JobStats
  /** Rows the result processor read (undefined when it read none or did not run). */
  readonly rowsOut?: number | undefined
  /** What deserves a warning (every line bad, pre-processors dropped everything, 0 rows out); `--strict` fails on them. */
  readonly warnings: readonly string[]
  /** The merged result rows in key order (re-iterable; empty when skipped). */
  readonly results: AsyncIterable<ResultRow>
  /** Result blobs (saved results: JSON-record lines, listed under `disco:results:<job>`). */
  readonly resultBlobs: readonly BlobRef[]
  readonly resultTag?: string
  /** Archive tags written. */
  readonly archived: readonly string[]
  readonly ms: number
}

/** Points after which {@link RunOptions.onStage} is called. */
export type RunStage = 'selected' | 'job' | 'saved' | 'tagged' | 'processed' | 'archived'

/** What a run committed to, kept until its inputs are archived. */
export interface JournalEntry {
  /** The run that wrote it (its first job name). */
  readonly run: string
  /** Source tag → the blobs it contributed, in walk order. */
  readonly tags: ReadonlyArray<readonly [string, readonly BlobRef[]]>
  /** The result blob, once stored. */
  readonly resultBlob?: BlobRef
  /** The result tag it goes under, once named. */
  readonly resultTag?: string
}

/** A small store of one pending run per rule (see {@link RunOptions.journal}). */
export interface RunJournal {
  read(rule: string): Promise<JournalEntry | undefined>
  write(rule: string, entry: JournalEntry): Promise<void>
  clear(rule: string): Promise<void>
}

/**
 * A journal in memory (tests, single-process use).
 * @example await runRule(rule, { store, journal: memoryJournal() })
 */
export function memoryJournal(): RunJournal & { readonly entries: Map<string, JournalEntry> } {
  const entries = new Map<string, JournalEntry>()
  return {
    entries,
    read: async (rule) => entries.get(rule),
    write: async (rule, e) => { entries.set(rule, JSON.parse(JSON.stringify(e)) as JournalEntry) },
    clear: async (rule) => { entries.delete(rule) },
  }
}

let jobSeq = 0

/** A Disco-style job name: `<rule>@<time>:<seq>`. */
export function jobNameFor(rule: Rule): string {
  return `${rule.name}@${Date.now().toString(16)}:${(jobSeq++).toString(16)}`
}

const EMPTY: AsyncIterable<ResultRow> = { async *[Symbol.asyncIterator]() {} }

/** Re-iterable merged view over an engine's partitions. */
function mergedResults(rule: Rule, parts: EngineResult['partitions'], params: Params): AsyncIterable<ResultRow> {
  return {
    [Symbol.asyncIterator]() {
      let rows: AsyncIterable<ResultRow>
      if (rule.sort && rule.sortedResults) rows = mergeRows(parts)
      else rows = (async function* () { for (const p of parts) yield* p })()
      if (rule.resultIteratorOverride) rows = rule.resultIteratorOverride(rows, params)
      return rows[Symbol.asyncIterator]()
    },
  }
}

/** The effective params of a run: rule params overridden by settings and `-P`. */
export function effectiveParams(rule: Rule, opts: Pick<RunOptions, 'params'>): Params {
  return { ...rule.params, ...(opts.params ?? {}) }
}

function failed(base: Omit<RunResult, 'status' | 'reason' | 'error'>, e: unknown, failedStage: NonNullable<RunResult['failedStage']>): RunResult {
  const error = isDiscoError(e) ? e : new DiscoError('INFERNO_JOB_FAILED', `rule ${base.rule}: ${(e as Error)?.message ?? String(e)}`, { cause: e })
  return { ...base, status: 'failed', reason: error.message, error, failedStage }
}

interface SubResults {
  /** Rule name → result blobs of that sub-rule. */
  readonly urls: Map<string, BlobRef[]>
}

/**
 * Runs one rule (and, first, its sub-rules in concurrent waves; section 7). Never throws for a
 * failure of the run itself: the result says `failed` (with `error`) or `skipped` (not enough
 * blobs, just-query).
 *
 * @example
 * const r = await runRule(rule, { store: new MemoryStore(), engine: inlineEngine })
 * r.status // 'done'
 */
export async function runRule(rule: Rule, opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now()
  const subs: SubResults = { urls: new Map() }
  const purges: (() => Promise<void>)[] = []
  const waves = ruleWaves(rule)
  try {
    for (const wave of waves.slice(0, -1)) {
      const results = await Promise.all(wave.map((r) => runOne(r, opts, subs, true, purges)))
      const bad = results.find((r) => r.status !== 'done')
      if (bad) {
        const reason = bad.status === 'skipped' ? `sub-rule ${bad.rule} skipped: ${bad.reason}` : `sub-rule ${bad.rule} failed: ${bad.reason}`
        return { ...bad, rule: rule.name, status: 'failed', reason, error: new DiscoError('INFERNO_SUBRULE_FAILED', reason), ms: Date.now() - t0 }
      }
    }
    const top = await runOne(rule, opts, subs, false, purges)
    return { ...top, ms: Date.now() - t0 }
  } finally {
    if (!opts.noPurge) for (const p of purges) await p().catch(() => {})
  }
}

/**
 * The rule tree flattened bottom-up into waves (section 7): a rule is runnable once all its
 * sub-rules ran; duplicates removed; the top rule alone in the last wave.
 */
export function ruleWaves(top: Rule): Rule[][] {
  // Rules are identified by name: the same sub-rule under two parents runs once.
  const depth = new Map<string, { rule: Rule; d: number }>()
  const visit = (r: Rule, stack: Set<string>): number => {
    if (stack.has(r.name)) throw new DiscoError('INFERNO_RULE_INVALID', `rule ${r.name} is its own sub-rule`)
    const known = depth.get(r.name)
    if (known !== undefined) return known.d
    stack.add(r.name)
    const d = r.subRules.length === 0 ? 0 : 1 + Math.max(...r.subRules.map((s) => visit(s, stack)))
    stack.delete(r.name)
    depth.set(r.name, { rule: r, d })
    return d
  }
  const topDepth = visit(top, new Set())
  const waves: Rule[][] = Array.from({ length: topDepth + 1 }, () => [])
  for (const { rule, d } of depth.values()) if (rule.name !== top.name) waves[d]!.push(rule)
  waves[topDepth] = [top]
  return waves.filter((w, i) => w.length > 0 || i === topDepth)
}

async function runOne(rule: Rule, opts: RunOptions, subs: SubResults, isSub: boolean,
  purges: (() => Promise<void>)[]): Promise<RunResult> {
  const t0 = Date.now()
  const log = opts.log ?? (() => {})
  const today = opts.today ?? localDay(new Date())
  let jobName = jobNameFor(rule)
  const params = effectiveParams(rule, opts)
  const stats = newJobStats()
  const base: Omit<RunResult, 'status' | 'reason' | 'error'> & { jobName: string; results: AsyncIterable<ResultRow>; resultBlobs: BlobRef[] } = {
    rule: rule.name, jobName, prefixes: [] as string[], tags: new Map<string, BlobRef[]>(), urls: [] as string[],
    blobs: 0, records: 0, badLines: 0, badSample: [] as string[], mapErrors: stats.mapErrors,
    reduceErrors: stats.reduceErrors, stats, warnings: [] as string[], results: EMPTY, resultBlobs: [] as BlobRef[], archived: [] as string[], ms: 0,
  }
  let rowsOut: number | undefined
  let liveLines = 0
  let liveBlobs = 0
  let bytesDone = 0
  let bytesTotal: number | undefined
  const progress = (stage: RunProgress['stage']) => opts.onProgress?.({
    rule: rule.name, stage, blobsDone: Math.max(stats.blobsDone, liveBlobs), blobsTotal: base.blobs,
    records: Math.max(stats.read.records, liveLines), badLines: stats.read.badLines, bytesDone, bytesTotal,
  })
  let stage: NonNullable<RunResult['failedStage']> = 'select'
  const hasPre = rule.partsPreprocess.length > 0 || Object.values(rule.keysets).some((k) => k.partsPreprocess.length > 0)
  const finish = (r: RunResult): RunResult => ({
    ...r, ...readFigures(stats.read), rowsOut,
    warnings: r.status === 'done' ? runWarnings(stats, rowsOut, hasPre) : [], ms: Date.now() - t0,
  })
  try {
    // 2.1 Input selection.
    progress('select')
    stage = 'select'
    const prefixes = rule.sourceTags.length > 0 || (opts.overrides?.sourceTags?.length ?? 0) > 0
      ? resolveTagPrefixes(rule, opts.overrides, today) : []
    // A run that was killed before archiving its inputs is resumed over exactly those inputs.
    const journal = isSub || opts.debug || opts.justQuery ? undefined : opts.journal
    let entry = journal ? await journal.read(rule.name) : undefined
    if (entry) {
      log(`${rule.name}: resuming run ${entry.run} over the ${entry.tags.reduce((n, [, b]) => n + b.length, 0)} blob(s) it had selected (it ended before archiving them)`)
    }
    const { tags, count } = entry
      ? { tags: new Map(entry.tags.map(([t, b]) => [t, [...b]])), count: entry.tags.reduce((n, [, b]) => n + b.length, 0) }
      : prefixes.length > 0
        ? await collectBlobs(opts.store, prefixes, {
          archive: rule.archive, archivePrefix: rule.archiveTagPrefix, newestFirst: rule.newestFirst, maxBlobs: rule.maxBlobs, warn: log,
        })
        : { tags: new Map<string, BlobRef[]>(), count: 0 }
    const urls: string[] = []
    const given = opts.sourceUrls ?? (typeof rule.sourceUrls === 'function' ? rule.sourceUrls({ rule, params }) : rule.sourceUrls) ?? []
    urls.push(...given)
    const subBlobs: BlobRef[] = rule.subRules.flatMap((s) => subs.urls.get(s.name) ?? [])
    const inputs: BlobRef[] = [...[...tags.values()].flat(), ...urls.map((u) => [u]), ...subBlobs]
    Object.assign(base, { prefixes, tags, urls: [...urls, ...subBlobs.map((b) => b[0]!)], blobs: inputs.length })
    if (opts.justQuery) return finish({ ...base, status: 'skipped', reason: 'just query' })
    const noTags = prefixes.length === 0
    const enough = noTags ? inputs.length > 0 : count > 0 && (count >= rule.minBlobs || opts.force === true)
    if (!enough) {
      const reason = `not enough blobs to run ${rule.name}: ${rule.minBlobs} blobs required, has ${noTags ? inputs.length : count}`
      log(`Skipping job ${rule.name}: ${reason}`, 'warn')
      return finish({ ...base, status: 'skipped', reason })
    }
    if (journal && !entry && count > 0) {
      entry = { run: jobName, tags: [...tags] }
      await journal.write(rule.name, entry)
    }
    await opts.onStage?.('selected')
    // 2.1 step 8: client-side init may change params.
    stage = 'init'
    await rule.ruleInitFunction?.(params)
    stage = 'job'
    const resultTagBase = opts.resultTag ?? rule.resultTag
    const engine = opts.engine ?? defaultEngine(rule, opts.store, opts.pool)
    if (opts.onProgress) bytesTotal = await storedSize(opts.store, inputs)
    progress('map')
    const res = await engine.run({
      rule, jobName, store: opts.store, inputs, params, stats,
      partitions: opts.partitions ?? rule.partitions,
      debug: opts.discoDebug ? (m) => log(`${jobName}: ${m}`) : undefined,
      onBlob: () => { liveBlobs++; progress('map') },
      onRecords: (n) => { liveLines = n; progress('map') },
      onBytes: (n) => { bytesDone = n; progress('map') },
      onReduce: () => progress('reduce'),
      maxRecordSize: opts.maxRecordSize,
    })
    jobName = res.jobName
    base.jobName = jobName
    await opts.onStage?.('job')
    let purged = false
    purges.push(() => { purged = res.purgeDropsResults; return res.purge() })
    const merged = mergedResults(rule, res.partitions, params)
    const results: AsyncIterable<ResultRow> = {
      [Symbol.asyncIterator]() {
        if (purged) {
          throw new DiscoError('INFERNO_RESULTS_PURGED', `expected the results of job ${jobName} to be kept, found them purged (run with noPurge: true to read them after the run)`)
        }
        return merged[Symbol.asyncIterator]()
      },
    }
    base.results = results
    // Saved results (Q15: an effective result tag always saves): one JSON-record blob.
    // A resumed run whose result blob is already under its result tag does not publish another.
    const published = entry?.resultBlob !== undefined && entry.resultTag !== undefined
      && (await opts.store.blobs(entry.resultTag)).some((b) => blobRefName(b) === blobRefName(entry!.resultBlob!))
    if (published) {
      log(`${rule.name}: the results of run ${entry!.run} are already under ${entry!.resultTag}; not published again`)
      base.resultBlobs = [entry!.resultBlob!]
    } else if (isSub || resultTagBase !== undefined || rule.save) {
      const tag = resultsTagOf(jobName)
      // Stored and tagged as one GC-safe write; the journal learns the blob in between.
      const blob = await opts.store.saveLines(tag, `${rule.name}-results`, resultLinesAsync(rule, results), async (stored) => {
        if (journal && entry) {
          entry = { ...entry, resultBlob: stored }
          await journal.write(rule.name, entry)
        }
      })
      base.resultBlobs = [blob]
      if (!opts.keepSavedResults) purges.push(() => opts.store.deleteTag(tag))
      await opts.onStage?.('saved')
    }
    if (isSub) {
      // Sub-rules only run their job (section 7, Q9): their results feed the parent.
      subs.urls.set(rule.name, [...base.resultBlobs])
      return finish({ ...base, status: 'done' })
    }
    // 2.8 step 3: result tag (an effective result tag always saves, Q15).
    let resultTag: string | undefined
    if (resultTagBase !== undefined) {
      stage = 'tag'
      // A resumed run keeps the tag it named first (the name may hold the first job's name).
      resultTag = entry?.resultTag ?? resultTagName(resultTagBase, rule.resultTagSuffix, prefixes, jobName, today)
      const tagName = resultTag
      if (journal && entry && entry.resultTag === undefined) {
        entry = { ...entry, resultTag: tagName }
        await journal.write(rule.name, entry)
      }
      if (!published) await withRetry(() => opts.store.append(tagName, base.resultBlobs), opts.retry, `tagging results under ${tagName}`)
      await opts.onStage?.('tagged')
    }
    // 2.8 step 4: result processing, retried (processors must be idempotent).
    progress('process')
    stage = 'process'
    const processor: ResultProcessor | null = opts.debug ? reduceResult : rule.resultProcessor === undefined ? keysetResult : rule.resultProcessor
    if (processor) {
      const ctx: ResultContext = {
        rule, params, jobName, out: opts.out ?? ((s) => { process.stdout.write(s) }), floatFormat: opts.floatFormat ?? 'g12', format: opts.format ?? 'csv',
      }
      // Rows the processor reads are counted (a retry counts afresh) for the "0 rows out" warning.
      const counted: AsyncIterable<ResultRow> = {
        async *[Symbol.asyncIterator]() {
          rowsOut = 0
          for await (const row of results) { rowsOut++; yield row }
        },
      }
      await withRetry(() => processor(counted, ctx), opts.retry, `result processing of ${rule.name}`)
    }
    await opts.onStage?.('processed')
    // 2.8 step 6: archive (not in debug mode); errors are logged, not raised.
    let archived: string[] = []
    let archiveFailed = false
    if (rule.archive && !opts.debug) {
      progress('archive')
      try {
        archived = await withRetry(() => archiveBlobs(opts.store, tags, rule.archiveTagPrefix), opts.retry, `archiving for ${rule.name}`)
      } catch (e) {
        archiveFailed = true
        log(`archiving failed for ${rule.name}: ${(e as Error).message}`, 'warn')
      }
    }
    await opts.onStage?.('archived')
    // Inputs archived (or nothing to archive): the run is complete and is not resumed again. A
    // failed archive keeps the entry, so the next run finishes this one instead of counting again.
    if (journal && entry && !archiveFailed) await journal.clear(rule.name)
    stage = 'cleanup'
    await rule.ruleCleanup?.(finish({ ...base, status: 'done', archived, ...(resultTag ? { resultTag } : {}) }))
    progress('done')
    return finish({ ...base, status: 'done', archived, ...(resultTag ? { resultTag } : {}) })
  } catch (e) {
    log(`rule ${rule.name} failed: ${(e as Error)?.message ?? String(e)}`, 'error')
    return finish(failed(base, e, stage))
  }
}

function readFigures(r: ReadStats): Pick<RunResult, 'records' | 'badLines' | 'badSample'> {
  return { records: r.records, badLines: r.badLines, badSample: [...r.badSample] }
}


/** Rows as JSON-record lines (what a saved result blob holds). */
async function* resultLinesAsync(rule: Rule, rows: AsyncIterable<ResultRow>): AsyncGenerator<string> {
  for await (const row of rows) yield jsonRecordLine(rule, row)
}

/** The stored size of all inputs, or undefined when the store cannot tell one of them. */
async function storedSize(store: InfernoStore, inputs: readonly BlobRef[]): Promise<number | undefined> {
  const size = store.blobSize?.bind(store)
  if (!size) return undefined
  // Asked 32 at a time: a run may have many inputs.
  let total = 0
  for (let i = 0; i < inputs.length; i += 32) {
    for (const n of await Promise.all(inputs.slice(i, i + 32).map((b) => size(b).catch(() => undefined)))) {
      if (n === undefined) return undefined
      total += n
    }
  }
  return total
}

/**
 * The engine when none is given: Disco when the store comes with
 * Disco stores (ddfsStore(ddfs, stores)) and the rule from a rule module (workers import it); else
 * the in-process engine.
 */
function defaultEngine(rule: Rule, store: InfernoStore, pool: WorkerPoolExecutor | undefined): RuleEngine {
  if (store.disco && runsOnDisco(rule)) return discoEngine({ stores: store.disco, ...(pool ? { pool } : {}) })
  return inlineEngine
}
