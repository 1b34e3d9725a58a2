// The compliance suite every DDFS adapter pair runs: one call per adapter in its test file.
// Not part of the package entry (it imports node:test); tests import '#src/ddfs/compliance.js'.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoError } from '../errors.js'
import { Ddfs, type GcReport } from './ddfs.js'
import { PENDING_PREFIX } from './pending.js'
import type { BlobInfo, BlobSource, BlobStore, TagRecord, TagStore } from './types.js'

/** What an adapter factory returns: fresh, empty stores plus a cleanup. */
export interface AdapterFixture {
  tags: TagStore
  blobs: BlobStore
  close(): Promise<void>
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DiscoError, `expected a DiscoError ${code}, found ${String(e)}`)
    assert.equal(e.code, code)
    return true
  })
}

async function bytesOf(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of it) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

function rec(name: string, urls: string[][] = []): TagRecord {
  return { name, id: `${name}$x`, mtime: Date.now(), urls, attrs: {} }
}

/** A blob store that calls `after` once each put has stored its blob (a fault-injection hook). */
function hookedBlobs(inner: BlobStore, after: (info: BlobInfo, n: number) => Promise<void>): BlobStore {
  let n = 0
  return {
    owns: (u) => inner.owns(u),
    get: (u) => inner.get(u),
    delete: (u) => inner.delete(u),
    list: () => inner.list(),
    async put(name: string, data: BlobSource): Promise<BlobInfo> {
      const info = await inner.put(name, data)
      await after(info, n++)
      return info
    },
  }
}

/** A tag store whose lease renewals of pending writes wait until `gate` resolves (a stalled writer). */
function stalledRenewals(inner: TagStore, gate: Promise<void>): TagStore {
  return {
    read: (n) => inner.read(n),
    list: (p) => inner.list(p),
    purge: (n, e) => inner.purge(n, e),
    async write(name, record, expected) {
      if (name.startsWith(PENDING_PREFIX) && expected !== 0) await gate
      return inner.write(name, record, expected)
    },
  }
}

/** `n` lines of 40 hex digits that gzip cannot shrink much (so a small chunk size makes many chunks). */
async function* lines(n: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) yield Buffer.from(`${createHash('sha1').update(String(i)).digest('hex')}\n`)
}

async function urlsOf(blobs: BlobStore): Promise<string[]> {
  const out: string[] = []
  for await (const b of blobs.list()) out.push(b.url)
  return out.sort()
}

/** The usual traversal forms, built around a real blob URL of the adapter. */
function hostileUrls(url: string): string[] {
  const cut = url.lastIndexOf('/') + 1
  const base = url.slice(0, cut)
  const last = url.slice(cut)
  const parent = url.slice(0, url.lastIndexOf('/', cut - 2) + 1)
  return [
    `${base}..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd`,
    `${base}%2E%2E%2F%2E%2E%2F${last}`,
    `${base}..%252F..%252F${last}`,
    `${base}%252E%252E%252F${last}`,
    `${base}..%2F${last}`,
    `${base}..`,
    `${base}.`,
    `${base}%2E%2E`,
    `${base}`,
    `${url}/..`,
    `${url}%00`,
    `${url}%00.txt`,
    `${base}${last}%2F..%2F${last}`,
    `${parent}..%2F${last}`,
    `${base}%2Fetc%2Fpasswd`,
    `${base}%5C..%5C${last}`,
    `${base}%ZZ`,
    `${url}/../${last}`,
    '/etc/passwd',
    'file:///etc/passwd',
    '../../etc/passwd',
    '',
  ]
}

/**
 * Registers the DDFS compliance tests for one adapter pair. `factory` must return fresh, empty
 * stores each time.
 *
 * @example
 * runCompliance('local', async () => { const d = mkdtempSync(...); return { tags: new LocalTagStore(d), blobs: new LocalBlobStore(d), close: async () => rmSync(d, { recursive: true }) } })
 */
