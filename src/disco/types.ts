// The data shapes of a Disco job: the spec a user writes, the plan the planner derives, the task
// messages an executor runs, and the job record persisted in the store. All plain JSON data, so a
// task can cross a thread, process or machine boundary unchanged.
import type { Ddfs, LineOptions } from '../ddfs/index.js'

/**
 * A user function, referenced by module and export name so every worker loads the same code
 * (closures are never shipped). `module` is a file path (absolute, or relative to the current
 * directory when the job is started), a `file://` URL or a package specifier; `export` is a
 * (dotted) export name, default `default`.
 *
 * @example
 * const map: FnRef = { module: './jobs/wordcount.js', export: 'map' }
 */
export interface FnRef {
  module: string
  export?: string
}

/** Hands one (key, value) pair on; keys are strings, values any JSON value. */
export type Emit = (key: string, value: unknown) => void

/** What a task knows about itself; `log` lines land in the job's event log. */
export interface TaskContext {
  readonly job: string
  readonly task: string
  readonly attempt: number
  /** The input URL of a map task. */
  readonly input?: string
  /** The partition of a reduce task. */
  readonly partition?: number
  /**
   * Map tasks: lines of the input skipped as longer than the job's `maxRecordSize`, filled while
   * the lines are read (each one is also logged with DDFS_RECORD_TOO_LARGE).
   */
  readonly oversized?: OversizedLines
  /**
   * Map tasks: the line limits a bytes-form map applies when it splits lines itself (too-long
   * lines then land in `oversized` like the other forms').
   */
  readonly lines?: LineOptions
  /**
   * Bytes-form map tasks whose map function is marked `countsNewlines` (see MapBytesFn): the map
   * tells the engine the newlines it passed as it splits lines (progress, kill checks and the
   * task's record count), so the bytes are not scanned twice.
   */
  readonly newlines?: (n: number) => void
  /** The spec's `modules`, resolved for where this task runs (empty when it named none). */
  readonly modules: Readonly<Record<string, string>>
  log(message: string): void
  /**
   * Sets the task's statistics (JSON data; the last value reported wins): they travel with the
   * task's result and are kept in the job store's record of the task (see `jobTasks`), never
   * parsed back out of the event log.
   */
  report(stats: unknown): void
  /**
   * The job's DDFS store as the worker running the task opened it (embedded or cluster), for
   * tasks that store blobs of their own (e.g. analytics indexes under a pending write).
   */
  readonly ddfs?: Ddfs
}

/** Lines a map task skipped as too long: how many, and the first few as `line N (S+ bytes)`. */
export interface OversizedLines {
  count: number
  readonly sample: string[]
}

/**
 * A map function in record form: called once per input line (gunzipped, without the newline).
 *
 * @example
 * export function map(line: string, params: unknown, emit: Emit) {
 *   for (const w of line.split(/\s+/)) if (w) emit(w, 1)
 * }
 */
export type MapFn = (record: string, params: any, emit: Emit, ctx: TaskContext) => void | Promise<void>

/** A map function in stream form (`mapForm: 'stream'`): gets all lines of one input at once. */
export type MapStreamFn = (records: AsyncIterable<string>, params: any, emit: Emit, ctx: TaskContext) => void | Promise<void>

/**
 * A map function in bytes form (`mapForm: 'bytes'`): gets the decoded (gunzipped) bytes of one
 * input and splits them itself (the fast form: no string per line unless the map makes one).
 * With LineSplitter, FieldScanner (fields as raw bytes) and KeyedSums (sums per key on the key's
 * bytes) it makes no string or object per record; see bench/mr-job.ts.
 */
export type MapBytesFn = ((bytes: AsyncIterable<Uint8Array>, params: any, emit: Emit, ctx: TaskContext) => void | Promise<void>) & {
  /**
   * True when the map reports every newline of its bytes through `ctx.newlines` (as LineSplitter's
   * `lines` grows); otherwise the engine counts them itself in a second scan of each chunk.
   */
  countsNewlines?: boolean
  /**
   * True when the map is done with a chunk once it asks for the next one (it keeps no view of it:
   * a LineSplitter made with `borrowed: true` copies an unfinished line): the engine may then read
   * a plain file input into one buffer over and over, each chunk valid until the next.
   */
  reusesChunks?: boolean
}

