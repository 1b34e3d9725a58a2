// The rule DSL: defineRule / defineKeyset (spec inferno.md sections 3-5), frozen normalised data.
import { DiscoError } from '../../errors.js'
import { didYouMean } from '../../util/suggest.js'
import type { Num } from './values.js'
import type { FloatFormat } from './values.js'

/** One input record: a decoded JSON object or a CSV row mapped onto field names. */
export type Parts = Record<string, unknown>

/** Job parameters: plain data (JSON-able) that travels to the workers; settings and `-P` override it. */
export type Params = Record<string, unknown>

/** A key as seen by reduce and result processors: `[keysetName, k1, k2, …]`, all text. */
export type Key = string[]

/** One reduce output: the key and its (summed, possibly post-processed) values. */
export type ResultRow = [key: Key, values: unknown[]]

/** What a pre-processor may give back: nothing (drop), one record, or any number of records. */
export type PreprocessOutput = Iterable<Parts> | Parts | null | undefined | void

/**
 * A map-side pre-processor `(parts, params) → 0..n parts` (section 2.3): filter, enrich or explode.
 * Generator functions are the natural form.
 *
 * @example
 * const count: Preprocessor = (parts) => { parts.count = 1; return parts }
 */
export type Preprocessor = (parts: Parts, params: Params) => PreprocessOutput

/** What a post-processor may give back: nothing, one `[key, values]` pair, or any number of them. */
export type PostprocessOutput = Iterable<ResultRow> | ResultRow | null | undefined | void

/**
 * A reduce-side post-processor `(key, values, params) → 0..n (key, values)` (section 2.5 step 4).
 *
 * @example
 * const atLeastTwo: Postprocessor = function* (key, values) { if (Number(values[0]) >= 2) yield [key, values] }
 */
export type Postprocessor = (key: Key, values: Num[] | unknown[], params: Params) => PostprocessOutput

/** A field transform: the new value of a field that is present in the record. */
export type FieldTransform = (value: unknown) => unknown

/** Built-in readers (section 2.2). The `chunk_*`/`gzip_*` names of the original map onto them. */
export type ReaderName = 'csv' | 'json' | 'dynamic'
  | 'chunk_csv_stream' | 'chunk_json_stream' | 'chunk_dynamic_stream' | 'gzip_csv_stream' | 'gzip_json_stream'

/** A CSV dialect: delimiter and quote character (Excel: `,` and `"`). */
export interface CsvDialect { readonly delimiter: string; readonly quotechar: string }

/** Context handed to result processors. */
export interface ResultContext {
  readonly rule: Rule
  readonly params: Params
  readonly jobName: string
  /** Where the default processors write (stdout in the CLI). */
  readonly out: (text: string) => void
  readonly floatFormat: FloatFormat
  /** Output format of the default processor: `csv` (default, the original's dialect), `tsv` or `json` (one JSON record per line). */
  readonly format?: ResultFormat
}

/** Output formats of the default result processor. */
export type ResultFormat = 'csv' | 'tsv' | 'json'

/**
 * A result processor (section 2.7): consumes the merged rows. It must be idempotent: a failing
 * processor is retried with back-off (section 2.8, Q12).
 */
export type ResultProcessor = (rows: AsyncIterable<ResultRow>, ctx: ResultContext) => void | Promise<void>

/** Daemon schedule (section 11.2): a time delta, or once a day after an hour and/or on a weekday. */
export type Schedule =
  | { readonly weeks?: number; readonly days?: number; readonly hours?: number; readonly minutes?: number; readonly seconds?: number }
  | { readonly oclock?: number; readonly weekday?: Weekday }

export type Weekday = 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday'

/** Options for `source_urls` given as a function (section 2.1 step 5). */
export interface SourceUrlOptions { readonly rule: Rule; readonly params: Params }

