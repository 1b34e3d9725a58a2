// LocalBlobStore.put makes sure of its directories once per store object: a put after the store's
// directory was deleted (and the object kept) makes them again instead of failing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, rmSync } from 'node:fs'
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
