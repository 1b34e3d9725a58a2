// The DDFS compliance suite on a 3-server JetStream cluster: R3 tag bucket and object store.
import { after, before } from 'node:test'
import { runCompliance } from '#src/ddfs/compliance.js'
import { openAnyStore } from 'disco-inferno'
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
