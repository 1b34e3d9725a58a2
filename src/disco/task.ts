// One attempt of one task, the same code in every executor. A map task reads one input, calls the
// map function per line, partitions (and combines) the pairs, sorts them in its own spill
// directory and stores one file of binary records (records.ts) per non-empty partition in the job
// data store under a deterministic name, so a re-run replaces them. A reduce task fetches its
// partition's files from every map task, merges them, groups equal keys and stores one result
// file (NDJSON).
import { closeSync, createWriteStream, createReadStream, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DiscoError } from '../errors.js'
import { LineSplitter, type LineOptions } from '../ddfs/lines.js'
import { crc32, crc32Bytes } from '../util/crc32.js'
import { inputBytes, inputLineBatches } from './inputs.js'
import { loadFn } from './load.js'
import { badKey, decodePair, encodePair } from './records.js'
import { ROW_SINK, type RowSink } from './row-sink.js'
import { AtomicWriter, NdjsonSink, RecordBuffer, RunMerger, Sorter, type Fold, type LazyPath, type PartitionOf } from './runs.js'
import { dataBlobName, type DiscoStores } from './stores.js'
import type {
  CombineFn, Emit, MapBytesFn, MapFn, MapStreamFn, NormalizedSpec, PartitionFn, ReduceFn, TaskContext, TaskHooks, TaskMessage, TaskOutput, TaskResult,
} from './types.js'

/** Records between two looks at the clock for a progress report (and a kill check). */
const PROGRESS_EVERY = 10_000
/** Milliseconds between two progress reports of a task, at least (each is a message to the runner). */
const PROGRESS_MS = 100
/** Stored input bytes between two progress reports of a bytes-form map, at most. */
const BYTES_EVERY = 4 << 20

/** Default partitioner: crc32 of the key's UTF-8 bytes mod n (Inferno's choice). */
export function defaultPartition(key: string, partitions: number): number {
  return crc32(key) % partitions
}

/** Holds what a task reported last. */
interface Reported { stats?: unknown }

function context(msg: TaskMessage, hooks: TaskHooks, stats: Reported, stores: DiscoStores): TaskContext {
  const base = {
    job: msg.job, task: msg.task.id, attempt: msg.attempt, modules: msg.spec.modules ?? {}, ddfs: stores.ddfs,
    log: (m: string) => hooks.log(`${msg.task.id}: ${m}`),
    report: (s: unknown) => { stats.stats = structuredClone(s) },
  }
  return msg.kind === 'map' ? { ...base, input: msg.task.input, oversized: { count: 0, sample: [] } } : { ...base, partition: msg.task.partition }
}

