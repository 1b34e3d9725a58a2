// One attempt of one task, the same code in every executor. A map task reads one input, calls the
// map function per line, partitions (and combines) the pairs and writes one sorted file per
// non-empty partition plus a `done.json` marker, all atomically under deterministic names, so a
// re-run simply replaces them. A reduce task merges its partition's files from every map task,
// groups equal keys and writes one result file.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { DiscoError } from '../errors.js'
import { forEachLine, inputBytes, inputLines, type InputStore } from './inputs.js'
import type { LineOptions } from '../ddfs/index.js'
import { loadFn } from './load.js'
import { AtomicWriter, KvMerger, Sorter, decodePair, encodePair, writeFileAtomic, type Fold } from './runs.js'
import type {
  CombineFn, Emit, MapBytesFn, MapFn, MapStreamFn, NormalizedSpec, PartitionFn, ReduceFn, TaskContext, TaskHooks, TaskMessage, TaskResult,
} from './types.js'

/** Records between two progress reports. */
const PROGRESS_EVERY = 10_000

/** The marker a map task writes last: which partitions it produced. */
interface MapDone { partitions: number[]; records: number; pairs: number }

/** The file of partition `p` written by map task `index`. */
export function mapOutputPath(jobDir: string, index: number, p: number): string {
  return join(jobDir, 'map', String(index), `${p}.ndjson`)
}

/** The result file of partition `p`, relative to the job directory. */
export function resultFile(p: number): string {
  return `results/${p}.ndjson`
}

/** Default partitioner: crc32 of the key's UTF-8 bytes mod n (Inferno's choice). */
export function defaultPartition(key: string, partitions: number): number {
  return crc32(key) % partitions
}

/** Opens the DDFS store a task reads inputs from (set by the engine once, per thread). */
export type InputStoreFactory = (storeDir: string) => InputStore | undefined
let inputStoreFactory: InputStoreFactory = () => undefined
export function setInputStoreFactory(f: InputStoreFactory): void {
  inputStoreFactory = f
}

function context(msg: TaskMessage, hooks: TaskHooks): TaskContext {
  const base = { job: msg.job, task: msg.task.id, attempt: msg.attempt, log: (m: string) => hooks.log(`${msg.task.id}: ${m}`) }
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

/** Runs one task attempt; throws the task's error. */
export async function runTask(msg: TaskMessage, hooks: TaskHooks, signal?: AbortSignal): Promise<TaskResult> {
  const tmp = join(msg.jobDir, 'tmp', `${msg.task.id.replace(':', '-')}-${msg.attempt}-${randomBytes(4).toString('hex')}`)
  try {
    return msg.kind === 'map' ? await runMap(msg, hooks, tmp, signal) : await runReduce(msg, hooks, tmp, signal)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function loadFold(spec: NormalizedSpec, params: unknown): Promise<Fold | undefined> {
  if (!spec.combiner) return undefined
  const combine = await loadFn<CombineFn>(spec.combiner, 'combiner')
  return (k, a, b) => combine(k, a, b, params)
}

async function runMap(msg: Extract<TaskMessage, { kind: 'map' }>, hooks: TaskHooks, tmp: string, signal?: AbortSignal): Promise<TaskResult> {
  const { spec, task } = msg
  const params = structuredClone(spec.params)
  const ctx = context(msg, hooks)
  const P = spec.partitions
  const fold = await loadFold(spec, params)
  let part: (key: string) => number = P === 1 ? () => 0 : (key) => defaultPartition(key, P)
  if (spec.partitioner) {
    const fn = await loadFn<PartitionFn>(spec.partitioner, 'partitioner')
    part = (key) => {
      const p = fn(key, P, params)
      if (!Number.isInteger(p) || p < 0 || p >= P) {
        throw new DiscoError('DISCO_BAD_PARTITION', `expected a partition from 0 to ${P - 1} for key ${JSON.stringify(key).slice(0, 60)}, found ${p}`)
      }
      return p
    }
  }
  const sorters: (Sorter | undefined)[] = new Array(P)
  let held = 0
  let pairs = 0
  const emit: Emit = (key, value) => {
    if (typeof key !== 'string') encodePair(key, value) // throws DISCO_BAD_KEY
    const p = part(key)
    const s = (sorters[p] ??= new Sorter(join(tmp, String(p)), fold))
    held += s.add(key, value)
    pairs++
    if (held > spec.memoryBudgetBytes) {
      for (const x of sorters) x?.spill()
      held = 0
    }
  }
  let records = 0
  const tick = (): void => {
    if (++records % PROGRESS_EVERY === 0) {
      hooks.progress(PROGRESS_EVERY)
      checkAborted(signal)
    }
  }
  const store = inputStoreFactory(msg.storeDir)
  const lines = lineOptions(spec, ctx)
  if (!spec.map) {
    const where = `input ${task.input}`
    await forEachLine(task.input, store, (line) => {
      tick()
      if (line.trim() === '') return
      const [k, v] = decodePair(line, where)
      emit(k, v)
    }, lines)
  } else if (spec.mapForm === 'stream') {
    const fn = await loadFn<MapStreamFn>(spec.map, 'map')
    const counted = async function* (): AsyncGenerator<string> {
      for await (const l of inputLines(task.input, store, lines)) {
        tick()
        yield l
      }
    }
    await fn(counted(), params, emit, ctx)
  } else if (spec.mapForm === 'bytes') {
    const fn = await loadFn<MapBytesFn>(spec.map, 'map')
    // Records are counted as newlines (a native scan per chunk) for progress and kill checks.
    const counted = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of inputBytes(task.input, store)) {
        const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) tick()
        yield chunk
      }
    }
    await fn(counted(), params, emit, { ...ctx, lines })
  } else {
    const fn = await loadFn<MapFn>(spec.map, 'map')
    await forEachLine(task.input, store, (line) => {
      tick()
      return fn(line, params, emit, ctx)
    }, lines)
  }
  hooks.progress(records % PROGRESS_EVERY)
  const done: MapDone = { partitions: [], records, pairs }
  for (let p = 0; p < P; p++) {
    const s = sorters[p]
    if (!s || s.empty) continue
    const w = new AtomicWriter(mapOutputPath(msg.jobDir, task.index, p))
    s.finish(w)
    w.commit()
    done.partitions.push(p)
  }
  writeFileAtomic(join(msg.jobDir, 'map', String(task.index), 'done.json'), JSON.stringify(done))
  return { records, outputs: pairs }
}

