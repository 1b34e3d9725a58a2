// Local-adapter specifics: on-disk layout damage gets coded errors; long tag names.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DiscoError, openStore } from 'disco-inferno'
import { collect, tempDir } from './helpers.js'

test('a damaged tag version file is DDFS_CORRUPT_TAG; a damaged gzip blob is DDFS_BAD_GZIP', async (t) => {
  const dir = tempDir(t, 'local')
  const ddfs = openStore(dir)
  await ddfs.touch('t')
  const vdir = join(dir, 'tags', 't')
  writeFileSync(join(vdir, readdirSync(vdir)[0]!), '{"name":')
  await assert.rejects(ddfs.get('t'), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_CORRUPT_TAG')
  const [set] = await ddfs.push('g', [{ name: 'bad.gz', data: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]) }])
  await assert.rejects(collect(ddfs.readLines(set!)),
    (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_GZIP')
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