/** Keyword arguments of defineKeyset (section 4). */
export interface KeysetOptions {
  /** Group-by fields; empty means one grand total. */
  readonly keyParts?: readonly string[]
  /** Fields summed per group (missing → 0). */
  readonly valueParts?: readonly string[]
  /** Output header renames of key or value names. */
  readonly columnMappings?: Readonly<Record<string, string>>
  /** Free label for custom result processors (e.g. a database table). */
  readonly table?: string
  /** Map-side pre-processors for this keyset only (after rule-level ones and transforms). */
  readonly partsPreprocess?: readonly Preprocessor[]
  /** Reduce-side post-processors for this keyset. */
  readonly partsPostprocess?: readonly Postprocessor[]
}

/** A normalised keyset: `keyParts` starts with `_keyset` (RL-02). */
export interface Keyset {
  readonly kind: 'keyset'
  readonly keyParts: readonly string[]
  readonly valueParts: readonly string[]
  readonly columnMappings: Readonly<Record<string, string>>
  readonly table: string | undefined
  readonly partsPreprocess: readonly Preprocessor[]
  readonly partsPostprocess: readonly Postprocessor[]
}

/** Keyword arguments of defineRule: every keyword of section 3, camel-cased. */
export interface RuleOptions {
  /** Rule name, `[A-Za-z0-9_]` (default `_unnamed_`). */
  readonly name?: string
  /** False: the daemon never starts it (default true). */
  readonly run?: boolean
  /** Skip the job when fewer blobs are found, unless forced (default 1). */
  readonly minBlobs?: number
  /** Global cap on blobs per job (default unlimited). */
  readonly maxBlobs?: number
  /** Reduce partitions (default 200). */
  readonly partitions?: number
  /** Key JSON text → partition (default CRC32 mod n). */
  readonly partitionFunction?: (keyJson: string, partitions: number) => number
  /** Scheduler hints for the engine. */
  readonly scheduler?: { readonly forceLocal?: boolean; readonly maxCores?: number }
  /** Daemon schedule (default `{ minutes: 5 }`). */
  readonly timeDelta?: Schedule
  /** Sort matched tag names newest first (default true). */
  readonly newestFirst?: boolean
  /** Exclude archived blobs and archive processed ones on success (default false). */
  readonly archive?: boolean
  /** First tag-name component of archive tags (default `processed`). */
  readonly archiveTagPrefix?: string
  /** > 0: rewrite source tags to today … today−N at definition time. */
  readonly archiveLookback?: number
  /** Recorded only; never acted on (Q6). */
  readonly nuke?: boolean
  /** Called once per map task with the params. */
  readonly mapInitFunction?: (params: Params) => void
  /** Replaces the keyset map: `(parts, params) → (key, values)` pairs. */
  readonly mapFunction?: (parts: Parts, params: Params) => Iterable<ResultRow>
  /** Reader (default `csv`). */
  readonly mapInputStream?: ReaderName
  /** Use the automatic summing combiner (default true; ignored with a custom reduce). */
  readonly combiner?: boolean
  /** Called once per reduce task with the params. */
  readonly reduceInitFunction?: (params: Params) => void
  /** Replaces the keyset reduce: key-sorted pairs in, rows out. */
  readonly reduceFunction?: (pairs: Iterable<ResultRow>, params: Params) => Iterable<ResultRow>
  /** `json`: results are JSON records (for chaining, section 2.7). */
  readonly reduceOutputStream?: 'default' | 'json'
  /** Replaces the merged result iterator. */
  readonly resultIteratorOverride?: (rows: AsyncIterable<ResultRow>, params: Params) => AsyncIterable<ResultRow>
  /** Default: CSV to the output (section 2.7); null: no processing. */
  readonly resultProcessor?: ResultProcessor | null
  /** Publish results under `<resultTag>:<suffix>` (section 8.4). */
  readonly resultTag?: string
  /** `true` (default): date guess or job name; `'date'`: today; false: job name. */
  readonly resultTagSuffix?: boolean | 'date'
  /** Save results into the store (forced by an effective result tag, Q15). */
  readonly save?: boolean
  /** Reduce-side sort (default true). */
  readonly sort?: boolean
  /** Key-ordered merge of partition results (default true). */
  readonly sortedResults?: boolean
  /** Named keysets; when given, the rule-level key/value/mapping/table/keyset hooks must be absent (Q5). */
  readonly keysets?: Readonly<Record<string, Keyset | KeysetOptions>>
  readonly keyParts?: readonly string[]
  readonly valueParts?: readonly string[]
  readonly columnMappings?: Readonly<Record<string, string>>
  readonly table?: string
  /** Keyset pre-processors of the `_default` keyset. */
  readonly keysetPartsPreprocess?: readonly Preprocessor[]
  /** Post-processors of the `_default` keyset. */
  readonly partsPostprocess?: readonly Postprocessor[]
  /** Number of days of date-suffixed source tags (section 8.2). */
  readonly dayRange?: number
  readonly dayOffset?: number
  /** `YYYY-MM-DD` (default today). */
  readonly dayStart?: string | Date
  /** Tag prefixes, or sub-rules (section 7). A single string is accepted. */
  readonly sourceTags?: string | readonly (string | Rule)[]
  /** Extra input URLs, or a function returning them. */
  readonly sourceUrls?: readonly string[] | ((opts: SourceUrlOptions) => readonly string[])
  /** Client-side, before submission: may add or change params. */
  readonly ruleInitFunction?: (params: Params) => void | Promise<void>
  /** After success. */
  readonly ruleCleanup?: (result: unknown) => void | Promise<void>
  /** Rule-level pre-processors (section 2.3 step 1). */
  readonly partsPreprocess?: readonly Preprocessor[]
  /** Field → transform, applied to present fields after the rule-level pre-processors. */
  readonly fieldTransforms?: Readonly<Record<string, FieldTransform>>
  /**
   * The input fields the pre-processors (rule and keyset level) read. Declaring them lets a JSON
   * rule's map decode only the fields the rule uses (the fast path); without it every record is
   * parsed whole whenever the rule has pre-processors.
   */
  readonly preprocessReads?: readonly string[]
  /** Daemon retry after failure (section 11.3). */
  readonly retry?: boolean
  readonly retryLimit?: number
  /** Hours between retries. */
  readonly retryDelay?: number
  readonly notifyOnFail?: boolean
  readonly notifyOnSuccess?: boolean
  readonly notifyAddresses?: readonly string[]
  readonly notifyPagerduty?: boolean
  readonly notifyPagerdutyKey?: string
  /** CSV field names (default `"0"`, `"1"`, … from the first row). */
  readonly csvFields?: readonly string[]
  /** CSV dialect (default Excel). */
  readonly csvDialect?: 'excel' | 'excel-tab' | CsvDialect
  /** Overrides the dialect's delimiter. */
  readonly delimiter?: string
  /** Output `("k1,k2", JSON values)` instead of `(key, values)`. */
  readonly serialOut?: boolean
  /** User parameters (the original's "any other keyword"; here only under `params`). */
  readonly params?: Params
}

