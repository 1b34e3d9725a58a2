// ddfsStore.append inside DDFS's compare-and-set update: concurrent appends from two store
// handles lose nothing and add no duplicates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ddfsStore, openStore } from 'disco-inferno'

test('ddfsStore.append: concurrent appends from two handles keep every blob once, newest first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-append-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const a = ddfsStore(openStore(dir))
  const b = ddfsStore(openStore(dir))
  const blobs = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).putLines(`part-${i}`, [`line ${i}`])))
  await Promise.all(blobs.map((blob, i) => (i % 2 ? a : b).append('processed:x', [blob, blob])))
  await Promise.all(blobs.map((blob, i) => (i % 2 ? b : a).append('processed:x', [blob])))
  const got = (await a.blobs('processed:x')).map((r) => r[0])
  assert.equal(got.length, 24, 'each blob once, whatever the interleaving')
  assert.deepEqual([...got].sort(), blobs.map((r) => r[0]).sort())
  // Given in one call, the last given is the newest (first listed).
  await a.append('ordered', [blobs[0]!, blobs[1]!])
  assert.deepEqual((await b.blobs('ordered')).map((r) => r[0]), [blobs[1]![0], blobs[0]![0]])
})
