// Where analytics runs: one store value (a directory of the embedded store, or `nats://…` for a
// cluster) opened through the cluster layer's one opener, with the executor a build uses there —
// worker threads on the embedded store, the cluster's `disco worker` processes on a cluster.
import { openDiscoStores, type StoreOptions } from '../cluster/index.js'
import { WorkerPoolExecutor, type DiscoStores, type Executor } from '../disco/index.js'
import type { Ddfs } from '../ddfs/index.js'

/** An opened analytics store. */
export interface AnalyticsStore {
  readonly ddfs: Ddfs
  /** Disco's stores (the build job's registry and data live there). */
  readonly stores: DiscoStores
  /** True for a `nats://` store. */
  readonly cluster: boolean
  /** A new executor for a build: the cluster's task queue, or a worker-thread pool (`workers` threads). */
  executor(workers?: number): Promise<Executor>
  /** Releases connections (a no-op for the embedded store). */
  close(): Promise<void>
}

/**
 * Opens the store named by `store` (a directory or a `nats://` URL; default `$DISCO_STORE`, else
 * `./.disco`) for analytics.
 *
 * @example
 * const s = await openAnalyticsStore('nats://127.0.0.1:4222')
 * await buildModel(s.ddfs, { inputs: ['events'], model: 'analytics:model', stores: s.stores, executor: await s.executor() })
 * await s.close()
 */
export async function openAnalyticsStore(store: string | undefined, opts: StoreOptions = {}): Promise<AnalyticsStore> {
  const opened = await openDiscoStores(store, opts)
  const conn = opened.cluster
  return {
    ddfs: opened.stores.ddfs,
    stores: opened.stores,
    cluster: conn !== undefined,
    async executor(workers?: number): Promise<Executor> {
      if (!conn) return new WorkerPoolExecutor(workers ? { size: workers } : {})
      const { ClusterExecutor } = await import('../cluster/executor.js')
      return ClusterExecutor.open(conn, opened.stores)
    },
    close: () => opened.close(),
  }
}