/** The map outputs of partition `p`, in map-task order (deterministic ties in the merge). */
function partitionInputs(jobDir: string, mapTasks: number, p: number): string[] {
  const files: string[] = []
  for (let i = 0; i < mapTasks; i++) {
    const marker = join(jobDir, 'map', String(i), 'done.json')
    if (!existsSync(marker)) throw new DiscoError('DISCO_MISSING_OUTPUT', `map task map:${i} has no output marker ${marker}`)
    const done = JSON.parse(readFileSync(marker, 'utf8')) as MapDone
    if (done.partitions.includes(p)) files.push(mapOutputPath(jobDir, i, p))
  }
  return files
}

async function runReduce(msg: Extract<TaskMessage, { kind: 'reduce' }>, hooks: TaskHooks, tmp: string, signal?: AbortSignal): Promise<TaskResult> {
  const { spec, task } = msg
  const params = structuredClone(spec.params)
  const ctx = context(msg, hooks)
  const reduce = spec.reduce ? await loadFn<ReduceFn>(spec.reduce, 'reduce') : undefined
  const files = partitionInputs(msg.jobDir, msg.mapTasks, task.partition)
  const out = new AtomicWriter(join(msg.jobDir, resultFile(task.partition)))
  const merger = new KvMerger(files)
  let records = 0
  const tick = (): void => {
    if (++records % PROGRESS_EVERY === 0) {
      hooks.progress(PROGRESS_EVERY)
      checkAborted(signal)
    }
  }
  try {
    if (!reduce) {
      for (let c = merger.next(); c; c = merger.next()) {
        tick()
        out.write(c.line)
      }
    } else {
      const sorter = spec.sort ? new Sorter(tmp) : undefined
      let held = 0
      const emit: Emit = sorter
        ? (key, value) => {
            held += sorter.add(key, value)
            if (held > spec.memoryBudgetBytes) {
              sorter.spill()
              held = 0
            }
          }
        : (key, value) => out.write(encodePair(key, value))
      let cur = merger.next()
      while (cur) {
        const key = cur.key
        const values: Iterable<unknown> = {
          *[Symbol.iterator]() {
            while (cur && cur.key === key) {
              const v = cur.value
              tick()
              cur = merger.next()
              yield v
            }
          },
        }
        const r = reduce(key, values, params, emit, ctx)
        if (r && typeof (r as Promise<void>).then === 'function') await r
        while (cur && cur.key === key) {
          tick()
          cur = merger.next()
        }
      }
      if (sorter) sorter.finish(out)
    }
  } catch (e) {
    merger.close()
    out.abort()
    throw e
  }
  hooks.progress(records % PROGRESS_EVERY)
  const outputs = out.lines
  if (outputs > 0) out.commit()
  else out.abort()
  return { records, outputs }
}
