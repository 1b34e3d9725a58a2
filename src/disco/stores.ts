// The stores a Disco job runs against, as one value: DDFS (inputs, saved results), the job
// registry (records, events, kill requests, heartbeats) and the job data blob store (map outputs
// and results under deterministic names). Tasks carry only `ref`; an executor's store factory
// turns it back into stores (the embedded factory reads a directory; a cluster one a URL).
import { join, resolve } from 'node:path'
import { DEFAULT_STORE_DIR, openStore, type Ddfs } from '../ddfs/ddfs.js'
import { LocalBlobStore } from '../ddfs/local.js'
import type { BlobStore } from '../ddfs/types.js'
import { LocalJobStore } from './local-jobstore.js'
import { JobRegistry, keyToken, type RegistryOptions } from './registry.js'

/** Everything a job reads and writes. */
export interface DiscoStores {
  /** What task messages carry to reach these stores: resolved by a {@link StoreFactory}. */
  readonly ref: string
  /** Inputs (`tag://`, blob URLs, `raw://`, files) and saved results. */
  readonly ddfs: Ddfs
  /** Job records, event logs, kill requests, heartbeats, leases. */
  readonly jobs: JobRegistry
  /** Job data: map outputs and results, written with `replace` under {@link dataBlobName}s. */
  readonly data: BlobStore
}

/** URL prefix of the embedded job data store (results can be inputs of later jobs). */
export const LOCAL_DATA_PREFIX = 'disco://localhost/disco/data/'

/** Opens the stores of a reference (called once per reference and worker thread). */
export type StoreFactory = (ref: string) => DiscoStores | Promise<DiscoStores>

/**
 * The embedded stores of a directory: DDFS in it, job state in `<dir>/jobs`, job data in
 * `<dir>/jobs/data` (default directory: $DISCO_STORE or ./.disco; apart from DDFS blobs, so `ddfs gc` never sees a running job's files).
 *
 * @example
 * const stores = openLocalStores('.disco'); await runJob(spec, { store: stores })
 */
export function openLocalStores(dir?: string, opts: RegistryOptions = {}): DiscoStores {
  const root = resolve(dir ?? process.env.DISCO_STORE ?? DEFAULT_STORE_DIR)
  return {
    ref: root,
    ddfs: openStore(root),
    jobs: new JobRegistry(new LocalJobStore(join(root, 'jobs')), opts),
    // Job data is rebuilt by re-running the job, so it is not fsynced.
    data: new LocalBlobStore(join(root, 'jobs', 'data'), { urlPrefix: LOCAL_DATA_PREFIX, durable: false }),
  }
}

/** The embedded store factory: a reference is a store directory. */
export const localStoreFactory: StoreFactory = (ref) => openLocalStores(ref)


/**
 * The deterministic name of a piece of job data, so a re-run (or a redelivered task) replaces
 * its own outputs instead of adding more: `<job>.map-<task>.part-<p>` or `<job>.result-<p>`;
 * `<job>.inputs.json` keeps the job's expanded inputs (for `resumeJob`).
 *
 * @example
 * dataBlobName('wc@1:2:3', { map: 4, partition: 0 }) // 'wc=401=3A2=3A3.map-4.part-0'
 */
export function dataBlobName(job: string, what: { map: number; partition: number } | { result: number } | 'inputs'): string {
  const j = keyToken(job)
  if (what === 'inputs') return `${j}.inputs.json`
  return 'map' in what ? `${j}.map-${what.map}.part-${what.partition}` : `${j}.result-${what.result}`
}

/** The name prefix of all data of a job (for sweeping what a crashed run left). */
export function dataBlobPrefix(job: string): string {
  return `${keyToken(job)}.`
}
