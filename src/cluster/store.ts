// The one place a store value picks its adapters: `nats://…` (or `tls://…`) opens the cluster
// (tags in KV, blobs in the object store or, with `?blobs=s3://…`, in S3); anything else is the
// directory of the embedded store. The client libraries load only when a cluster is named.
import { Ddfs, openStore } from '../ddfs/ddfs.js'
import type { BlobStore } from '../ddfs/types.js'
import { JobRegistry } from '../disco/registry.js'
import { openLocalStores, type DiscoStores } from '../disco/stores.js'
import { isClusterUrl, parseClusterUrl, type ClusterConfig } from './url.js'
import type { ClusterConnection } from './connect.js'

/** Command-line security options that go with a store URL. */
export interface StoreOptions {
  /** NATS credentials file (`--creds`). */
  creds?: string
  /** CA certificate to trust (`--tls-ca`). */
  tlsCa?: string
}

/** An opened store: the DDFS facade, plus the cluster connection when it is one. */
export interface OpenedStore {
  ddfs: Ddfs
  /** Set for a cluster store. */
  cluster?: ClusterConnection
  /** Releases connections (a no-op for the embedded store). */
  close(): Promise<void>
}

/** The blob store a cluster config asks for: S3 when `blobs=s3://…`, else the object store. */
async function clusterBlobs(conn: ClusterConnection, cfg: ClusterConfig): Promise<{ blobs: BlobStore, close: () => void }> {
  if (cfg.blobs) {
    const { S3BlobStore } = await import('./s3-blobs.js')
    const s3 = new S3BlobStore({ url: cfg.blobs, ...(cfg.s3Endpoint ? { endpoint: cfg.s3Endpoint } : {}) })
    return { blobs: s3, close: () => s3.close() }
  }
  const { ObjBlobStore } = await import('./obj-blobs.js')
  return { blobs: await ObjBlobStore.open(conn), close: () => {} }
}

/** Connects to the cluster a `nats://` URL names (one coded `CLUSTER_*` error on failure). */
export async function openCluster(url: string, opts: StoreOptions = {}): Promise<ClusterConnection> {
  const cfg = parseClusterUrl(url, opts)
  const { ClusterConnection } = await import('./connect.js')
  return ClusterConnection.open(cfg)
}

/**
 * Opens the store named by `store` (a `nats://` URL or a directory; default `$DISCO_STORE`, else
 * `./.disco`). Connection problems are one coded `CLUSTER_*` error.
 *
 * @example
 * const s = await openAnyStore('nats://127.0.0.1:4222')
 * await s.ddfs.list()
 * await s.close()
 */
export async function openAnyStore(store: string | undefined, opts: StoreOptions = {}): Promise<OpenedStore> {
  const spec = store ?? process.env.DISCO_STORE
  if (spec === undefined || !isClusterUrl(spec)) {
    const ddfs = openStore(spec)
    return { ddfs, close: async () => {} }
  }
  const conn = await openCluster(spec, opts)
  try {
    const { KvTagStore } = await import('./kv-tags.js')
    const tags = await KvTagStore.open(conn)
    const { blobs, close } = await clusterBlobs(conn, conn.config)
    return { ddfs: new Ddfs({ tags, blobs }), cluster: conn, close: async () => { close(); await conn.close() } }
  } catch (e) {
    await conn.close()
    throw e
  }
}

/** Opened Disco stores: DDFS, the job registry and the job data store, plus the cluster connection when it is one. */
export interface OpenedDiscoStores {
  stores: DiscoStores
  /** Set for a cluster store. */
  cluster?: ClusterConnection
  close(): Promise<void>
}

/**
 * Opens Disco's stores for a store value: the embedded ones of a directory, or on a cluster the
 * job registry in KV (`<prefix>-jobs`, `<prefix>-events`) and job data in the object store
 * (`<prefix>-data`), next to the DDFS store of {@link openAnyStore}.
 *
 * @example
 * const s = await openDiscoStores('nats://127.0.0.1:4222'); await listJobs(s.stores); await s.close()
 */
export async function openDiscoStores(store: string | undefined, opts: StoreOptions = {}): Promise<OpenedDiscoStores> {
  const spec = store ?? process.env.DISCO_STORE
  if (spec === undefined || !isClusterUrl(spec)) return { stores: openLocalStores(spec), close: async () => {} }
  const any = await openAnyStore(spec, opts)
  try {
    const conn = any.cluster!
    const { KvJobStore } = await import('./kv-jobs.js')
    const { ObjBlobStore } = await import('./obj-blobs.js')
    const jobs = new JobRegistry(await KvJobStore.open(conn))
    const data = await ObjBlobStore.open(conn, 'data')
    return { stores: { ref: spec, ddfs: any.ddfs, jobs, data }, cluster: conn, close: () => any.close() }
  } catch (e) {
    await any.close()
    throw e
  }
}
