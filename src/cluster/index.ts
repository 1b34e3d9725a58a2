// Public surface of the cluster layer (what the package entry re-exports): choosing a store from a
// value, and the URL grammar. The adapters themselves (NATS KV / object store, S3) load lazily;
// their classes are exported as types here.
export { isClusterUrl, parseClusterUrl, CONNECT_TIMEOUT_MS } from './url.js'
export type { ClusterConfig } from './url.js'
export { openAnyStore, openCluster, openDiscoStores } from './store.js'
export type { OpenedStore, OpenedDiscoStores, StoreOptions } from './store.js'
export { openInfernoStore } from './inferno.js'
export type { OpenedInfernoStore } from './inferno.js'
export type { ClusterExecutor, ClusterWorker, WorkerOptions } from './executor.js'
export type { ClusterConnection } from './connect.js'
export type { KvTagStore } from './kv-tags.js'
export type { ObjBlobStore } from './obj-blobs.js'
export type { S3BlobStore, S3BlobOptions } from './s3-blobs.js'
export type { KvJobStore } from './kv-jobs.js'
