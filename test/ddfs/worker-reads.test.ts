// LocalBlobStore.get off the main thread (a map task in a pool worker) reads synchronously: the same
// bytes and the same refusals as on the main thread — a blob of many read chunks, an empty blob, a
// symlink planted under a blob name (DDFS_BAD_URL, not followed), a directory in a blob's place
// (DDFS_BAD_URL), a blob that is not stored (DDFS_BLOB_NOT_FOUND). Its puts, directory checks and
// deletes are synchronous there too: the same outcomes as on the main thread.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { openStore } from 'disco-inferno'
import { tempDir } from './helpers.js'

type Outcome = { bytes: string, length: number } | { code: string }

/** What `get` gives for each URL: the bytes' digest-free summary, or the error code. */
const READ_ALL = `async (store, urls) => {
  const out = {}
  for (const [k, url] of Object.entries(urls)) {
    try {
      const parts = []
      for await (const c of await store.blobStore.get(url)) parts.push(Buffer.from(c))
      const all = Buffer.concat(parts)
      out[k] = { bytes: all.subarray(0, 16).toString() + '…' + all.subarray(-16).toString(), length: all.length }
    } catch (e) {
      out[k] = { code: e.code ?? String(e) }
    }
  }
  return out
}`

async function inWorker(store: string, urls: Record<string, string>): Promise<Record<string, Outcome>> {
  const lib = import.meta.resolve('disco-inferno')
  const w = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads')
    import(workerData.lib).then(async ({ openStore }) => parentPort.postMessage(await (${READ_ALL})(openStore(workerData.store), workerData.urls)))
      .catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }))`, { eval: true, workerData: { lib, store, urls } })
  try {
    const got = await new Promise<Record<string, Outcome> & { failed?: string }>((res, rej) => {
      const t = setTimeout(() => rej(new Error('the worker gave no answer within 30 s')), 30_000)
      w.once('message', (m) => { clearTimeout(t); res(m) })
      w.once('error', (e) => { clearTimeout(t); rej(e) })
    })
    assert.equal(got.failed, undefined)
    return got
  } finally {
    await w.terminate()
  }
}

test('blob reads in a worker thread give the bytes and the refusals of the main thread', async (t) => {
  const root = tempDir(t, 'worker-reads')
  const store = join(root, 'store')
  const ddfs = openStore(store)
  const big = Buffer.alloc(3 * 1024 * 1024 + 17)
  for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 26)
  const blob = await ddfs.blobStore.put('big$1', big)
  const empty = await ddfs.blobStore.put('empty$1', Buffer.alloc(0))
  const pathOf = (u: string): string => (ddfs.blobStore as unknown as { pathOf(u: string): string }).pathOf(u)
  const secret = join(root, 'secret.txt')
  writeFileSync(secret, 'top secret\n')
  const planted = await ddfs.blobStore.put('planted$1', Buffer.from('x'))
  await ddfs.blobStore.delete(planted.url)
  symlinkSync(secret, pathOf(planted.url))
  const dir = await ddfs.blobStore.put('dir$1', Buffer.from('x'))
  await ddfs.blobStore.delete(dir.url)
  mkdirSync(pathOf(dir.url))
  const gone = await ddfs.blobStore.put('gone$1', Buffer.from('x'))
  await ddfs.blobStore.delete(gone.url)
  const urls = { blob: blob.url, empty: empty.url, planted: planted.url, dir: dir.url, gone: gone.url }

  const worker = await inWorker(store, urls)
  const main = await (new Function(`return ${READ_ALL}`)() as (s: unknown, u: Record<string, string>) => Promise<Record<string, Outcome>>)(ddfs, urls)
  assert.deepEqual(worker, main)
  assert.deepEqual(worker.blob, { bytes: `${big.subarray(0, 16).toString()}…${big.subarray(-16).toString()}`, length: big.length })
  assert.deepEqual(worker.empty, { bytes: '…', length: 0 })
  assert.deepEqual(worker.planted, { code: 'DDFS_BAD_URL' })
  assert.deepEqual(worker.dir, { code: 'DDFS_BAD_URL' })
  assert.deepEqual(worker.gone, { code: 'DDFS_BLOB_NOT_FOUND' })
})

/**
 * Puts, checks and deletes of a fresh blob store, each step's outcome (a value or an error code):
 * a new hash directory, a name written twice, a replace, a stream, sizes, batches, a hash directory
 * turned into a symlink.
 */
const WRITE_ALL = `async (lib, dir) => {
  const { LocalBlobStore } = lib
  const { rmSync, symlinkSync, mkdirSync, readFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const store = new LocalBlobStore(dir, { durable: false })
  const out = []
  const step = async (what, f) => {
    try { out.push([what, await f()]) } catch (e) { out.push([what, { code: e.code ?? String(e) }]) }
  }
  let a, b
  await step('put', async () => { a = await store.put('a$1', Buffer.from('first')); return [a.url, a.size] })
  await step('put again', () => store.put('a$1', Buffer.from('again')))
  await step('replace', async () => (await store.put('a$1', Buffer.from('replaced!'), { replace: true })).size)
  await step('bytes', () => readFileSync(store.pathOf(a.url), 'utf8'))
  await step('stream', async () => { b = await store.put('b$1', (async function* () { yield Buffer.from('str'); yield Buffer.from('eam') })()); return b.size })
  await step('size', () => store.size(a.url))
  await step('paths', async () => (await store.filePaths([a.url, b.url])).map((p) => readFileSync(p, 'utf8')))
  await step('bad name', () => store.put('x/y', Buffer.from('x')))
  await step('delete all', async () => { await store.deleteAll([a.url, b.url]); return [await store.size(a.url), await store.size(b.url)] })
  const c = await store.put('c$1', Buffer.from('c'))
  const hh = join(store.pathOf(c.url), '..')
  rmSync(hh, { recursive: true })
  mkdirSync(join(dir, 'elsewhere'))
  symlinkSync(join(dir, 'elsewhere'), hh)
  await step('symlinked paths', () => store.filePaths([c.url]))
  await step('symlinked delete', () => store.delete(c.url))
  return out
}`

test('blob puts, checks and deletes in a worker thread (synchronous there) give the outcomes of the main thread', async (t) => {
  const root = tempDir(t, 'worker-writes')
  const lib = import.meta.resolve('disco-inferno')
  const w = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads')
    import(workerData.lib).then(async (lib) => parentPort.postMessage(await (${WRITE_ALL})(lib, workerData.dir)))
      .catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }))`, { eval: true, workerData: { lib, dir: join(root, 'w') } })
  let worker: unknown
  try {
    worker = await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('the worker gave no answer within 30 s')), 30_000)
      w.once('message', (m) => { clearTimeout(timer); res(m) })
      w.once('error', (e) => { clearTimeout(timer); rej(e) })
    })
  } finally {
    await w.terminate()
  }
  const main = await (new Function(`return ${WRITE_ALL}`)() as (l: unknown, d: string) => Promise<unknown>)(await import('disco-inferno'), join(root, 'm'))
  const steps = worker as [string, unknown][]
  assert.deepEqual(steps.map(([what]) => what), (main as [string, unknown][]).map(([what]) => what))
  // The URLs are the same (same names), so the whole outcomes compare.
  assert.deepEqual(worker, main)
  const got = Object.fromEntries(steps)
  assert.equal((got.put as [string, number])[1], 5)
  assert.deepEqual(got['put again'], { code: 'DDFS_BLOB_EXISTS' })
  assert.equal(got.replace, 9)
  assert.equal(got.bytes, 'replaced!')
  assert.equal(got.stream, 6)
  assert.equal(got.size, 9)
  assert.deepEqual(got.paths, ['replaced!', 'stream'])
  assert.deepEqual(got['bad name'], { code: 'DDFS_BAD_BLOB_NAME' })
  assert.deepEqual(got['delete all'], [undefined, undefined])
  assert.deepEqual(got['symlinked paths'], { code: 'DDFS_BAD_URL' })
  assert.deepEqual(got['symlinked delete'], { code: 'DDFS_BAD_URL' })
})
