// BlobStore.put with `replace` on the JetStream object store (Disco's job data: a redelivered task
// writes the same deterministic names again), as on the local store.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { isDiscoError, openCluster } from 'disco-inferno'
import { ObjBlobStore } from '#src/cluster/obj-blobs.js'
import { startNats, type ServerProcess } from './servers.js'

let nats: ServerProcess | undefined
before(async () => { nats = await startNats() })
after(async () => { await nats?.stop() })

async function text(src: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = []
  for await (const c of src) parts.push(c)
  return Buffer.concat(parts).toString()
}

test('ObjBlobStore: a stored name is written once, unless replaced (same URL, new bytes)', async () => {
  const conn = await openCluster(`${nats!.url}?prefix=rep`)
  try {
    const blobs = await ObjBlobStore.open(conn, 'data')
    const a = await blobs.put('job.x.part-0', Buffer.from('first'))
    assert.match(a.url, /^nats-obj:\/\/rep-data\//)
    await assert.rejects(blobs.put('job.x.part-0', Buffer.from('second')), (e) => isDiscoError(e, 'DDFS_BLOB_EXISTS'))
    const b = await blobs.put('job.x.part-0', Buffer.from('third!'), { replace: true })
    assert.equal(b.url, a.url)
    assert.equal(b.size, 6)
    assert.equal(await text(await blobs.get(a.url)), 'third!')
    const c = await blobs.put('job.x.part-1', Buffer.from('new'), { replace: true })
    assert.equal(await text(await blobs.get(c.url)), 'new', 'replace also creates')
  } finally {
    await conn.close()
  }
})
