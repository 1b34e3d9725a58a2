// Object-store blobs: the chunks of a put whose process died midway (kill -9 before the object's
// metadata was written) are invisible, and DDFS GC sweeps them once older than the partial-write
// grace, leaving stored blobs alone.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openAnyStore, type OpenedStore } from 'disco-inferno'
import { startNats, type ServerProcess } from './servers.js'

const CHILD = fileURLToPath(new URL('./put-child.js', import.meta.url))
let nats: ServerProcess | undefined
before(async () => { nats = await startNats() })
after(async () => { await nats?.stop() })

/** Chunk subjects of the blob bucket and their message counts. */
async function chunkSubjects(s: OpenedStore, bucket: string): Promise<Record<string, number>> {
  const si = await s.cluster!.jsm.streams.info(`OBJ_${bucket}`, { subjects_filter: `$O.${bucket}.C.>` })
  return si.state.subjects ?? {}
}

test('orphan chunks of a put killed midway are swept by DDFS GC (after the grace), stored blobs stay', async () => {
  const url = `${nats!.url}?prefix=orph`
  const s = await openAnyStore(url)
  try {
    const kept = await s.ddfs.blobStore.put('kept$1', Buffer.alloc(700 * 1024, 'k'))
    const bucket = 'orph-blobs'
    assert.equal(Object.keys(await chunkSubjects(s, bucket)).length, 1)
    const r = spawnSync(process.execPath, [CHILD, url, 'doomed$1'], { timeout: 60_000 })
    assert.equal(r.signal, 'SIGKILL', r.stderr.toString())
    const counts = Object.values(await chunkSubjects(s, bucket))
    assert.equal(counts.length, 2, 'the chunks of the stored blob and of the interrupted put')
    assert.ok(counts.every((c) => c >= 2), `chunks stored per object: ${counts}`)
    for await (const b of s.ddfs.blobStore.list()) assert.equal(b.url, kept.url, 'the interrupted put is not visible')

    // Younger than the grace: kept (it could be a put still running).
    assert.equal((await s.ddfs.gc({ partialGraceMs: 3_600_000 })).leftoversRemoved, 0)
    assert.equal((await s.ddfs.gc({ partialGraceMs: 0, dryRun: true })).leftoversRemoved, 1)
    assert.equal(Object.keys(await chunkSubjects(s, bucket)).length, 2, 'a dry run removes nothing')
    assert.equal((await s.ddfs.gc({ partialGraceMs: 0 })).leftoversRemoved, 1)
    assert.equal(Object.keys(await chunkSubjects(s, bucket)).length, 1)
    let n = 0
    for await (const c of await s.ddfs.blobStore.get(kept.url)) n += c.length
    assert.equal(n, 700 * 1024)
  } finally {
    await s.close()
  }
})
