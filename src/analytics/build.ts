// `analytics build`: one Disco job over the events under some tags, adding one batch of indexes
// (one per user shard) to the model tag. Earlier batches are never rewritten.
import { fileURLToPath } from 'node:url'
import { blobFileName, blobName, type Ddfs, type DdfsWrite } from '../ddfs/index.js'
import { openLocalStores, runJob, type DiscoStores, type Executor, type JobProgress } from '../disco/index.js'
import { DiscoError } from '../errors.js'
import { FORMAT_VERSION } from './format.js'
import type { BuildParams, EventFields, InvalidCounts, ShardReport } from './job.js'
import { ATTR_BLOB_PREFIX, ATTR_SHARDS, ATTR_VERSION } from './model.js'

export type { EventFields, InvalidCounts }

/** Default field names of an event. */
export const DEFAULT_FIELDS: EventFields = { user: 'user', event: 'event', time: 'time', props: 'props' }
/** Default number of user shards. */
export const DEFAULT_SHARDS = 4

/** Options of {@link buildModel}. */
export interface BuildOptions {
  /** Tags holding the events (NDJSON or CSV lines). */
  inputs: string[]
  /** The model tag, e.g. `analytics:model`. */
  model: string
  /** User shards (fixed by the first build of a model). */
  shards?: number
  fields?: Partial<EventFields>
  format?: 'ndjson' | 'csv'
  /** CSV column names; default: the first line of the oldest blob. */
  csvColumns?: string[]
  csvDelimiter?: string
  /**
   * Disco's stores the job runs on (default: the embedded stores of `ddfs.dir`); on a cluster,
   * `openAnalyticsStore(url).stores`, with `executor` its cluster executor.
   */
  stores?: DiscoStores
  /** Default: worker threads on the embedded store (a cluster store needs its executor). */
  executor?: Executor | 'in-process'
  onProgress?: (p: JobProgress) => void
  /** Called with the Disco job name as soon as it starts. */
  onJob?: (name: string) => void
}

/** What a build did. */
export interface BuildReport {
  model: string
  job: string
  batch: number
  shards: number
  inputs: number
  users: number
  events: number
  invalid: InvalidCounts
  bytes: number
  indexes: ShardReport[]
}

/** Sort key of a blob version `<hex ms>-<hex counter>-<random>`: creation order. */
function versionKey(url: string): [number, number] {
  const f = blobFileName(url)
  const m = /\$([0-9a-f]+)-([0-9a-f]+)-/.exec(f)
  return m ? [parseInt(m[1]!, 16), parseInt(m[2]!, 16)] : [0, 0]
}

/** The first line of a blob. */
async function firstLine(ddfs: Ddfs, url: string[]): Promise<string | undefined> {
  for await (const line of ddfs.readLines(url)) if (line.trim() !== '') return line
  return undefined
}

/**
 * Builds one batch of the model from the events under `inputs` (a Disco job whose reduce tasks
 * store the shard indexes as blobs; on a cluster they run on the cluster's workers).
 * @example
 * const r = await buildModel(openStore('.disco'), { inputs: ['incoming:events'], model: 'analytics:model' })
 * r.events // 10000
 */