/** Line options of a map task: too-long lines are skipped, counted in `ctx.oversized` and logged. */
function lineOptions(spec: NormalizedSpec, ctx: TaskContext): LineOptions {
  const max = spec.maxRecordSize
  return {
    maxLine: max,
    onTooLong: (lineNo, seen) => {
      const o = ctx.oversized!
      o.count++
      if (o.sample.length < 5) {
        o.sample.push(`line ${lineNo} (${seen}+ bytes)`)
        ctx.log(`DDFS_RECORD_TOO_LARGE: input ${ctx.input} line ${lineNo} is longer than the maximum record size of ${max} bytes (${seen}+ bytes); skipped`)
      }
    },
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DiscoError('DISCO_JOB_KILLED', 'the job was killed')
}

const located = new WeakSet<object>()

/** Names the input line an error came from (once; the engine adds the task and input). */
function atLine(e: unknown, line: number): unknown {
  if (e instanceof Error && !located.has(e) && (e as { code?: unknown }).code !== 'DISCO_JOB_KILLED') {
    located.add(e)
    e.message = `line ${line}: ${e.message}`
  }
  return e
}

/**
 * A task attempt's spill directory: a fresh directory under the OS temp directory (mode 0700),
 * made only when a file is first put there (most tasks keep everything in memory, and a
 * directory made and removed per task costs a journal commit on a busy disk) and removed when
 * the attempt ends.
 */
export class TaskDir {
  private made = false
  readonly path: string

  constructor(label: string) {
    this.path = join(tmpdir(), `disco-${label.replace(/[^\w.-]/g, '-')}-${randomBytes(6).toString('hex')}`)
  }

  /** A lazy path of `name` in the directory (the directory is made when the path is resolved). */
  at(name: string): () => string {
    return () => {
      // Not recursive: a directory already there (planted) is refused, as mkdtemp would.
      if (!this.made) mkdirSync(this.path, { mode: 0o700 })
      this.made = true
      return join(this.path, name)
    }
  }

  /** True once the directory was made. */
  get exists(): boolean {
    return this.made
  }

  /** Removes the directory and everything in it (nothing to do when it was never made). */
  remove(): void {
    if (this.made) rmSync(this.path, { recursive: true, force: true })
  }
}

/**
 * Runs one task attempt against the job's stores; throws the task's error. Spill files live in a
 * fresh directory under the OS temp directory (a {@link TaskDir}) and are removed when the attempt
 * ends.
 */
export async function runTask(msg: TaskMessage, hooks: TaskHooks, stores: DiscoStores, signal?: AbortSignal): Promise<TaskResult> {
  const tmp = new TaskDir(msg.task.id)
  try {
    return msg.kind === 'map' ? await runMap(msg, hooks, stores, tmp, signal) : await runReduce(msg, hooks, stores, tmp, signal)
  } finally {
    tmp.remove()
  }
}

/** Local files up to this size are stored from one buffer. */
const SMALL_FILE = 1 << 20

/** Stores a finished output (its bytes, or a local file) as job data under `name` (replacing an earlier attempt's). */
async function storeFile(stores: DiscoStores, name: string, data: string | Buffer, partition: number, pairs: number): Promise<TaskOutput> {
  // Most outputs are small (a combined partition): stored as one buffer, without a stream and its 1 MiB read buffer.
  const bytes = typeof data !== 'string' ? data : statSync(data).size <= SMALL_FILE ? readFileSync(data) : undefined
  const { url } = await stores.data.put(name, bytes ?? createReadStream(data, { highWaterMark: 1 << 20 }), { replace: true })
  return { partition, url, pairs }
}

/** The job's combiner, as loaded (`combine`) and bound to the job's params (the fold itself). */
async function loadFold(spec: NormalizedSpec, params: unknown): Promise<(Fold & { combine: CombineFn }) | undefined> {
  if (!spec.combiner) return undefined
  const combine = await loadFn<CombineFn>(spec.combiner, 'combiner')
  return Object.assign((k: string, a: unknown, b: unknown) => combine(k, a, b, params), { combine })
}

async function runMap(msg: Extract<TaskMessage, { kind: 'map' }>, hooks: TaskHooks, stores: DiscoStores, tmp: TaskDir, signal?: AbortSignal): Promise<TaskResult> {
  const { spec, task } = msg
  const params = structuredClone(spec.params)
  const stats: Reported = {}
  const ctx = context(msg, hooks, stats, stores)
  const P = spec.partitions
  const fold = await loadFold(spec, params)
  // The partition of a key: from its encoded bytes (default) or the user's partitioner (text).
  let partitionOf: PartitionOf | undefined = P === 1 ? undefined : (_key, b, s, e) => crc32Bytes(b, s, e) % P
  let partitionOfKey: (key: string) => number = P === 1 ? () => 0 : (key) => crc32(key) % P
  if (spec.partitioner) {
    const fn = await loadFn<PartitionFn>(spec.partitioner, 'partitioner')
    partitionOfKey = (key) => {
      const p = fn(key, P, params)
      if (!Number.isInteger(p) || p < 0 || p >= P) {
        throw new DiscoError('DISCO_BAD_PARTITION', `expected a partition from 0 to ${P - 1} for key ${JSON.stringify(key).slice(0, 60)}, found ${p}`)
      }
      return p
    }
    partitionOf = (key) => partitionOfKey(key)
  }
  const sorter = new Sorter(tmp.at('runs'), { partitions: P, ...(partitionOf ? { partitionOf } : {}), ...(fold ? { fold } : {}) })
  let pairs = 0
  let emit: Emit
  let flushTable = (): void => {}
  let tableBytes = (): number => 0
  if (fold) {
    // The in-map combiner: one accumulator per distinct key, folded (in place when the combiner
    // updates its first argument); the table goes to the sorter, each key with its partition,
    // when it outgrows the budget and at the end.
    const combine = fold.combine
    let table = new Map<string, unknown>()
    let held = 0
    tableBytes = () => held
    flushTable = () => {
      for (const [k, v] of table) sorter.add(k, v, partitionOfKey(k))
      table = new Map()
      held = 0
    }
    emit = (key, value) => {
      pairs++
      const acc = table.get(key)
      if (acc !== undefined || table.has(key)) {
        const r = combine(key, acc, value, params)
        if (r !== acc) table.set(key, r)
        return
      }
      if (typeof key !== 'string') throw badKey(key)
      table.set(key, value)
      held += key.length * 2 + 120
      if (held + sorter.bytes > spec.memoryBudgetBytes) {
        flushTable()
        sorter.spill()
      }
    }
  } else {
    emit = (key, value) => {
      if (typeof key !== 'string') throw badKey(key)
      sorter.add(key, value)
      pairs++
      if (sorter.bytes > spec.memoryBudgetBytes) sorter.spill()
    }
  }
  if (!spec.partitioner) {
    // Rows of KeyedSums go straight to the sorter (see ROW_SINK): unique keys per flush need no
    // table, and the combiner folds a key met again when the sorter writes.
    const sink: RowSink = (key, ks, ke, nums, at, n) => {
      pairs++
      sorter.addNumberRow(key, ks, ke, nums, at, n, P === 1 ? 0 : crc32Bytes(key, ks, ke) % P)
      if (tableBytes() + sorter.bytes > spec.memoryBudgetBytes) {
        flushTable()
        sorter.spill()
      }
    }
    ;(emit as { [ROW_SINK]?: RowSink })[ROW_SINK] = sink
  }
  let records = 0
  /** Records already in a progress report. */
  let reported = 0
  /** Stored input bytes read since the last progress report (bytes-form maps count them). */
  let bytes = 0
  let lastReport = performance.now()
  /**
   * Reports progress (and checks for a kill) when PROGRESS_MS passed since the last report, or at
   * once with `due` (BYTES_EVERY stored bytes read: the bar moves inside a big input however fast).
   */
  const report = (due = false): void => {
    const now = performance.now()
    if (!due && now - lastReport < PROGRESS_MS) return
    lastReport = now
    hooks.progress(records - reported, bytes)
    reported = records
    bytes = 0
    checkAborted(signal)
  }
  /** The record count at which tick looks at the clock next. */
  let nextLook = PROGRESS_EVERY
  const tick = (): void => {
    if (++records >= nextLook) {
      nextLook = records + PROGRESS_EVERY
      report()
    }
  }
  // `line` counts the lines handed on (a skipped too-long line is reported with its own number).
  let line = 0
  const batches = inputLineBatches(task.input, stores, lineOptions(spec, ctx))
  if (!spec.map) {
    const where = `input ${task.input}`
    for await (const batch of batches) {
      for (const l of batch) {
        line++
        tick()
        if (l.trim() === '') continue
        try {
          const [k, v] = decodePair(l, `${where} line ${line}`)
          emit(k, v)
        } catch (e) {
          throw atLine(e, line)
        }
      }
    }
  } else if (spec.mapForm === 'stream') {
    const fn = await loadFn<MapStreamFn>(spec.map, 'map')
    const counted = async function* (): AsyncGenerator<string> {
      for await (const batch of batches) {
        for (const l of batch) {
          line++
          tick()
          yield l
        }
      }
    }
    try {
      await fn(counted(), params, emit, ctx)
    } catch (e) {
      throw line > 0 ? atLine(e, line) : e
    }
  } else if (spec.mapForm === 'bytes') {
    const fn = await loadFn<MapBytesFn>(spec.map, 'map')
    // Records are newlines, for progress and kill checks: told by a map that counts them as it
    // splits lines (`countsNewlines`), else counted here (a native scan per chunk).
    const self = fn.countsNewlines === true
    const newlines = (n: number): void => {
      records += n
      if (records - reported >= PROGRESS_EVERY) report()
    }
    const counted = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of inputBytes(task.input, stores, (n) => { bytes += n }, { reuse: fn.reusesChunks === true })) {
        if (!self) {
          const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          let n = 0
          for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++
          newlines(n)
        }
        // Long lines: report the bytes at least every 4 MiB, however few lines they hold.
        if (bytes >= BYTES_EVERY) report(true)
        yield chunk
      }
    }
    await fn(counted(), params, emit, { ...ctx, lines: lineOptions(spec, ctx), ...(self ? { newlines } : {}) })
  } else {
    const fn = await loadFn<MapFn>(spec.map, 'map')
    for await (const batch of batches) {
      for (const l of batch) {
        line++
        tick()
        try {
          const r = fn(l, params, emit, ctx)
          if (r && typeof (r as Promise<void>).then === 'function') await r
        } catch (e) {
          throw atLine(e, line)
        }
      }
    }
  }
  hooks.progress(records - reported, bytes)
  checkAborted(signal) // a killed job stores nothing more
  flushTable()
  // Each partition's records: in memory up to SMALL_FILE (stored from there), else in a local file.
  const written: { p: number; data: string | Buffer; n: number }[] = []
  sorter.finish((p) => new RecordBuffer(tmp.at(`part-${p}`), SMALL_FILE), (p, w) => {
    written.push({ p, data: w.commit() ?? w.path, n: w.records })
  })
  // Stored side by side: each put is a few file operations in the libuv threadpool, whose round
  // trips overlap so (one partition after the other, a map task idled on them).
  // All settle before the attempt ends (its files are removed then), the first failure is thrown.
  const stored = await Promise.allSettled(written.map(({ p, data, n }) => storeFile(stores, dataBlobName(msg.job, { map: task.index, partition: p }), data, p, n)))
  const blobs: TaskOutput[] = []
  for (const r of stored) {
    if (r.status === 'rejected') throw r.reason
    blobs.push(r.value)
  }
  return { records, outputs: pairs, blobs, ...stats }
}

