// Planning is pure data: a spec is checked and normalised, then inputs become map tasks and
// partitions become reduce tasks. No I/O here, so tests assert on plans directly.
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DiscoError } from '../errors.js'
import { DEFAULT_MAX_LINE } from '../ddfs/lines.js'
import { checkTagName } from '../ddfs/names.js'
import { backoffDelay } from '../util/backoff.js'
import type { FnRef, JobPlan, JobSpec, NormalizedSpec } from './types.js'

/** Default memory budget per running task: 256 MB. */
export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024
const PREFIX_RE = /^[A-Za-z0-9_-]+$/
const MAX_PARTITIONS = 100_000

function bad(message: string): DiscoError {
  return new DiscoError('DISCO_BAD_SPEC', message)
}

/** Makes a module reference loadable from any worker: relative paths become absolute file URLs. */
export function resolveModule(module: string, cwd: string): string {
  if (module.startsWith('file:') || module.startsWith('node:')) return module
  if (isAbsolute(module)) return pathToFileURL(module).href
  if (module.startsWith('./') || module.startsWith('../') || module === '.' || module === '..') {
    return pathToFileURL(resolve(cwd, module)).href
  }
  return module // a package specifier, resolved by the worker's import()
}

function fnRef(ref: unknown, field: string, cwd: string): FnRef | undefined {
  if (ref === undefined || ref === null) return undefined
  if (typeof ref !== 'object' || typeof (ref as FnRef).module !== 'string' || (ref as FnRef).module === '') {
    throw bad(`${field} must be {module, export?}, found ${JSON.stringify(ref)}`)
  }
  const r = ref as FnRef
  if (r.export !== undefined && (typeof r.export !== 'string' || r.export === '')) {
    throw bad(`${field}.export must be a non-empty string, found ${JSON.stringify(r.export)}`)
  }
  return { module: resolveModule(r.module, cwd), export: r.export ?? 'default' }
}

function positiveInt(v: unknown, field: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw bad(`${field} must be an integer from 1 to ${max}, found ${JSON.stringify(v)}`)
  }
  return v
}

/** Returns `params` if it survives a JSON round trip unchanged in shape, else throws DISCO_BAD_PARAMS. */
function checkParams(params: unknown): unknown {
  if (params === undefined) return {}
  let text: string | undefined
  try {
    text = JSON.stringify(params, (_k, v) => {
      if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
        throw new DiscoError('DISCO_BAD_PARAMS', `params must be JSON data, found a ${typeof v}`)
      }
      return v
    })
  } catch (e) {
    if (e instanceof DiscoError) throw e
    throw new DiscoError('DISCO_BAD_PARAMS', `params must be JSON data: ${(e as Error).message}`)
  }
  if (text === undefined) throw new DiscoError('DISCO_BAD_PARAMS', 'params must be JSON data, found undefined')
  return JSON.parse(text)
}

/**
 * Checks a job spec and applies defaults; module paths are resolved against `cwd`.
 * Throws DISCO_BAD_SPEC or DISCO_BAD_PARAMS.
 *
 * @example
 * normalizeSpec({ inputs: ['raw://a'], map: { module: './m.js' } }, '/x').partitions // 1
 */