/** A normalised, frozen rule (see defineRule). */
export interface Rule {
  readonly kind: 'rule'
  readonly name: string
  readonly run: boolean
  readonly minBlobs: number
  readonly maxBlobs: number | undefined
  readonly partitions: number
  readonly partitionFunction: ((keyJson: string, partitions: number) => number) | undefined
  readonly scheduler: { readonly forceLocal: boolean; readonly maxCores: number }
  readonly timeDelta: Schedule
  readonly newestFirst: boolean
  readonly archive: boolean
  readonly archiveTagPrefix: string
  readonly archiveLookback: number
  readonly nuke: boolean
  readonly mapInitFunction: ((params: Params) => void) | undefined
  readonly mapFunction: ((parts: Parts, params: Params) => Iterable<ResultRow>) | undefined
  readonly mapInputStream: 'csv' | 'json' | 'dynamic'
  readonly combiner: boolean
  readonly reduceInitFunction: ((params: Params) => void) | undefined
  readonly reduceFunction: ((pairs: Iterable<ResultRow>, params: Params) => Iterable<ResultRow>) | undefined
  readonly reduceOutputStream: 'default' | 'json'
  readonly resultIteratorOverride: RuleOptions['resultIteratorOverride']
  /** `undefined` means the default CSV processor; `null` disables processing. */
  readonly resultProcessor: ResultProcessor | null | undefined
  readonly resultTag: string | undefined
  readonly resultTagSuffix: boolean | 'date'
  readonly save: boolean
  readonly sort: boolean
  readonly sortedResults: boolean
  readonly keysets: Readonly<Record<string, Keyset>>
  readonly dayRange: number
  readonly dayOffset: number
  readonly dayStart: string | undefined
  /** Tag prefixes (strings only). */
  readonly sourceTags: readonly string[]
  /** Sub-rules found in `sourceTags` (section 7). */
  readonly subRules: readonly Rule[]
  readonly sourceUrls: RuleOptions['sourceUrls']
  readonly ruleInitFunction: RuleOptions['ruleInitFunction']
  readonly ruleCleanup: RuleOptions['ruleCleanup']
  readonly partsPreprocess: readonly Preprocessor[]
  readonly fieldTransforms: Readonly<Record<string, FieldTransform>>
  /** The input fields the pre-processors read, when the rule declares them. */
  readonly preprocessReads: readonly string[] | undefined
  readonly retry: boolean
  readonly retryLimit: number
  readonly retryDelay: number
  readonly notifyOnFail: boolean
  readonly notifyOnSuccess: boolean
  readonly notifyAddresses: readonly string[]
  readonly notifyPagerduty: boolean
  readonly notifyPagerdutyKey: string | undefined
  readonly csvFields: readonly string[] | undefined
  readonly csvDialect: CsvDialect
  readonly serialOut: boolean
  /** User parameters (plain data). */
  readonly params: Readonly<Params>
  /** `module.rule` once loaded from a rules directory. */
  readonly qualifiedName: string | undefined
  /** Absolute path of the rule module it was loaded from (workers import it). */
  readonly modulePath: string | undefined
  /** `<InfernoRule: name>`. */
  toString(): string
}

