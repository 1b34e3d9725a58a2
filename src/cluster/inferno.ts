// Inferno over any store value: the embedded store of a directory, or a cluster (`nats://…`) where
// a rule's keyset map and reduce run as Disco tasks on `disco worker` processes. The rule module
// (and its relative imports) reaches the workers as a job pack; Inferno's own job functions and
// built-in rules are this package's code, which every worker has.
import { DEFAULT_STORE_DIR } from '../ddfs/ddfs.js'
import { openLocalStores, type DiscoStores } from '../disco/stores.js'
import type { InfernoStore, RuleEngine } from '../inferno/index.js'
import { openDiscoStores, type StoreOptions } from './store.js'
import { isClusterUrl } from './url.js'
import type { ClusterConnection } from './connect.js'

/** An opened Inferno store with the engine its rules run on. */
export interface OpenedInfernoStore {
  /** Tags and blobs (DDFS), with the Disco stores behind them. */
  store: InfernoStore
  /** The Disco stores: DDFS, the job registry (leases, the daemon's state) and job data. */
  stores: DiscoStores
  /**
   * On a cluster: the engine that hands tasks to the cluster's workers (pass it as
   * RunOptions.engine). Undefined for the embedded store (runRule's default engine is right).
   */
  engine?: RuleEngine
  /** Set for a cluster store. */
  cluster?: ClusterConnection
  /** Releases the executor and the connection (a no-op for the embedded store). */
  close(): Promise<void>
}

/**
 * Opens the store Inferno runs over: `spec` is a directory (default `$DISCO_STORE`, else
 * `./.disco`) or a `nats://` URL. On a cluster, rules run on `disco worker` processes: start at
 * least one with `disco worker --store <the same URL>`.
 *
 * @example
 * const s = await openInfernoStore('nats://127.0.0.1:4222')
 * await runRule(rule, { store: s.store, ...(s.engine ? { engine: s.engine } : {}) })
 * await s.close()
 */
export async function openInfernoStore(spec: string | undefined, opts: StoreOptions & { warn?: (message: string) => void } = {}): Promise<OpenedInfernoStore> {
  const where = spec ?? process.env.DISCO_STORE
  // Loaded here, not at the top: the cluster entry is also what `disco worker` loads. Only what a
  // run uses (not the Inferno entry: its daemon, notifiers and map code).
  const [{ ddfsStore }, { discoEngine }] = await Promise.all([import('../inferno/reading/inferno-store.js'), import('../inferno/keyset/disco-engine.js')])
  if (where === undefined || where === '' || !isClusterUrl(where)) {
    const stores = openLocalStores(where || DEFAULT_STORE_DIR)
    return { store: ddfsStore(stores.ddfs, stores), stores, close: async () => {} }
  }
  const opened = await openDiscoStores(where, opts)
  try {
    const { ClusterExecutor } = await import('./executor.js')
    const executor = await ClusterExecutor.open(opened.cluster!, opened.stores)
    const disco = discoEngine({ stores: opened.stores, executor })
    const engine: RuleEngine = {
      async run(job) {
        if (opts.warn && !(await opened.stores.jobs.heartbeats('worker')).some((h) => h.alive)) {
          opts.warn(`no live workers: the tasks of rule ${job.rule.name} wait in the queue until a \`disco worker\` starts`)
        }
        return disco.run(job)
      },
    }
    return {
      store: ddfsStore(opened.stores.ddfs, opened.stores),
      stores: opened.stores,
      engine,
      cluster: opened.cluster!,
      close: async () => {
        await executor.close()
        await opened.close()
      },
    }
  } catch (e) {
    await opened.close()
    throw e
  }
}
