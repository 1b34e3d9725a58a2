// Local-adapter specifics: on-disk layout damage gets coded errors; long tag names; batches of blobs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalBlobStore, openStore } from 'disco-inferno'
import { isCode } from '../error-codes.js'
import { collect, tempDir } from './helpers.js'

test('a damaged tag version file is DDFS_CORRUPT_TAG; a damaged gzip blob is DDFS_BAD_GZIP', async (t) => {
  const dir = tempDir(t, 'local')
  const ddfs = openStore(dir)
  await ddfs.touch('t')
  const vdir = join(dir, 'tags', 't')
  writeFileSync(join(vdir, readdirSync(vdir)[0]!), '{"name":')
  await assert.rejects(ddfs.get('t'), isCode('DDFS_CORRUPT_TAG'))
  const [set] = await ddfs.push('g', [{ name: 'bad.gz', data: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]) }])
  await assert.rejects(collect(ddfs.readLines(set!)), isCode('DDFS_BAD_GZIP'))
})

test('tag names up to 511 characters list and read back under their full name', async (t) => {
  const ddfs = openStore(tempDir(t, 'local'))
  const long = 'p:' + 'x'.repeat(509)
  const long2 = 'p:' + 'x'.repeat(300) + 'y'
  await ddfs.tag(long, ['raw://a'])
  await ddfs.tag(long2, ['raw://b'])
  assert.deepEqual(await ddfs.list('p:'), [long2, long].sort())
  assert.deepEqual(await ddfs.list('p:' + 'x'.repeat(300) + 'y'), [long2])
  assert.deepEqual(await ddfs.urls(long), [['raw://a']])
  await ddfs.delete(long)
  assert.deepEqual(await ddfs.list('p:'), [long2])
})

test('blob reads: a big blob in 1 MiB buffers, byte for byte; the file closes at the end and when the reader stops early', async (t) => {
  const dir = tempDir(t, 'local')
  const ddfs = openStore(dir)
  // 2.5 MiB of distinct bytes, stored plain (an uncompressed chunk as map tasks read it).
  const data = Buffer.alloc(5 * (1 << 19))
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 0xff
  const [set] = await ddfs.push('big', [{ name: 'big.bin', data }])
  const fds = () => readdirSync('/proc/self/fd').length
  const before = fds()
  const chunks: Uint8Array[] = []
  for await (const b of await ddfs.openBlob(set!)) chunks.push(b)
  assert.deepEqual(chunks.map((c) => c.length), [1 << 20, 1 << 20, 1 << 19])
  assert.ok(Buffer.concat(chunks).equals(data))
  assert.equal(fds(), before, 'closed after the last read')
  for await (const b of await ddfs.openBlob(set!)) {
    assert.equal(b.length, 1 << 20)
    break
  }
  assert.equal(fds(), before, 'closed when the reader stopped after one buffer')
})

test('batches of blobs: filePaths gives each stored file, deleteAll deletes them all; a bad URL deletes nothing, a blob without its directory is DDFS_BLOB_NOT_FOUND', async (t) => {
  const dir = tempDir(t, 'local')
  const blobs = new LocalBlobStore(dir, { durable: false })
  const stored = await Promise.all(Array.from({ length: 40 }, (_, i) => blobs.put(`b${i}$1`, Buffer.from(`blob ${i}\n`))))
  const urls = stored.map((b) => b.url)
  const paths = await blobs.filePaths(urls)
  assert.deepEqual(paths, urls.map((u) => blobs.pathOf(u)))
  assert.deepEqual(paths.map((p) => readFileSync(p, 'utf8')), urls.map((_, i) => `blob ${i}\n`))
  // A blob whose directory is missing is not stored (the file itself is the reader's to open).
  await assert.rejects(new LocalBlobStore(join(dir, 'empty')).filePaths([urls[0]!]), isCode('DDFS_BLOB_NOT_FOUND'))
  const gone = await blobs.put('gone$1', Buffer.from('x'))
  await blobs.delete(gone.url)
  // One URL of another store in the batch: nothing is deleted.
  await assert.rejects(blobs.deleteAll([...urls, 'disco://elsewhere/x']), isCode('DDFS_BAD_URL'))
  assert.ok(paths.every((p) => existsSync(p)))
  // Deleting again what is gone is no error, as one delete at a time.
  await blobs.deleteAll([...urls, gone.url])
  assert.ok(paths.every((p) => !existsSync(p)))
  assert.deepEqual(await collect(blobs.list()), [])
})
