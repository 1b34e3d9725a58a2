// Local-adapter specifics: on-disk layout damage gets coded errors; long tag names.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiscoError, openStore } from 'disco-inferno'

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddfs-local-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('a damaged tag version file is DDFS_CORRUPT_TAG; a damaged gzip blob is DDFS_BAD_GZIP', async (t) => {
  const dir = tmp(t)
  const ddfs = openStore(dir)
  await ddfs.touch('t')
  const vdir = join(dir, 'tags', 't')
  writeFileSync(join(vdir, readdirSync(vdir)[0]!), '{"name":')
  await assert.rejects(ddfs.get('t'), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_CORRUPT_TAG')
  const [set] = await ddfs.push('g', [{ name: 'bad.gz', data: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]) }])
  await assert.rejects((async () => { for await (const _ of ddfs.readLines(set!)) { /* drain */ } })(),
    (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_GZIP')
})

test('tag names up to 511 characters list and read back under their full name', async (t) => {
  const ddfs = openStore(tmp(t))
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