const DIALECTS: Record<string, CsvDialect> = {
  excel: { delimiter: ',', quotechar: '"' },
  'excel-tab': { delimiter: '\t', quotechar: '"' },
}

const READERS: Record<ReaderName, Rule['mapInputStream']> = {
  csv: 'csv', json: 'json', dynamic: 'dynamic',
  chunk_csv_stream: 'csv', chunk_json_stream: 'json', chunk_dynamic_stream: 'dynamic',
  gzip_csv_stream: 'csv', gzip_json_stream: 'json',
}

const RULE_KEYS = new Set<string>([
  'name', 'run', 'minBlobs', 'maxBlobs', 'partitions', 'partitionFunction', 'scheduler', 'timeDelta',
  'newestFirst', 'archive', 'archiveTagPrefix', 'archiveLookback', 'nuke', 'mapInitFunction', 'mapFunction',
  'mapInputStream', 'combiner', 'reduceInitFunction', 'reduceFunction', 'reduceOutputStream',
  'resultIteratorOverride', 'resultProcessor', 'resultTag', 'resultTagSuffix', 'save', 'sort', 'sortedResults',
  'keysets', 'keyParts', 'valueParts', 'columnMappings', 'table', 'keysetPartsPreprocess', 'partsPostprocess',
  'dayRange', 'dayOffset', 'dayStart', 'sourceTags', 'sourceUrls', 'ruleInitFunction', 'ruleCleanup',
  'partsPreprocess', 'fieldTransforms', 'preprocessReads', 'retry', 'retryLimit', 'retryDelay', 'notifyOnFail', 'notifyOnSuccess',
  'notifyAddresses', 'notifyPagerduty', 'notifyPagerdutyKey', 'csvFields', 'csvDialect', 'delimiter',
  'serialOut', 'params',
])

const KEYSET_KEYS = new Set<string>(['keyParts', 'valueParts', 'columnMappings', 'table', 'partsPreprocess', 'partsPostprocess'])

/** Rejects keywords that are not in `known`, naming the nearest valid one. */
function checkKeywords(o: object, known: ReadonlySet<string>, where: string): void {
  for (const k of Object.keys(o)) {
    if (k === 'kind' || known.has(k)) continue
    throw invalid(`${where}: unknown keyword ${k}${didYouMean(k, known)}; user parameters go under params`)
  }
}

