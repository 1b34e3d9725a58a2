// The DDFS compliance suite on the cluster adapters: KV tags + object-store blobs on one real
// nats-server, and KV tags + S3 blobs (s3rver) on loopback. Each fixture gets fresh buckets.
import { after, before } from 'node:test'
import { runCompliance } from '#src/ddfs/compliance.js'
import { openAnyStore } from 'disco-inferno'
import { startNats, startS3rver, type ServerProcess } from './servers.js'

let nats: ServerProcess | undefined
let s3: (ServerProcess & { bucket: string }) | undefined
before(async () => {
  ;[nats, s3] = await Promise.all([startNats(), startS3rver()])
  // s3rver's fixed credentials; the S3 adapter takes the AWS SDK's default chain.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
})
after(async () => { await Promise.all([nats?.stop(), s3?.stop()]) })

let n = 0
runCompliance('nats kv + object store', async () => {
  const s = await openAnyStore(`${nats!.url}?prefix=obj${++n}`)
  return { tags: s.ddfs.tags, blobs: s.ddfs.blobStore, close: () => s.close() }
})
runCompliance('nats kv + s3', async () => {
  const i = ++n
  const s = await openAnyStore(`${nats!.url}?prefix=s3${i}&blobs=s3://${s3!.bucket}/c${i}&s3-endpoint=${encodeURIComponent(s3!.url)}`)
  return { tags: s.ddfs.tags, blobs: s.ddfs.blobStore, close: () => s.close() }
})