export function runCompliance(label: string, factory: () => Promise<AdapterFixture>): void {
  const with_ = (name: string, fn: (ddfs: Ddfs, fx: AdapterFixture) => Promise<void>): void => {
    test(`[${label}] ${name}`, async () => {
      const fx = await factory()
      try {
        await fn(new Ddfs({ tags: fx.tags, blobs: fx.blobs }), fx)
      } finally {
        await fx.close()
      }
    })
  }
  const url = async (ddfs: Ddfs, name: string, body = name): Promise<string> => (await ddfs.pushBlob(name, Buffer.from(body + '\n')))[0]!

  with_('TagStore: compare-and-set on revisions', async (_d, { tags }) => {
    // Revisions are opaque positive numbers (a KV store's sequence numbers need not be 1, 2, …).
    assert.equal(await tags.read('a'), undefined)
    const r1 = await tags.write('a', rec('a'), 0)
    assert.ok(r1 !== undefined && r1 > 0)
    assert.equal(await tags.write('a', rec('a'), 0), undefined)
    const r2 = await tags.write('a', rec('a', [['u']]), r1)
    assert.ok(r2 !== undefined && r2 > r1)
    assert.equal(await tags.write('a', rec('a'), r1), undefined)
    const s = await tags.read('a')
    assert.equal(s?.revision, r2)
    assert.deepEqual(s?.record.urls, [['u']])
    await tags.write('ab', rec('ab'), 0)
    await tags.write('b', rec('b'), 0)
    assert.deepEqual((await tags.list('a')).sort(), ['a', 'ab'])
    assert.equal(await tags.purge('a', r1), false)
    assert.equal(await tags.purge('a', r2!), true)
    assert.equal(await tags.read('a'), undefined)
  })

  with_('BlobStore: put bytes and streams, get, list, delete', async (_d, { blobs }) => {
    const a = await blobs.put('a$1', Buffer.from('hello'))
    async function* gen(): AsyncGenerator<Uint8Array> { yield Buffer.from('wor'); yield Buffer.from('ld') }
    const b = await blobs.put('b c%$1', gen())
    assert.ok(blobs.owns(a.url) && blobs.owns(b.url))
    assert.equal(a.size, 5)
    assert.equal((await bytesOf(await blobs.get(b.url))).toString(), 'world')
    assert.deepEqual((await (async () => { const l = []; for await (const x of blobs.list()) l.push(x.url); return l })()).sort(), [a.url, b.url].sort())
    await blobs.delete(a.url)
    await blobs.delete(a.url)
    await rejectsCode(blobs.get(a.url), 'DDFS_BLOB_NOT_FOUND')
  })

  with_('BlobStore: get returns every byte of empty, small and multi-MiB blobs (read sizes around 1 MiB)', async (_d, { blobs }) => {
    for (const n of [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2.5 * (1 << 20)]) {
      const data = Buffer.alloc(n)
      for (let i = 0; i < n; i++) data[i] = (i * 31 + (i >> 11)) & 255
      const { url } = await blobs.put(`sized-${n}$1`, data)
      assert.ok((await bytesOf(await blobs.get(url))).equals(data), `blob of ${n} bytes`)
    }
  })

  with_('BlobStore: size (when the adapter has it) is the stored size, undefined once deleted', async (ddfs, { blobs }) => {
    const a = await blobs.put('sized$1', Buffer.from('hello world'))
    const expected = blobs.size ? 11 : undefined
    assert.equal(await blobs.size?.(a.url), expected)
    assert.equal(await ddfs.blobSize([a.url]), expected)
    assert.equal(await ddfs.blobSize(['raw://abc']), 3)
    await blobs.delete(a.url)
    assert.equal(await blobs.size?.(a.url), undefined)
    assert.equal(await ddfs.blobSize([a.url]), undefined)
  })

  with_('BlobStore: filePaths and deleteAll (when the adapter has them) act on exactly the blobs named', async (_d, { blobs }) => {
    const urls: string[] = []
    for (let i = 0; i < 5; i++) urls.push((await blobs.put(`batch-${i}$1`, Buffer.from(`blob ${i}\n`))).url)
    const kept = await blobs.put('kept$1', Buffer.from('kept'))
    if (blobs.filePaths) {
      const paths = await blobs.filePaths(urls)
      assert.deepEqual(paths.map((p) => readFileSync(p, 'utf8')), urls.map((_, i) => `blob ${i}\n`), 'each file holds its blob, in order')
      await rejectsCode(blobs.filePaths([urls[0]!, 'disco://elsewhere/x']), 'DDFS_BAD_URL')
    }
    if (blobs.deleteAll) {
      // A bad URL anywhere in the batch deletes nothing.
      await rejectsCode(blobs.deleteAll([urls[0]!, 'disco://elsewhere/x']), 'DDFS_BAD_URL')
      assert.equal((await bytesOf(await blobs.get(urls[0]!))).toString(), 'blob 0\n')
      await blobs.deleteAll([...urls.slice(0, 3), urls[0]!])
      for (const u of urls.slice(0, 3)) await rejectsCode(blobs.get(u), 'DDFS_BLOB_NOT_FOUND')
      await blobs.deleteAll(urls.slice(0, 3))
    }
    assert.deepEqual(await urlsOf(blobs), (blobs.deleteAll ? [...urls.slice(3), kept.url] : [...urls, kept.url]).sort())
  })

  with_('BlobStore: a stored name is written once unless replaced (bytes and streams)', async (_d, { blobs }) => {
    async function* gen(...parts: string[]): AsyncGenerator<Uint8Array> { for (const p of parts) yield Buffer.from(p) }
    const a = await blobs.put('job.x.part-0', Buffer.from('first'))
    await rejectsCode(blobs.put('job.x.part-0', Buffer.from('second')), 'DDFS_BLOB_EXISTS')
    await rejectsCode(blobs.put('job.x.part-0', gen('sec', 'ond')), 'DDFS_BLOB_EXISTS')
    assert.equal((await bytesOf(await blobs.get(a.url))).toString(), 'first', 'a refused put keeps the stored bytes')
    const b = await blobs.put('job.x.part-0', Buffer.from('third!'), { replace: true })
    assert.equal(b.url, a.url)
    assert.equal(b.size, 6)
    assert.equal((await bytesOf(await blobs.get(a.url))).toString(), 'third!')
    const c = await blobs.put('job.x.part-0', gen('fou', 'rth'), { replace: true })
    assert.equal(c.url, a.url)
    assert.equal((await bytesOf(await blobs.get(a.url))).toString(), 'fourth')
    const d = await blobs.put('job.x.part-1', Buffer.from('new'), { replace: true })
    assert.equal((await bytesOf(await blobs.get(d.url))).toString(), 'new', 'replace also creates')
    assert.deepEqual(await urlsOf(blobs), [a.url, d.url].sort(), 'one blob per name')
  })

  with_('BlobStore: a failing source leaves nothing visible', async (_d, { blobs }) => {
    async function* bad(): AsyncGenerator<Uint8Array> { yield Buffer.from('partial'); throw new Error('source died') }
    await assert.rejects(blobs.put('c$1', bad()), /source died/)
    for await (const x of blobs.list()) assert.fail(`unexpected blob ${x.url}`)
  })

  with_('TagStore: pending-write records (+pending:…) are stored like tags, hidden from listings', async (ddfs, { tags }) => {
    const name = `${PENDING_PREFIX}19ab3c5d2e1-0-7f3a9c`
    const r1 = await tags.write(name, { ...rec(name), expires: 123 }, 0)
    assert.ok(r1 !== undefined && r1 > 0)
    assert.equal((await tags.read(name))?.record.expires, 123)
    assert.deepEqual(await tags.list(PENDING_PREFIX), [name])
    await ddfs.touch('visible')
    assert.deepEqual(await ddfs.list(), ['visible'])
    assert.equal(await tags.purge(name, r1!), true)
    assert.equal(await tags.write(name, rec(name), r1!), undefined, 'a purged record cannot be renewed')
  })

  with_('BlobStore: every URL is confined to the store after decoding', async (ddfs, { blobs }) => {
    const victim = await blobs.put('victim$1', Buffer.from('victim'))
    const other = await blobs.put('other$1', Buffer.from('other'))
    for (const bad of [...hostileUrls(victim.url), ...hostileUrls(other.url)]) {
      const ok = (e: unknown): boolean => e instanceof DiscoError && ['DDFS_BAD_URL', 'DDFS_BLOB_NOT_FOUND'].includes(e.code)
      await assert.rejects(blobs.get(bad).then(bytesOf), (e) => { assert.ok(ok(e), `get(${bad}): ${String(e)}`); return true })
      await blobs.delete(bad).catch((e) => assert.ok(ok(e), `delete(${bad}): ${String(e)}`))
      await assert.rejects(ddfs.openBlob([bad]).then(bytesOf), (e) => { assert.ok(ok(e), `openBlob(${bad}): ${String(e)}`); return true })
    }
    await rejectsCode(ddfs.openBlob(['file:///etc/passwd']), 'DDFS_BAD_URL')
    await rejectsCode(ddfs.openBlob(['/etc/passwd']), 'DDFS_BAD_URL')
    assert.equal((await bytesOf(await blobs.get(victim.url))).toString(), 'victim')
    assert.equal((await bytesOf(await blobs.get(other.url))).toString(), 'other')
    // A tag naming them is read through the same checks.
    await ddfs.tag('evil', hostileUrls(victim.url).filter((u) => u !== '' && !/\s/.test(u)).map((u) => [u]))
    for (const set of await ddfs.blobs('evil')) await assert.rejects(ddfs.openBlob(set).then(bytesOf), DiscoError)
  })

  with_('GC during a chunk (between blob writes and the tag update) deletes none of its blobs, whatever the grace', async (_d, fx) => {
    const plain = new Ddfs({ tags: fx.tags, blobs: fx.blobs })
    const reports: number[] = []
    const hooked = new Ddfs({
      tags: fx.tags,
      blobs: hookedBlobs(fx.blobs, async () => {
        const r = await plain.gc({ graceMs: 0, partialGraceMs: 0 })
        assert.deepEqual(r.blobsDeleted, [])
        reports.push(r.blobsPending)
      }),
    })
    const sets = await hooked.chunk('in:flight', [{ name: 'lines.txt', source: lines(400) }], { chunkSize: 1024, level: 1 })
    assert.ok(sets.length > 2, `several chunks: ${sets.length}`)
    assert.deepEqual(reports, sets.map((_, i) => i + 1), 'GC saw every stored blob as pending')
    for (const s of sets) await bytesOf(await plain.openBlob(s))
    assert.equal((await plain.blobs('in:flight')).length, sets.length)
    // The same for push, and the pending record is gone afterwards.
    await hooked.push('in:push', [{ name: 'a', data: Buffer.from('a\n') }, { name: 'b', data: Buffer.from('b\n') }])
    assert.equal((await plain.gc({ graceMs: 0, partialGraceMs: 0 })).blobsDeleted.length, 0)
    assert.deepEqual(await fx.tags.list(PENDING_PREFIX), [])
  })

  with_('beginWrite/commit: blobs put in this process or another (putInWrite) survive GC until tagged; a closed write refuses more', async (ddfs, fx) => {
    const plain = new Ddfs({ tags: fx.tags, blobs: fx.blobs })
    const gc = (): Promise<GcReport> => plain.gc({ graceMs: 0, partialGraceMs: 0 })
    const w = await ddfs.beginWrite('w:tag')
    const own = await w.put('own', Buffer.from('own\n'))
    const other = await ddfs.putInWrite(w.id, 'other', Buffer.from('other\n'))
    const r = await gc()
    assert.deepEqual(r.blobsDeleted, [])
    assert.equal(r.blobsPending, 2)
    assert.deepEqual(await w.commit({ extra: [other] }), [own, other])
    assert.deepEqual((await plain.blobs('w:tag')).map((s) => s[0]), [own[0], other[0]])
    assert.deepEqual((await gc()).blobsDeleted, [])
    assert.deepEqual(await fx.tags.list(PENDING_PREFIX), [], 'the pending record is gone after the commit')
    await rejectsCode(w.put('late', Buffer.from('x')), 'DDFS_WRITE_CLOSED')
    await rejectsCode(w.commit(), 'DDFS_WRITE_CLOSED')
    await rejectsCode(ddfs.putInWrite(w.id, 'late', Buffer.from('x')), 'DDFS_WRITE_EXPIRED')
    // replace makes the blobs the tag's whole content; abort deletes what was put.
    const w2 = await ddfs.beginWrite('w:tag')
    const only = await w2.put('only', Buffer.from('only\n'))
    await w2.commit({ replace: true })
    assert.deepEqual(await plain.blobs('w:tag'), [only])
    const w3 = await ddfs.beginWrite('w:gone')
    await w3.put('gone', Buffer.from('gone\n'))
    await w3.abort()
    assert.equal(await plain.exists('w:gone'), false)
    assert.equal((await urlsOf(fx.blobs)).length, 3)
    assert.deepEqual(await fx.tags.list(PENDING_PREFIX), [])
  })

  with_('a stalled write whose lease ended is reaped by GC and then fails DDFS_WRITE_EXPIRED, tagging nothing', async (_d, fx) => {
    let release!: () => void
    const gate = new Promise<void>((res) => { release = res })
    const plain = new Ddfs({ tags: fx.tags, blobs: fx.blobs })
    let deleted: string[] = []
    const stalled = new Ddfs({
      tags: stalledRenewals(fx.tags, gate),
      writeLeaseMs: 30,
      blobs: hookedBlobs(fx.blobs, async (_info, n) => {
        if (n !== 1) return
        // The writer is stalled (its renewals wait on the gate) until its lease has ended.
        for (let i = 0; i < 200 && (await fx.tags.list(PENDING_PREFIX)).length > 0; i++) {
          const pending = await plain.gc({ graceMs: 0, partialGraceMs: 0 })
          deleted = deleted.concat(pending.blobsDeleted)
          if (deleted.length > 0) break
          await new Promise((r) => setTimeout(r, 10))
        }
        release()
      }),
    })
    await rejectsCode(stalled.chunk('late', [{ name: 'lines.txt', source: lines(400) }], { chunkSize: 1024, level: 1 }), 'DDFS_WRITE_EXPIRED')
    assert.equal(deleted.length, 2, 'GC removed the blobs of the expired write')
    assert.equal(await plain.exists('late'), false, 'nothing was tagged')
    assert.deepEqual(await urlsOf(fx.blobs), [])
  })

  with_('chunk checks what it tags: a blob lost before the tag update fails the write', async (_d, fx) => {
    const plain = new Ddfs({ tags: fx.tags, blobs: fx.blobs })
    const lossy = new Ddfs({ tags: fx.tags, blobs: hookedBlobs(fx.blobs, async (info, n) => { if (n === 0) await fx.blobs.delete(info.url) }) })
    await rejectsCode(lossy.chunk('lossy', [{ name: 'lines.txt', source: lines(400) }], { chunkSize: 1024, level: 1 }), 'DDFS_BLOB_NOT_FOUND')
    assert.equal(await plain.exists('lossy'), false)
    assert.deepEqual(await urlsOf(fx.blobs), [], 'the other blobs of the failed write were removed')
  })

  with_('token-rejected and failed writes leave no blob GC cannot see', async (ddfs, fx) => {
    await ddfs.tag('locked', [], { token: 'k' })
    await rejectsCode(ddfs.chunk('locked', [{ name: 'x', source: lines(50) }], { chunkSize: 1024 }), 'DDFS_UNAUTHORIZED')
    assert.deepEqual(await urlsOf(fx.blobs), [], 'rejected before anything was stored')
    // The token changes while the write runs: the tag update is refused, GC finds the blobs.
    await ddfs.touch('open')
    const racing = new Ddfs({ tags: fx.tags, blobs: hookedBlobs(fx.blobs, async (_i, n) => { if (n === 0) await ddfs.setToken('open', 'late', { write: true }) }) })
    await rejectsCode(racing.chunk('open', [{ name: 'x', source: lines(200) }], { chunkSize: 1024 }), 'DDFS_UNAUTHORIZED')
    const stored = await urlsOf(fx.blobs)
    assert.ok(stored.length > 0)
    assert.deepEqual((await ddfs.gc({ partialGraceMs: 3600_000, dryRun: true })).blobsPending, stored.length, 'within the leftover grace')
    assert.deepEqual((await ddfs.gc({ partialGraceMs: 0, dryRun: true })).blobsDeleted.sort(), stored, 'gc -n reports them')
    assert.deepEqual((await ddfs.gc({ partialGraceMs: 0 })).blobsDeleted.sort(), stored)
    assert.deepEqual(await urlsOf(fx.blobs), [])
    assert.deepEqual(await fx.tags.list(PENDING_PREFIX), [])
    // A source that fails midway: what was stored is removed at once.
    async function* dies(): AsyncGenerator<Uint8Array> { yield* lines(200); throw new DiscoError('DDFS_BAD_GZIP', 'input died') }
    await rejectsCode(ddfs.chunk('open', [{ name: 'y', source: dies() }], { chunkSize: 1024, token: 'late' }), 'DDFS_BAD_GZIP')
    assert.deepEqual(await urlsOf(fx.blobs), [])
  })

  with_('a crashed write: its blobs are kept while its lease lasts, then reported and removed', async (ddfs, fx) => {
    const id = '19ab3c5d2e1-0-0c0ffe'
    const now = Date.now()
    const r = await fx.tags.write(PENDING_PREFIX + id, { ...rec(PENDING_PREFIX + id), expires: now + 3600_000 }, 0)
    const b = await fx.blobs.put(`crashed-0$${id}.0`, Buffer.from('x\n'))
    assert.deepEqual((await ddfs.gc({ graceMs: 0, partialGraceMs: 0 })).blobsPending, 1)
    await fx.tags.write(PENDING_PREFIX + id, { ...rec(PENDING_PREFIX + id), expires: now - 1000 }, r!)
    assert.deepEqual((await ddfs.gc({ partialGraceMs: 60_000, dryRun: true })).blobsPending, 1, 'expired less than the grace ago')
    assert.deepEqual((await ddfs.gc({ partialGraceMs: 0, dryRun: true })).blobsDeleted, [b.url])
    assert.deepEqual((await ddfs.gc({ partialGraceMs: 0 })).blobsDeleted, [b.url])
    assert.deepEqual(await fx.tags.list(PENDING_PREFIX), [])
  })

  with_('append is newest first; empty append creates, then makes no version', async (ddfs) => {
    const u1 = await url(ddfs, 'one'); const u2 = await url(ddfs, 'two'); const u3 = await url(ddfs, 'three')
    const created = await ddfs.tag('t', [])
    assert.deepEqual(created.urls, [])
    assert.equal(created.version, 1)
    assert.match(created.id, /^t\$/)
    assert.match(created['last-modified'], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/)
    await ddfs.tag('t', [u1])
    await ddfs.tag('t', [u2, u3])
    assert.deepEqual(await ddfs.urls('t'), [[u2], [u3], [u1]])
    const before = await ddfs.get('t')
    const after = await ddfs.tag('t', [])
    assert.equal(after.id, before.id)
  })

  with_('set-update drops entries by blob name, not by version', async (ddfs) => {
    const d1 = await url(ddfs, 'dup', 'v1'); const d2 = await url(ddfs, 'dup', 'v2'); const o = await url(ddfs, 'other')
    assert.notEqual(d1, d2)
    for (let i = 0; i < 5; i++) await ddfs.tag('s', [d1, d2], { update: true })
    assert.deepEqual(await ddfs.urls('s'), [[d1]])
    await ddfs.tag('s', [o, o], { update: true })
    assert.deepEqual(await ddfs.urls('s'), [[o], [d1]])
    await ddfs.tag('s', [d2])
    assert.equal((await ddfs.urls('s')).length, 3, 'plain append keeps duplicates')
    await ddfs.tag('v', [d1], { update: 'versioned' })
    await ddfs.tag('v', [d1, d2, d2], { update: 'versioned' })
    assert.deepEqual(await ddfs.urls('v'), [[d2], [d1]], "'versioned' drops only the very same blob")
  })

  with_('put replaces; cp copies; exists; get of missing', async (ddfs) => {
    const u1 = await url(ddfs, 'a'); const u2 = await url(ddfs, 'b')
    await ddfs.tag('p', [u1])
    await ddfs.put('p', [u2])
    assert.deepEqual(await ddfs.urls('p'), [[u2]])
    await ddfs.put('empty', [])
    assert.deepEqual(await ddfs.urls('empty'), [])
    await ddfs.cp('p', 'q')
    assert.deepEqual(await ddfs.urls('q'), [[u2]])
    assert.equal(await ddfs.exists('q'), true)
    assert.equal(await ddfs.exists('nope'), false)
    await rejectsCode(ddfs.get('nope'), 'DDFS_TAG_NOT_FOUND')
    await rejectsCode(ddfs.urls('nope'), 'DDFS_TAG_NOT_FOUND')
  })

  with_('tag names follow the grammar', async (ddfs) => {
    for (const bad of ['', 'a b', 'a/b', 'é', 'x'.repeat(512), '+deleted']) await rejectsCode(ddfs.tag(bad, []), 'DDFS_BAD_TAG_NAME')
    await ddfs.tag('A-z_0:9@x', [])
    await ddfs.tag('x'.repeat(511), [])
    assert.equal(await ddfs.exists('tag://A-z_0:9@x'), true)
    await rejectsCode(ddfs.tag('t', ['tag://bad name']), 'DDFS_BAD_ENTRY')
  })

  with_('tombstones: deleted tags vanish at once and can be re-created empty', async (ddfs) => {
    const u = await url(ddfs, 'gone')
    await ddfs.tag('d', [u])
    await ddfs.setattr('d', 'k', 'v')
    await ddfs.delete('d')
    await ddfs.delete('d')
    await ddfs.delete('never-existed')
    assert.equal(await ddfs.exists('d'), false)
    assert.deepEqual(await ddfs.list('d'), [])
    assert.deepEqual(await ddfs.blobs('d'), [])
    await rejectsCode(ddfs.get('d'), 'DDFS_TAG_NOT_FOUND')
    await ddfs.tag('d', [])
    assert.deepEqual(await ddfs.get('d').then((o) => [o.urls, o['user-data']]), [[], {}])
    await ddfs.delete('d')
    await ddfs.gc({ tombstoneGraceMs: 0 })
    assert.equal(await ddfs.exists('d'), false)
    await ddfs.tag('d', [u])
    assert.deepEqual(await ddfs.urls('d'), [[u]])
  })

  with_('list is a raw string prefix over live tags', async (ddfs) => {
    for (const t of ['incoming:data:2026-11-21', 'incoming:data:2026-11-22', 'incoming:database:x', 'incoming:dat', 'processed:data:2026-11-21']) await ddfs.touch(t)
    await ddfs.delete('incoming:dat')
    assert.deepEqual(await ddfs.list('incoming:data'), ['incoming:data:2026-11-21', 'incoming:data:2026-11-22', 'incoming:database:x'])
    assert.deepEqual(await ddfs.list(), ['incoming:data:2026-11-21', 'incoming:data:2026-11-22', 'incoming:database:x', 'processed:data:2026-11-21'])
    assert.deepEqual(await ddfs.list('zzz'), [])
  })

  with_('links: blobs follows tag:// depth first, cycle safe; missing links ignored unless strict', async (ddfs) => {
    const a = await url(ddfs, 'a'); const b = await url(ddfs, 'b'); const c = await url(ddfs, 'c')
    await ddfs.tag('x', [a])
    await ddfs.tag('y', [b, 'tag://x'])
    await ddfs.tag('x', ['tag://y'])
    await ddfs.tag('root', [c, 'tag://y', 'tag://missing'])
    assert.deepEqual(await ddfs.blobs('root'), [[c], [b], [a]])
    assert.deepEqual(await ddfs.blobs('x'), [[b], [a]])
    await rejectsCode(ddfs.blobs('root', { ignoreMissing: false }), 'DDFS_TAG_NOT_FOUND')
    assert.deepEqual(await ddfs.blobs(['missing', 'x']), [[b], [a]])
    const found = await ddfs.findTags(['root'])
    assert.deepEqual(found.map((f) => [f.tag, f.path.join('>'), f.missing]), [
      ['root', 'root', false], ['y', 'root>y', false], ['missing', 'root>missing', true], ['x', 'root>y>x', false],
    ])
  })

  with_('attributes: set, get, delete, reserved namespace, limits', async (ddfs) => {
    await ddfs.touch('t')
    await ddfs.setattr('t', 'owner', 'ops')
    await ddfs.setattr('t', 'empty', '')
    assert.deepEqual(await ddfs.attrs('t'), { owner: 'ops', empty: '' })
    assert.equal(await ddfs.getattr('t', 'owner'), 'ops')
    assert.equal(await ddfs.getattr('t', 'none'), undefined)
    await ddfs.delattr('t', 'owner')
    await ddfs.delattr('t', 'owner')
    assert.deepEqual((await ddfs.get('t'))['user-data'], { empty: '' })
    await rejectsCode(ddfs.setattr('t', 'ddfs:foo', 'x'), 'DDFS_RESERVED_ATTR')
    await rejectsCode(ddfs.setattr('t', 'big', 'x'.repeat(4097)), 'DDFS_BAD_ATTR')
    await rejectsCode(ddfs.setattr('t', 'n'.repeat(1025), 'x'), 'DDFS_BAD_ATTR')
    await rejectsCode(ddfs.setattr('missing', 'a', 'b'), 'DDFS_TAG_NOT_FOUND')
  })

  with_('tokens: creating with a token protects reads and writes; exists sees it', async (ddfs) => {
    await ddfs.tag('sec', [], { token: 's3' })
    await rejectsCode(ddfs.get('sec'), 'DDFS_UNAUTHORIZED')
    await rejectsCode(ddfs.tag('sec', ['raw://x']), 'DDFS_UNAUTHORIZED')
    await rejectsCode(ddfs.get('sec', { token: 'wrong' }), 'DDFS_UNAUTHORIZED')
    assert.equal(await ddfs.exists('sec'), true)
    await ddfs.tag('sec', ['raw://x'], { token: 's3' })
    assert.deepEqual(await ddfs.urls('sec', { token: 's3' }), [['raw://x']])
    assert.ok(!JSON.stringify(await ddfs.get('sec', { token: 's3' })).includes('s3'), 'tokens stay hidden')
    // Write token only, via the reserved attribute; the empty string is a valid token.
    await ddfs.touch('w')
    await ddfs.setattr('w', 'ddfs:write-token', '')
    assert.deepEqual(await ddfs.urls('w'), [])
    await rejectsCode(ddfs.tag('w', ['raw://y']), 'DDFS_UNAUTHORIZED')
    await ddfs.tag('w', ['raw://y'], { token: '' })
    await ddfs.setToken('w', null, { write: true }, { token: '' })
    await ddfs.tag('w', ['raw://z'])
    await rejectsCode(ddfs.delete('sec'), 'DDFS_UNAUTHORIZED')
    await ddfs.delete('sec', { token: 's3' })
    assert.equal(await ddfs.exists('sec'), false)
  })

  with_('GC: unreferenced blobs go after the grace period only; referenced ones stay', async (ddfs) => {
    const kept = await url(ddfs, 'kept'); const linked = await url(ddfs, 'linked'); const orphan = await url(ddfs, 'orphan'); const dropped = await url(ddfs, 'dropped')
    await ddfs.tag('k', [kept])
    await ddfs.tag('l', [linked])
    await ddfs.tag('gone', [dropped])
    await ddfs.delete('gone')
    let r = await ddfs.gc()
    assert.deepEqual(r.blobsDeleted, [], 'fresh blobs are within the default grace period')
    r = await ddfs.gc({ graceMs: 0, dryRun: true })
    assert.deepEqual(r.blobsDeleted.sort(), [orphan, dropped].sort())
    r = await ddfs.gc({ graceMs: 0 })
    assert.deepEqual(r.blobsDeleted.sort(), [orphan, dropped].sort())
    assert.ok(r.bytesFreed > 0)
    assert.equal((await bytesOf(await ddfs.openBlob([kept]))).toString(), 'kept\n')
    assert.equal((await bytesOf(await ddfs.openBlob([linked]))).toString(), 'linked\n')
    await rejectsCode(ddfs.openBlob([orphan]), 'DDFS_BLOB_NOT_FOUND')
  })

  with_('many concurrent appends in one process: nothing lost, no duplicates', async (ddfs) => {
    const n = 60
    await Promise.all(Array.from({ length: n }, (_, i) => ddfs.tag('c', [`raw://e${i}`])))
    const got = (await ddfs.urls('c')).map((e) => e[0])
    assert.equal(got.length, n)
    assert.equal(new Set(got).size, n)
  })
}
