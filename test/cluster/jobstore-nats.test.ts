// The job-store compliance suite on NATS JetStream (KV bucket + event stream), on one real server.
import { after, before } from 'node:test'
import { runJobStoreCompliance } from '#src/disco/compliance.js'
import { openCluster } from 'disco-inferno'
import { KvJobStore } from '#src/cluster/kv-jobs.js'
import type { ClusterConnection } from '#src/cluster/connect.js'
import { startNats, type ServerProcess } from './servers.js'

let nats: ServerProcess | undefined
before(async () => { nats = await startNats() })
after(async () => { await nats?.stop() })

let n = 0
runJobStoreCompliance('nats', async () => {
  const url = `${nats!.url}?prefix=j${++n}`
  const conns: ClusterConnection[] = []
  const open = async (): Promise<KvJobStore> => { const c = await openCluster(url); conns.push(c); return KvJobStore.open(c) }
  const store = await open()
  return { store, open, close: async () => { await Promise.all(conns.map((c) => c.close())) } }
})