/**
 * Moves the pairs written to `out` so far (NDJSON lines, in key order) into a sorter through
 * `add`, in order, and returns a fresh writer for `path` (the sorted result goes there).
 */
function resort(out: AtomicWriter, path: LazyPath, add: (key: string, value: unknown) => void): AtomicWriter {
  const fresh = new AtomicWriter(path, SMALL_FILE)
  const held = out.takeLines()
  // Written past memory: read back from its local file, which goes once read.
  if (!held) out.commit()
  const file = held ? undefined : out.path
  try {
    let line = 0
    for (const l of held ?? fileLines(file!)) {
      line++
      const [k, v] = decodePair(l, `${file ?? 'result'} line ${line}`)
      add(k, v)
    }
  } catch (e) {
    fresh.abort()
    throw e
  } finally {
    if (file !== undefined) rmSync(file, { force: true })
  }
  return fresh
}

/** The non-empty lines of a local UTF-8 file, in order, read 1 MiB at a time. */
function* fileLines(path: string): Generator<string> {
  const split = new LineSplitter(Number.MAX_SAFE_INTEGER)
  let lines: string[] = []
  const sink = (b: Buffer, s: number, e: number): void => {
    if (e > s) lines.push(b.toString('utf8', s, e))
  }
  const fd = openSync(path, 'r')
  try {
    // A fresh buffer per read: the splitter keeps pieces of an unfinished line.
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 20)
      const n = readSync(fd, buf)
      if (n === 0) break
      split.push(buf.subarray(0, n), sink)
      yield* lines
      lines = []
    }
    split.end(sink)
    yield* lines
  } finally {
    closeSync(fd)
  }
}