/**
 * A reduce function: called once per distinct key of a partition, in key order, with all that
 * key's values (a single-pass iterable).
 *
 * @example
 * export function reduce(key: string, values: Iterable<number>, params: unknown, emit: Emit) {
 *   let n = 0; for (const v of values) n += v; emit(key, n)
 * }
 */
export type ReduceFn = (key: string, values: Iterable<any>, params: any, emit: Emit, ctx: TaskContext) => void | Promise<void>

/**
 * A combiner: folds two values of one key into one, on the map side, before the shuffle.
 * Must be associative (it runs in any grouping). Safe for sums, counts, min/max.
 *
 * It may update `acc` in place and return it (no new value per call): the engine hands it an
 * accumulator it no longer reads otherwise (the first value the map emitted for the key, or one
 * it decoded) and keeps only what it returns. A map that does this must not emit an object it
 * keeps using (emit a fresh one). `value` is read only. `sumRows` is such a combiner for rows of
 * exact sums.
 *
 * @example
 * export const combine = (key: string, a: number, b: number) => a + b
 * // in place, for [count, sum] rows:
 * export const combineRows = (key: string, a: number[], b: number[]) => { a[0] += b[0]; a[1] += b[1]; return a }
 */
export type CombineFn = (key: string, acc: any, value: any, params: any) => unknown

/** Chooses the partition (0 ≤ result < partitions) of a key; default crc32(key utf-8) mod n. */
export type PartitionFn = (key: string, partitions: number, params: any) => number

/**
 * A map/reduce job. Only `inputs` and one of `map`/`reduce` are required.
 *
 * @example
 * const spec: JobSpec = {
 *   prefix: 'wordcount',
 *   inputs: ['tag://data:books', 'raw://to be or not to be'],
 *   map: { module: './wc.js', export: 'map' },
 *   reduce: { module: './wc.js', export: 'reduce' },
 *   combiner: { module: './wc.js', export: 'combine' },
 *   partitions: 7,
 * }
 */
export interface JobSpec {
  /** Job name prefix, `[A-Za-z0-9_-]+`; the job is named `<prefix>@<unique>`. Default `job`. */
  prefix?: string
  /** `tag://NAME`, DDFS blob URLs, `raw://TEXT`, `file:///path` or an absolute path. One map task per blob. */
  inputs: string[]
  /** Map function; without it the input lines must be `[key, value]` JSON (e.g. another job's results). */
  map?: FnRef
  /** `record` (default): map is called per line; `stream`: map gets an async iterable of lines; `bytes`: the input's bytes. */
  mapForm?: 'record' | 'stream' | 'bytes'
  /** Reduce function; without it every (key, value) pair is kept, grouped and ordered by key. */
  reduce?: FnRef
  /** Map-side combiner (see {@link CombineFn}). */
  combiner?: FnRef
  /** Partitioner (see {@link PartitionFn}). */
  partitioner?: FnRef
  /** Number of partitions (data buckets, not processes). Default 1. */
  partitions?: number
  /** JSON data handed to every task (each gets its own copy). */
  params?: unknown
  /** Publish the result files as blobs under a tag: `true` → `disco:results:<job>`, or a tag name. */
  save?: boolean | string
  /** Results in key order (default true): reduce output is sorted and `results()` merges partitions. */
  sort?: boolean
  /** Tries per task before the job fails (default 3). */
  maxAttempts?: number
  /** Back-off before retry n: min(base·2^(n-1), cap) + random(0..base) ms. Default 1000 / 60000. */
  retryBaseMs?: number
  retryCapMs?: number
  /** Memory budget per running task for buffering before a sorted run is spilled. Default 256 MB. */
  memoryBudgetBytes?: number
  /**
   * Longest input line in bytes (default 64 MiB): a longer line is skipped, counted in the task's
   * `ctx.oversized` and logged with DDFS_RECORD_TOO_LARGE, and reading goes on.
   */
  maxRecordSize?: number
  /**
   * Other modules the job's functions import at run time, by name (e.g. Inferno's rule module): an
   * executor ships them to its workers like the functions' own modules, and every task finds them,
   * resolved for the place it runs, in `ctx.modules[name]` (a `file:` URL or a package specifier).
   */
  modules?: Record<string, string>
}

