// The DDFS and job-store compliance suites on a 3-server JetStream cluster: R3 buckets and streams.
import { after, before } from 'node:test'
import { runCompliance } from '#src/ddfs/compliance.js'
import { runJobStoreCompliance } from '#src/disco/compliance.js'
import { openAnyStore, openCluster } from 'disco-inferno'
import { KvJobStore } from '#src/cluster/kv-jobs.js'
import type { ClusterConnection } from '#src/cluster/connect.js'
import { startNatsCluster, type NatsCluster } from './servers.js'

let cluster: NatsCluster | undefined
before(async () => { cluster = await startNatsCluster(3) })
after(async () => { await cluster?.stop() })

let n = 0
runCompliance('nats R3 cluster', async () => {
  const s = await openAnyStore(`${cluster!.url}?prefix=r${++n}`)
  if (s.cluster?.replicas !== 3) throw new Error(`expected R3 on a cluster, found ${s.cluster?.replicas}`)
  return { tags: s.ddfs.tags, blobs: s.ddfs.blobStore, close: () => s.close() }
})

runJobStoreCompliance('nats R3 cluster', async () => {
  const url = `${cluster!.url}?prefix=j${++n}`
  const conns: ClusterConnection[] = []
  const open = async (): Promise<KvJobStore> => { const c = await openCluster(url); conns.push(c); return KvJobStore.open(c) }
  const store = await open()
  return { store, open, close: async () => { await Promise.all(conns.map((c) => c.close())) } }
})