/** A local copy of a stored map output in the task's directory (the merge reads local files). */
async function fetchInput(stores: DiscoStores, url: string, where: () => string): Promise<string> {
  const path = where()
  await pipeline(Readable.from(await stores.data.get(url)), createWriteStream(path))
  return path
}

async function runReduce(msg: Extract<TaskMessage, { kind: 'reduce' }>, hooks: TaskHooks, stores: DiscoStores, tmp: TaskDir, signal?: AbortSignal): Promise<TaskResult> {
  const { spec, task } = msg
  const params = structuredClone(spec.params)
  const stats: Reported = {}
  const ctx = context(msg, hooks, stats, stores)
  const reduce = spec.reduce ? await loadFn<ReduceFn>(spec.reduce, 'reduce') : undefined
  // The partition's map outputs: the embedded job data store's own files (its directories looked
  // at once for all of them), else copies fetched 16 at a time.
  const files: string[] = []
  checkAborted(signal)
  if (stores.data.filePaths) files.push(...await stores.data.filePaths(msg.inputs))
  for (let i = files.length; i < msg.inputs.length; i += 16) {
    checkAborted(signal)
    files.push(...await Promise.all(msg.inputs.slice(i, i + 16).map((url, j) => fetchInput(stores, url, tmp.at(`in-${i + j}`)))))
  }
  let out = new AtomicWriter(tmp.at('result'), SMALL_FILE)
  const merger = new RunMerger(files)
  let records = 0
  let reported = 0
  let lastReport = performance.now()
  let nextLook = PROGRESS_EVERY
  const tick = (): void => {
    if (++records >= nextLook) {
      nextLook = records + PROGRESS_EVERY
      const now = performance.now()
      if (now - lastReport < PROGRESS_MS) return
      lastReport = now
      hooks.progress(records - reported)
      reported = records
      checkAborted(signal)
    }
  }
  try {
    if (!reduce) {
      const sink = new NdjsonSink(out)
      for (let r = merger.next(); r; r = merger.next()) {
        tick()
        sink.raw(r.buf, r.start, r.end)
      }
    } else {
      // A sorted job's result file is in key order. A reduce emitting its keys in order (the
      // usual case: its group's key) writes them straight to the file; the first key out of order
      // sends what was written, then everything after it, through a sorter (stable: equal keys
      // keep their emission order).
      let sorter: Sorter | undefined
      let last: string | undefined
      const toSorter = (key: string, value: unknown): void => {
        sorter!.add(key, value)
        if (sorter!.bytes > spec.memoryBudgetBytes) sorter!.spill()
      }
      const emit: Emit = spec.sort
        ? (key, value) => {
            if (typeof key !== 'string') throw badKey(key)
            if (sorter) return toSorter(key, value)
            if (last === undefined || !(key < last)) {
              out.write(encodePair(key, value))
              last = key
              return
            }
            sorter = new Sorter(tmp.at('runs'))
            out = resort(out, tmp.at('result'), toSorter)
            toSorter(key, value)
          }
        : (key, value) => out.write(encodePair(key, value))
      // The current group's key bytes are copied: the reader's buffer moves on.
      let keyBytes = Buffer.allocUnsafe(256)
      let keyLen = 0
      let cur = merger.next()
      // Keys in order share their starts: the length and the last byte tell most apart.
      const same = (): boolean => {
        if (!cur || cur.keyEnd - cur.keyStart !== keyLen) return false
        const b = cur.buf
        if (keyLen > 0 && b[cur.keyEnd - 1] !== keyBytes[keyLen - 1]) return false
        for (let i = 0, j = cur.keyStart; i < keyLen; i++, j++) if (b[j] !== keyBytes[i]) return false
        return true
      }
      while (cur) {
        keyLen = cur.keyEnd - cur.keyStart
        if (keyLen > keyBytes.length) keyBytes = Buffer.allocUnsafe(keyLen * 2)
        cur.buf.copy(keyBytes, 0, cur.keyStart, cur.keyEnd)
        const key = cur.key()
        // A single-pass iterable over the group's values (a plain iterator: cheaper than a generator).
        const values: IterableIterator<unknown> = {
          [Symbol.iterator]() {
            return this
          },
          next(): IteratorResult<unknown> {
            if (!same()) return { value: undefined, done: true }
            const v = cur!.value()
            tick()
            cur = merger.next()
            return { value: v, done: false }
          },
        }
        const r = reduce(key, values, params, emit, ctx)
        if (r && typeof (r as Promise<void>).then === 'function') await r
        while (same()) {
          tick()
          cur = merger.next()
        }
      }
      if (sorter) sorter.finish(() => new NdjsonSink(out), () => {})
    }
  } catch (e) {
    merger.close()
    out.abort()
    throw e
  }
  hooks.progress(records - reported)
  const outputs = out.lines
  if (outputs === 0) {
    out.abort()
    return { records, outputs, blobs: [], ...stats }
  }
  // The result: stored from memory when small, else from its local file.
  const blob = await storeFile(stores, dataBlobName(msg.job, { result: task.partition }), out.commitBytes() ?? out.path, task.partition, outputs)
  return { records, outputs, blobs: [blob], ...stats }
}
