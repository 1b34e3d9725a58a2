import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore, blobName, blobFileName } from 'disco-inferno'
import { collect, tempDir } from './helpers.js'

test('push, newest-first append, prefix list, read back', async (t) => {
  const dir = tempDir(t, 'basic')
  const ddfs = openStore(join(dir, 'store'))
  const [a] = await ddfs.push('incoming:data:2026-11-21', [{ name: 'a.txt', data: Buffer.from('one\ntwo\n') }])
  const [b] = await ddfs.push('incoming:data:2026-11-21', [{ name: 'b.txt', data: Buffer.from('three\n') }])
  await ddfs.touch('incoming:database:x')
  await ddfs.touch('other')
  assert.deepEqual(await ddfs.blobs('incoming:data:2026-11-21'), [b, a])
  assert.equal(blobName(a![0]!), 'a_txt')
  assert.match(blobFileName(a![0]!), /^a_txt\$/)
  assert.deepEqual(await ddfs.list('incoming:data'), ['incoming:data:2026-11-21', 'incoming:database:x'])
  assert.deepEqual(await collect(ddfs.readLines(a!)), ['one', 'two'])
})

test('chunk: gzip blobs, lines intact, read back transparently', async (t) => {
  const dir = tempDir(t, 'basic')
  const ddfs = openStore(join(dir, 'store'))
  const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, user: `u${i % 97}`, pad: 'x'.repeat(i % 50) }))
  const file = join(dir, 'clicks.ndjson')
  writeFileSync(file, lines.join('\n') + '\n')
  const sets = await ddfs.chunk('incoming:clicks:2026-11-22', [file], { chunkSize: 8192 })
  assert.ok(sets.length > 3, `expected several chunks, found ${sets.length}`)
  const back: string[] = []
  // Newest first in the tag, but chunk order within one append is input order.
  for (const s of await ddfs.blobs('incoming:clicks:2026-11-22')) back.push(...(await collect(ddfs.readLines(s))))
  assert.deepEqual(back, lines)
  assert.match(blobName(sets[0]![0]!), /^clicks_ndjson-0$/)
})