function invalid(msg: string): DiscoError {
  return new DiscoError('INFERNO_RULE_INVALID', msg)
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalid(`expected ${what} to be a list of field names, found ${JSON.stringify(v)}`)
  }
  return [...v]
}

function fns<T>(v: unknown, what: string): T[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'function')) {
    throw invalid(`expected ${what} to be a list of functions, found ${typeof v}`)
  }
  return [...v] as T[]
}

function count(v: unknown, what: string, dflt: number, min = 0): number {
  if (v === undefined || v === null) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw invalid(`expected ${what} to be an integer >= ${min}, found ${JSON.stringify(v)}`)
  }
  return v
}

/**
 * Defines a keyset (section 4). `_keyset` is prepended to the key parts.
 *
 * @example
 * defineKeyset({ keyParts: ['last'], valueParts: ['count'] }).keyParts // ['_keyset', 'last']
 */
export function defineKeyset(opts: KeysetOptions): Keyset {
  if ((opts as Partial<Keyset>).kind === 'keyset') return opts as Keyset
  if (opts === null || typeof opts !== 'object') throw invalid(`expected keyset options object, found ${typeof opts}`)
  checkKeywords(opts, KEYSET_KEYS, 'defineKeyset')
  const keyParts = strings(opts.keyParts, 'keyParts')
  const mappings = opts.columnMappings ?? {}
  if (typeof mappings !== 'object') throw invalid(`expected columnMappings to be an object, found ${typeof mappings}`)
  return Object.freeze({
    kind: 'keyset' as const,
    keyParts: Object.freeze(['_keyset', ...keyParts.filter((k) => k !== '_keyset')]),
    valueParts: Object.freeze(strings(opts.valueParts, 'valueParts')),
    columnMappings: Object.freeze({ ...mappings }),
    table: opts.table,
    partsPreprocess: Object.freeze(fns<Preprocessor>(opts.partsPreprocess, 'keyset partsPreprocess')),
    partsPostprocess: Object.freeze(fns<Postprocessor>(opts.partsPostprocess, 'keyset partsPostprocess')),
  })
}

/** `YYYY-MM-DD` of a local date. */
export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

/** Day text `n` days before `day` (`YYYY-MM-DD`, calendar arithmetic in UTC). */
export function dayMinus(day: string, n: number): string {
  const t = Date.parse(`${day}T00:00:00Z`)
  return new Date(t - n * 86_400_000).toISOString().slice(0, 10)
}

/** Validates a `YYYY-MM-DD` text (or Date) and returns the text. */
export function dayText(v: string | Date, what = 'dayStart'): string {
  const s = v instanceof Date ? localDay(v) : v
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(`${s}T00:00:00Z`))
    || new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) !== s) {
    throw invalid(`expected ${what} as YYYY-MM-DD, found ${JSON.stringify(v)}`)
  }
  return s
}

/**
 * Defines a rule (section 3): checks every keyword, fills the defaults, builds the keysets
 * (`_default` from the rule-level key/value parts when `keysets` is absent) and returns frozen data.
 * An unknown keyword (possible from plain JS) is an INFERNO_RULE_INVALID error naming the nearest
 * valid one; user parameters live under `params`.
 *
 * @example
 * const r = defineRule({ name: 'last_names', mapInputStream: 'json', keyParts: ['last'], valueParts: ['count'] })
 * Object.keys(r.keysets) // ['_default']
 * String(r) // '<InfernoRule: last_names>'
 */
