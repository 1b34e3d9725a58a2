// BlobStore.put with `replace` (Disco's job data under deterministic names) on the local store.
// (Not in the shared compliance suite yet: the cluster adapters do not implement `replace` today.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LocalBlobStore, isDiscoError } from 'disco-inferno'
import { collect, tempDir } from './helpers.js'

test('LocalBlobStore: a stored name is written once, unless replaced (same URL, new bytes)', async (t) => {
  const blobs = new LocalBlobStore(tempDir(t, 'replace'))
  const a = await blobs.put('job.x.part-0', Buffer.from('first'))
  await assert.rejects(blobs.put('job.x.part-0', Buffer.from('second')), (e) => isDiscoError(e, 'DDFS_BLOB_EXISTS'))
  const b = await blobs.put('job.x.part-0', Buffer.from('third!'), { replace: true })
  assert.equal(b.url, a.url)
  assert.equal(b.size, 6)
  assert.equal(Buffer.concat(await collect(await blobs.get(a.url))).toString(), 'third!')
  const c = await blobs.put('job.x.part-1', Buffer.from('new'), { replace: true })
  assert.equal(Buffer.concat(await collect(await blobs.get(c.url))).toString(), 'new', 'replace also creates')
})