/** A spec with defaults applied and module paths made absolute. */
export interface NormalizedSpec extends Required<Omit<JobSpec, 'map' | 'reduce' | 'combiner' | 'partitioner' | 'save' | 'modules'>> {
  map?: FnRef
  reduce?: FnRef
  combiner?: FnRef
  partitioner?: FnRef
  save?: string
  /** Present only when the spec named some. */
  modules?: Record<string, string>
}

/** One map task: one input blob. */
export interface MapTaskPlan {
  readonly id: string
  readonly index: number
  readonly input: string
}

/** One reduce task: one partition. */
export interface ReduceTaskPlan {
  readonly id: string
  readonly partition: number
}

/** The pure plan of a job: which tasks run, in which phase. */
export interface JobPlan {
  readonly job: string
  readonly partitions: number
  readonly mapTasks: readonly MapTaskPlan[]
  readonly reduceTasks: readonly ReduceTaskPlan[]
}

/**
 * What an executor runs: one attempt of one task, all plain data. `store` is an opaque reference
 * (a directory or a URL) that the executor's store factory resolves to the job's stores; a reduce
 * task carries the map outputs of its partition (blob URLs, in map-task order). `resume` is set
 * (n) when the n-th `resumeJob` of the job sent it: an attempt number counts again from 1 then, so
 * an executor that de-duplicates messages by task and attempt keeps runs apart with it.
 */
export type TaskMessage =
  | { kind: 'map'; job: string; store: string; spec: NormalizedSpec; task: MapTaskPlan; attempt: number; resume?: number }
  | { kind: 'reduce'; job: string; store: string; spec: NormalizedSpec; task: ReduceTaskPlan; inputs: string[]; attempt: number; resume?: number }

/** One stored output of a task: a map partition file or a reduce result. */
export interface TaskOutput {
  partition: number
  /** Where the job data store keeps it (a deterministic name per task and partition). */
  url: string
  /** Pairs in it. */
  pairs: number
}

/** What a finished task reports. */
export interface TaskResult {
  /** Input records read (lines of a map input; pairs merged by a reduce). */
  records: number
  /** Pairs written. */
  outputs: number
  /** The stored outputs, one per non-empty partition. */
  blobs: TaskOutput[]
  /** What the task last handed to `ctx.report`, if anything. */
  stats?: unknown
}

/** The job store's record of a finished task (see `jobTasks`). */
export interface TaskRecord extends TaskResult {
  task: string
  attempt: number
  ms: number
}

/** Callbacks a task uses while it runs. */
export interface TaskHooks {
  log(message: string): void
  /** `records` more input records; `bytes` more stored input bytes read (bytes-form maps report them). */
  progress(records: number, bytes?: number): void
}

/** Job status, as in Disco. */
export type JobStatus = 'active' | 'ready' | 'dead'

/** The persisted record of a job (`disco status`). */
export interface JobInfo {
  name: string
  status: JobStatus
  spec: NormalizedSpec
  created: string
  updated: string
  host: string
  pid: number
  /** How long the runner's heartbeat lasts (ms): the job is alive while its last beat is younger. */
  heartbeatMs: number
  tasks: { map: number; reduce: number; done: number; failed: number }
  /** Input records of the job: every line of every input, counted once (not again for retries). */
  records: number
  /** Result pairs written by the reduce phase. */
  outputs?: number
  /** The error that killed the job (code, message and the task's stack). */
  error?: { code: string; message: string; stack?: string }
  /** Result blobs in the job data store once ready, one per non-empty partition, in partition order. */
  results?: string[]
  /** The tag the results were saved under, when `save` was set. */
  savedTag?: string
  /** How many times the job was resumed after its runner died (see `resumeJob`). */
  resumes?: number
}

/** Progress of a running job, for progress lines. */
export interface JobProgress {
  job: string
  phase: 'map' | 'reduce' | 'save'
  done: number
  total: number
  records: number
  /**
   * Stored input bytes the map tasks have read (compressed bytes for gzip inputs), live from
   * bytes-form maps on executors that report them; 0 otherwise.
   */
  bytes: number
  elapsedMs: number
}