export function defineRule(opts: RuleOptions): Rule {
  if ((opts as Partial<Rule>).kind === 'rule') return opts as Rule
  if (opts === null || typeof opts !== 'object') throw invalid(`expected rule options object, found ${typeof opts}`)
  const o = opts as RuleOptions & Record<string, unknown>
  const name = o.name ?? '_unnamed_'
  if (typeof name !== 'string' || !/^[A-Za-z0-9_\-@]+$/.test(name)) {
    throw invalid(`expected rule name of [A-Za-z0-9_], found ${JSON.stringify(name)}`)
  }
  checkKeywords(o, RULE_KEYS, `defineRule ${name}`)

  let keysets: Record<string, Keyset>
  if (o.keysets !== undefined && o.keysets !== null) {
    // Q5: rule-level keyset keywords next to `keysets` were silently ignored; now they are an error.
    for (const k of ['keyParts', 'valueParts', 'columnMappings', 'table', 'keysetPartsPreprocess', 'partsPostprocess'] as const) {
      if (o[k] !== undefined) throw invalid(`rule ${name}: ${k} is ignored when keysets are given; move it into a keyset`)
    }
    keysets = {}
    for (const [ks, def] of Object.entries(o.keysets)) {
      try {
        keysets[ks] = defineKeyset(def)
      } catch (e) {
        if (e instanceof DiscoError) throw invalid(`rule ${name}, keyset ${ks}: ${e.message.replace(/^defineKeyset: /, '')}`)
        throw e
      }
    }
    if (Object.keys(keysets).length === 0) throw invalid(`rule ${name}: expected at least one keyset, found none`)
  } else {
    keysets = {
      _default: defineKeyset({
        keyParts: o.keyParts, valueParts: o.valueParts, columnMappings: o.columnMappings, table: o.table,
        partsPreprocess: o.keysetPartsPreprocess, partsPostprocess: o.partsPostprocess,
      }),
    }
  }

  const rawTags = o.sourceTags === undefined || o.sourceTags === null ? []
    : typeof o.sourceTags === 'string' ? [o.sourceTags] : o.sourceTags
  if (!Array.isArray(rawTags)) throw invalid(`rule ${name}: expected sourceTags as a list, found ${typeof rawTags}`)
  const subRules: Rule[] = []
  let sourceTags: string[] = []
  for (const t of rawTags) {
    if (typeof t === 'string') sourceTags.push(t)
    else if (t && typeof t === 'object' && (t as Rule).kind === 'rule') subRules.push(t as Rule)
    else throw invalid(`rule ${name}: expected a tag prefix or a rule in sourceTags, found ${JSON.stringify(t)}`)
  }
  const archiveLookback = count(o.archiveLookback, 'archiveLookback', 0)
  if (archiveLookback > 0) {
    // Evaluated at definition time, as the original (section 3): N+1 days per tag, day-major.
    const today = localDay(new Date())
    const days = Array.from({ length: archiveLookback + 1 }, (_, i) => dayMinus(today, i))
    sourceTags = days.flatMap((d) => sourceTags.map((t) => `${t}:${d}`))
  }

  const reader = o.mapInputStream ?? 'csv'
  if (!(reader in READERS)) throw invalid(`rule ${name}: expected mapInputStream csv, json or dynamic, found ${JSON.stringify(reader)}`)
  const dialect = o.csvDialect === undefined ? DIALECTS.excel!
    : typeof o.csvDialect === 'string' ? DIALECTS[o.csvDialect] : o.csvDialect
  if (!dialect || typeof dialect.delimiter !== 'string' || dialect.delimiter.length !== 1) {
    throw invalid(`rule ${name}: expected csvDialect excel, excel-tab or {delimiter, quotechar}, found ${JSON.stringify(o.csvDialect)}`)
  }
  if (o.delimiter !== undefined && (typeof o.delimiter !== 'string' || o.delimiter.length !== 1)) {
    throw invalid(`rule ${name}: expected a one-character delimiter, found ${JSON.stringify(o.delimiter)}`)
  }
  const suffix = o.resultTagSuffix ?? true
  if (suffix !== true && suffix !== false && suffix !== 'date') {
    throw invalid(`rule ${name}: expected resultTagSuffix true, false or 'date', found ${JSON.stringify(suffix)}`)
  }
  if (o.resultProcessor !== undefined && o.resultProcessor !== null && typeof o.resultProcessor !== 'function') {
    throw invalid(`rule ${name}: expected resultProcessor to be a function or null, found ${typeof o.resultProcessor}`)
  }
  const transforms = o.fieldTransforms ?? {}
  for (const [f, fn] of Object.entries(transforms)) {
    if (typeof fn !== 'function') throw invalid(`rule ${name}: expected fieldTransforms.${f} to be a function, found ${typeof fn}`)
  }
  const rule: Rule = {
    kind: 'rule',
    name,
    run: o.run ?? true,
    minBlobs: count(o.minBlobs, 'minBlobs', 1),
    maxBlobs: o.maxBlobs === undefined || o.maxBlobs === null ? undefined : count(o.maxBlobs, 'maxBlobs', 0),
    partitions: count(o.partitions, 'partitions', 200, 1),
    partitionFunction: o.partitionFunction,
    scheduler: Object.freeze({ forceLocal: o.scheduler?.forceLocal ?? false, maxCores: o.scheduler?.maxCores ?? 200 }),
    timeDelta: Object.freeze({ ...(o.timeDelta ?? { minutes: 5 }) }),
    newestFirst: o.newestFirst ?? true,
    archive: o.archive ?? false,
    archiveTagPrefix: o.archiveTagPrefix ?? 'processed',
    archiveLookback,
    nuke: o.nuke ?? false,
    mapInitFunction: o.mapInitFunction,
    mapFunction: o.mapFunction,
    mapInputStream: READERS[reader],
    combiner: o.combiner ?? true,
    reduceInitFunction: o.reduceInitFunction,
    reduceFunction: o.reduceFunction,
    reduceOutputStream: o.reduceOutputStream ?? 'default',
    resultIteratorOverride: o.resultIteratorOverride,
    resultProcessor: o.resultProcessor,
    resultTag: o.resultTag,
    resultTagSuffix: suffix,
    save: o.save ?? false,
    sort: o.sort ?? true,
    sortedResults: o.sortedResults ?? true,
    keysets: Object.freeze(keysets),
    dayRange: count(o.dayRange, 'dayRange', 0),
    dayOffset: count(o.dayOffset, 'dayOffset', 0),
    dayStart: o.dayStart === undefined || o.dayStart === null ? undefined : dayText(o.dayStart),
    sourceTags: Object.freeze(sourceTags),
    subRules: Object.freeze(subRules),
    sourceUrls: o.sourceUrls,
    ruleInitFunction: o.ruleInitFunction,
    ruleCleanup: o.ruleCleanup,
    partsPreprocess: Object.freeze(fns<Preprocessor>(o.partsPreprocess, 'partsPreprocess')),
    fieldTransforms: Object.freeze({ ...transforms }),
    preprocessReads: o.preprocessReads === undefined ? undefined : Object.freeze(strings(o.preprocessReads, 'preprocessReads')),
    retry: o.retry ?? false,
    retryLimit: count(o.retryLimit, 'retryLimit', 2),
    retryDelay: o.retryDelay ?? 1,
    notifyOnFail: o.notifyOnFail ?? false,
    notifyOnSuccess: o.notifyOnSuccess ?? false,
    notifyAddresses: Object.freeze([...(o.notifyAddresses ?? [])]),
    notifyPagerduty: o.notifyPagerduty ?? false,
    notifyPagerdutyKey: o.notifyPagerdutyKey,
    csvFields: o.csvFields === undefined ? undefined : Object.freeze(strings(o.csvFields, 'csvFields')),
    csvDialect: Object.freeze({ ...dialect, delimiter: o.delimiter ?? dialect.delimiter }),
    serialOut: o.serialOut ?? false,
    params: Object.freeze({ ...(o.params ?? {}) }),
    qualifiedName: undefined,
    modulePath: undefined,
    toString() { return `<InfernoRule: ${name}>` },
  }
  return Object.freeze(rule)
}

/** A copy of a rule with some fields replaced (used by the loader and keyset addressing). */
export function withRule(rule: Rule, patch: Partial<Omit<Rule, 'kind' | 'toString'>>): Rule {
  const name = patch.name ?? rule.name
  return Object.freeze({ ...rule, ...patch, toString() { return `<InfernoRule: ${name}>` } })
}