export async function buildModel(ddfs: Ddfs, opts: BuildOptions): Promise<BuildReport> {
  if (!opts.stores && !ddfs.dir) throw new DiscoError('ANALYTICS_STORE_UNSUPPORTED', 'analytics build on a store without a directory needs its Disco stores (openAnalyticsStore) in the stores option')
  if (!ddfs.dir && opts.executor === undefined) throw new DiscoError('ANALYTICS_STORE_UNSUPPORTED', 'analytics build on a cluster store needs its executor (openAnalyticsStore(url).executor())')
  if (!Array.isArray(opts.inputs) || opts.inputs.length === 0) throw new DiscoError('ANALYTICS_BAD_PARAM', 'inputs: expected at least one tag')
  const fields: EventFields = { ...DEFAULT_FIELDS, ...opts.fields }
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v !== 'string' || v === '') throw new DiscoError('ANALYTICS_BAD_PARAM', `field name for ${k}: expected a non-empty string, found ${JSON.stringify(v)}`)
  }
  const format = opts.format ?? 'ndjson'
  if (format !== 'ndjson' && format !== 'csv') throw new DiscoError('ANALYTICS_BAD_PARAM', `format: expected ndjson or csv, found ${JSON.stringify(format)}`)
  // The model so far.
  const exists = await ddfs.exists(opts.model)
  const attrs = exists ? await ddfs.attrs(opts.model) : {}
  const before = exists ? await ddfs.urls(opts.model) : []
  let shards = opts.shards ?? DEFAULT_SHARDS
  if (attrs[ATTR_SHARDS] !== undefined) {
    const have = Number(attrs[ATTR_SHARDS])
    if (opts.shards !== undefined && opts.shards !== have) {
      throw new DiscoError('ANALYTICS_BAD_PARAM', `shards: model ${opts.model} has ${have} shards, found a request for ${opts.shards}`)
    }
    shards = have
    if (attrs[ATTR_VERSION] !== FORMAT_VERSION) throw new DiscoError('ANALYTICS_BAD_INDEX', `tag ${opts.model}: expected model format "${FORMAT_VERSION}", found ${JSON.stringify(attrs[ATTR_VERSION])}`)
  }
  if (!Number.isInteger(shards) || shards < 1 || shards > 1024) throw new DiscoError('ANALYTICS_BAD_PARAM', `shards: expected 1..1024, found ${shards}`)
  let batch = 0
  for (const set of before) {
    const m = /-b(\d+)-s\d+$/.exec(blobName(set[0] ?? ''))
    if (m) batch = Math.max(batch, Number(m[1]) + 1)
  }
  // Inputs: every blob of the tags, oldest first.
  const sets = await ddfs.blobs(opts.inputs)
  const urls = sets.map((s) => s[0]!).filter((u, i, a) => a.indexOf(u) === i)
  urls.sort((a, b) => {
    const x = versionKey(a)
    const y = versionKey(b)
    return x[0] - y[0] || x[1] - y[1]
  })
  if (urls.length === 0) throw new DiscoError('ANALYTICS_NO_INPUT', `no blobs under ${opts.inputs.join(', ')}`)
  // The index blobs are written by the job's reducers under this write and tagged at its commit,
  // so a concurrent `ddfs gc` cannot delete them in between.
  const write = await ddfs.beginWrite(opts.model)
  try {
    return await buildBatch(ddfs, opts, write, {
      fields, format, rank: Object.fromEntries(urls.map((u, i) => [u, i])), shards, batch,
      blobPrefix: attrs[ATTR_BLOB_PREFIX] ?? `analytics-${Date.now().toString(36)}`, writeId: write.id,
    }, urls, attrs, before.length)
  } catch (e) {
    await write.abort()
    throw e
  }
}

async function buildBatch(ddfs: Ddfs, opts: BuildOptions, write: DdfsWrite, params: BuildParams, urls: string[],
  attrs: Record<string, string>, before: number): Promise<BuildReport> {
  const { format, shards, batch } = params
  if (format === 'csv') {
    if (opts.csvDelimiter !== undefined) params.csvDelimiter = opts.csvDelimiter
    if (opts.csvColumns) params.csvColumns = opts.csvColumns
    else {
      const header = await firstLine(ddfs, [urls[0]!])
      if (header === undefined) throw new DiscoError('ANALYTICS_NO_INPUT', 'CSV input: no header line in the oldest blob')
      params.csvHeader = header
      params.csvColumns = header.split(opts.csvDelimiter ?? ',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
    }
  }
  const mod = fileURLToPath(new URL('./job.js', import.meta.url))
  const job = await runJob({
    prefix: 'analytics', inputs: urls, partitions: shards, mapForm: 'bytes', params,
    map: { module: mod, export: 'map' }, reduce: { module: mod, export: 'reduce' }, partitioner: { module: mod, export: 'partition' },
  }, { store: opts.stores ?? openLocalStores(ddfs.dir!), ...(opts.executor ? { executor: opts.executor } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) })
  opts.onJob?.(job.name)
  await job.wait()
  const report: BuildReport = {
    model: opts.model, job: job.name, batch, shards, inputs: urls.length, users: 0, events: 0,
    invalid: { json: 0, user: 0, event: 0, time: 0 }, bytes: 0, indexes: [],
  }
  for await (const [k, v] of job.results()) {
    if (k === 'bad') report.invalid = v as InvalidCounts
    else if (k.startsWith('index:')) {
      const r = v as ShardReport
      report.indexes.push(r)
      report.users += r.users
      report.events += r.events
      report.bytes += r.bytes
    }
  }
  report.indexes.sort((a, b) => a.shard - b.shard)
  // Commit: one tag update adds the whole batch, unless another build committed meanwhile.
  const now = (await ddfs.exists(opts.model)) ? await ddfs.urls(opts.model) : []
  if (now.length !== before) {
    throw new DiscoError('ANALYTICS_BUILD_CONFLICT', `model ${opts.model} changed while building (another build committed); run the build again`)
  }
  await write.commit({ extra: report.indexes.map((r) => r.url) })
  if (attrs[ATTR_SHARDS] === undefined) {
    await ddfs.setattr(opts.model, ATTR_SHARDS, String(shards))
    await ddfs.setattr(opts.model, ATTR_VERSION, FORMAT_VERSION)
    await ddfs.setattr(opts.model, ATTR_BLOB_PREFIX, params.blobPrefix)
  }
  await ddfs.setattr(opts.model, `analytics:batch:${batch}`, JSON.stringify({ job: job.name, inputs: opts.inputs, events: report.events, invalid: report.invalid }).slice(0, 4000))
  return report
}