export function normalizeSpec(spec: JobSpec, cwd: string): NormalizedSpec {
  if (!spec || typeof spec !== 'object') throw bad(`a job spec must be an object, found ${typeof spec}`)
  const prefix = spec.prefix ?? 'job'
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    throw bad(`prefix must match [A-Za-z0-9_-]+, found ${JSON.stringify(prefix)}`)
  }
  if (!Array.isArray(spec.inputs) || spec.inputs.length === 0) throw bad('inputs must be a non-empty list of URLs')
  for (const i of spec.inputs) {
    if (typeof i !== 'string' || i === '') throw bad(`every input must be a non-empty string, found ${JSON.stringify(i)}`)
  }
  const map = fnRef(spec.map, 'map', cwd)
  const reduce = fnRef(spec.reduce, 'reduce', cwd)
  if (!map && !reduce) throw bad('a job needs a map or a reduce function')
  const mapForm = spec.mapForm ?? 'record'
  if (mapForm !== 'record' && mapForm !== 'stream' && mapForm !== 'bytes') throw bad(`mapForm must be record, stream or bytes, found ${JSON.stringify(mapForm)}`)
  let save: string | undefined
  if (spec.save === true) save = ''
  else if (typeof spec.save === 'string') {
    try {
      save = checkTagName(spec.save) // DDFS's own rule, so a job never runs only to fail at saving
    } catch (e) {
      throw new DiscoError('DISCO_BAD_SPEC', `save: ${(e as Error).message}`, { cause: e })
    }
  } else if (spec.save !== undefined && spec.save !== false) throw bad(`save must be a boolean or a tag name, found ${JSON.stringify(spec.save)}`)
  const out: NormalizedSpec = {
    prefix,
    inputs: [...spec.inputs],
    mapForm,
    partitions: positiveInt(spec.partitions, 'partitions', 1, MAX_PARTITIONS),
    params: checkParams(spec.params),
    sort: spec.sort ?? true,
    maxAttempts: positiveInt(spec.maxAttempts, 'maxAttempts', 3, 1000),
    retryBaseMs: nonNegative(spec.retryBaseMs, 'retryBaseMs', 1000),
    retryCapMs: nonNegative(spec.retryCapMs, 'retryCapMs', 60_000),
    memoryBudgetBytes: positiveInt(spec.memoryBudgetBytes, 'memoryBudgetBytes', DEFAULT_MEMORY_BUDGET),
    maxRecordSize: positiveInt(spec.maxRecordSize, 'maxRecordSize', DEFAULT_MAX_LINE),
  }
  if (typeof out.sort !== 'boolean') throw bad(`sort must be a boolean, found ${JSON.stringify(out.sort)}`)
  if (map) out.map = map
  if (reduce) out.reduce = reduce
  const combiner = fnRef(spec.combiner, 'combiner', cwd)
  if (combiner) out.combiner = combiner
  const partitioner = fnRef(spec.partitioner, 'partitioner', cwd)
  if (partitioner) out.partitioner = partitioner
  if (save !== undefined) out.save = save
  if (spec.modules !== undefined) out.modules = moduleRefs(spec.modules, cwd)
  return out
}

/** The `modules` of a spec: names of `[A-Za-z0-9_-]+` → module references made loadable from any worker. */
function moduleRefs(modules: unknown, cwd: string): Record<string, string> {
  if (modules === null || typeof modules !== 'object' || Array.isArray(modules)) throw bad(`modules must be an object of name → module, found ${JSON.stringify(modules)}`)
  const out: Record<string, string> = {}
  for (const [name, module] of Object.entries(modules)) {
    if (!PREFIX_RE.test(name)) throw bad(`modules: a name must match [A-Za-z0-9_-]+, found ${JSON.stringify(name)}`)
    if (typeof module !== 'string' || module === '') throw bad(`modules.${name} must be a non-empty module path, found ${JSON.stringify(module)}`)
    out[name] = resolveModule(module, cwd)
  }
  return out
}

function nonNegative(v: unknown, field: string, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`${field} must be a number ≥ 0, found ${JSON.stringify(v)}`)
  return v
}

/**
 * The plan of a job over already expanded inputs (one blob URL each): one map task per input,
 * one reduce task per partition.
 *
 * @example
 * planJob('wc@1:2:3', 2, ['raw://a', 'raw://b']).mapTasks[1] // { id: 'map:1', index: 1, input: 'raw://b' }
 */
export function planJob(job: string, partitions: number, inputs: readonly string[]): JobPlan {
  const mapTasks = inputs.map((input, index) => Object.freeze({ id: `map:${index}`, index, input }))
  const reduceTasks = Array.from({ length: partitions }, (_, p) => Object.freeze({ id: `reduce:${p}`, partition: p }))
  return Object.freeze({ job, partitions, mapTasks: Object.freeze(mapTasks), reduceTasks: Object.freeze(reduceTasks) })
}

/**
 * A job name `<prefix>@<hex megaseconds>:<hex seconds>:<hex microseconds>` (Disco's form);
 * `bump` makes a distinct name for the same instant.
 *
 * @example
 * jobName('wc', 1_700_000_000_123_456) // 'wc@6a4:0:1e240'
 */
export function jobName(prefix: string, micros: number, bump = 0): string {
  const secs = Math.floor(micros / 1e6)
  const us = (micros % 1e6) + bump
  return `${prefix}@${Math.floor(secs / 1e6).toString(16)}:${(secs % 1e6).toString(16)}:${us.toString(16)}`
}

/** Back-off before retry number `failures` (1-based): min(base·2^(n-1), cap) + jitter in [0, base) (util/backoff.ts). */
export function retryDelay(failures: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return backoffDelay(failures, baseMs, capMs, { random })
}
