// LocalBlobStore.put makes sure of its directories once per store object: a put after the store's
// directory was deleted (and the object kept) makes them again instead of failing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { LocalBlobStore, isDiscoError } from 'disco-inferno'
import { tempDir } from './helpers.js'

const text = async (b: LocalBlobStore, url: string): Promise<string> => {
  const parts: Buffer[] = []
  for await (const c of await b.get(url)) parts.push(Buffer.from(c))
  return Buffer.concat(parts).toString()
}

test('LocalBlobStore: puts after the store directory vanished make it again (bytes and streams)', async (t) => {
  const dir = tempDir(t, 'put-dirs')
  for (const durable of [false, true]) {
    const b = new LocalBlobStore(`${dir}/s-${durable}`, { durable })
    const a = await b.put('a$1', Buffer.from('one'))
    assert.equal(await text(b, a.url), 'one')
    const again = await b.put('a$1', Buffer.from('two'), { replace: true })
    assert.equal(await text(b, again.url), 'two')
    rmSync(`${dir}/s-${durable}`, { recursive: true, force: true })
    const c = await b.put('a$1', Buffer.from('three'))
    assert.equal(c.size, 5)
    assert.equal(await text(b, c.url), 'three')
    rmSync(`${dir}/s-${durable}`, { recursive: true, force: true })
    const s = await b.put('b$1', Readable.from([Buffer.from('stre'), Buffer.from('am')]))
    assert.equal(await text(b, s.url), 'stream')
    // A name written once stays refused, and leaves no partial file behind.
    await assert.rejects(b.put('b$1', Buffer.from('x')), (e) => isDiscoError(e, 'DDFS_BLOB_EXISTS'))
    assert.deepEqual(readdirSync(`${dir}/s-${durable}/tmp`), [])
  }
})

test('LocalBlobStore: a put makes a missing hash directory when its file finds it missing; a file in its place is refused', async (t) => {
  const dir = tempDir(t, 'put-hash-dirs')
  for (const durable of [false, true]) {
    const b = new LocalBlobStore(`${dir}/s-${durable}`, { durable })
    const a = await b.put('a$1', Buffer.from('one'))
    const hashDir = dirname(b.pathOf(a.url))
    rmSync(hashDir, { recursive: true })
    // The same object again, bytes and a stream, plain and replacing: the directory is made again.
    const again = await b.put('a$1', Buffer.from('two'))
    assert.equal(await text(b, again.url), 'two')
    rmSync(hashDir, { recursive: true })
    const s = await b.put('a$1', Readable.from([Buffer.from('thr'), Buffer.from('ee')]), { replace: true })
    assert.equal(await text(b, s.url), 'three')
    // A file where the hash directory belongs: the store's coded error, no partial file left.
    rmSync(hashDir, { recursive: true })
    writeFileSync(hashDir, 'not a directory')
    await assert.rejects(b.put('a$1', Buffer.from('four')), (e) => isDiscoError(e, 'DDFS_STORE_UNAVAILABLE'))
    assert.deepEqual(readdirSync(`${dir}/s-${durable}/tmp`), [])
  }
})
