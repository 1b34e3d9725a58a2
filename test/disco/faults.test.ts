// Issue 10, Disco items: record counts, the failing record's input and line, cleanup of killed
// jobs' data, and a redelivered task replacing its outputs. Every kill or failure is made to happen
// at a chosen point (fixtures with markers), never by timing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  runJob, jobTasks, jobInfo, isDiscoError, openLocalStores, InProcessExecutor, dataBlobName, normalizeSpec, DiscoError,
  type BlobStore, type DiscoStores, type TaskMessage,
} from 'disco-inferno'
import { runTask } from '#src/disco/task.js'
import { collect, dataUrls, fn, sorted, tempDir, wordFiles } from './helpers.js'


test('records count every input record once: not again for a failed attempt, not map + reduce', async (t) => {
  const dir = tempDir(t)
  const words = wordFiles(dir, 31, 1, 25_000) // progress is reported every 10,000 records
  const stores = openLocalStores(join(dir, 'store'))
  const progress: number[] = []
  const job = await runJob({
    inputs: words.paths, map: fn('failOnceAfter'), reduce: fn('sumReduce'), params: { at: 15_000 }, retryBaseMs: 1, retryCapMs: 1,
  }, { store: stores, executor: 'in-process', onProgress: (p) => progress.push(p.records) })
  const info = await job.wait()
  assert.equal(info.tasks.failed, 1, 'the first attempt failed after reporting progress')
  assert.equal(info.records, 25_000)
  assert.equal((await jobInfo(stores, job.name)).records, 25_000)
  assert.ok(Math.max(...progress) <= 25_000, `progress never counts a failed attempt: max ${Math.max(...progress)}`)
  assert.equal(info.outputs, words.ref.size)
  assert.deepEqual(await collect(job.results()), sorted(words.ref))
  const tasks = await jobTasks(stores, job.name)
  assert.deepEqual(tasks.map((r) => [r.task, r.attempt, r.records]), [['map:0', 2, 25_000], ['reduce:0', 1, tasks[1]!.records]])
})

test('a failed map names its input and the line of the record that failed', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  const job = await runJob({ inputs: ['raw://a b', 'raw://ok\nfine\nBAD\nlast'], map: fn('failAtBadLine'), maxAttempts: 1 }, { store: stores, executor: 'in-process' })
  await assert.rejects(job.wait(), (e) => isDiscoError(e, 'DISCO_TASK_FAILED') && (e as Error).message.includes('map:1 (raw://ok\nfine\nBAD\nlast)') && /line 3: bad record/.test((e as Error).message))
  // A reduce-only job over a bad [key, value] line: the input and line are named too.
  const chained = await runJob({ inputs: ['raw://["a",1]\n["b",2]\nnot json'], reduce: fn('sumReduce'), maxAttempts: 1 }, { store: stores, executor: 'in-process' })
  await assert.rejects(chained.wait(), (e) => isDiscoError(e, 'DISCO_BAD_RECORD') || (isDiscoError(e, 'DISCO_TASK_FAILED') && /line 3/.test((e as Error).message)))
  const info = await jobInfo(stores, chained.name)
  assert.match(info.error!.message, /line 3/)
})

test('a killed job leaves no map outputs or results behind', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  const release = join(dir, 'release')
  const job = await runJob({ inputs: ['raw://a b a', 'raw://block'], map: fn('blockMap'), reduce: fn('sumReduce'), params: { release }, partitions: 2 },
    { store: stores, executor: new InProcessExecutor(2, { stores: () => stores }) })
  // Wait (bounded) until map:0 has stored its outputs while map:1 is blocked.
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), 20_000)
  for await (const e of stores.jobs.follow(job.name, 0, ac.signal)) if (e.message.startsWith('map:0 done')) break
  clearTimeout(timer)
  ac.abort()
  const before = await dataUrls(stores)
  assert.ok(before.length > 0, 'map:0 stored its partition files')
  const killed = job.kill()
  writeFileSync(release, 'go') // let the blocked record finish: the task must not store anything now
  await killed
  await assert.rejects(job.wait(), (e) => isDiscoError(e, 'DISCO_JOB_KILLED'))
  assert.equal((await jobInfo(stores, job.name)).status, 'dead')
  assert.deepEqual(await dataUrls(stores), [], 'no job data is left')
})

test('a re-run (redelivered) task replaces its outputs under the same deterministic names', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  const spec = normalizeSpec({ inputs: ['raw://b a b'], map: fn('wcMap'), partitions: 2 }, dir)
  const msg: TaskMessage = { kind: 'map', job: 'wc@1:2:3', store: stores.ref, spec, task: { id: 'map:0', index: 0, input: 'raw://b a b' }, attempt: 1 }
  const hooks = { log: () => {}, progress: () => {} }
  const first = await runTask(msg, hooks, stores)
  const second = await runTask({ ...msg, attempt: 2 }, hooks, stores)
  assert.deepEqual(second.blobs.map((b) => b.url), first.blobs.map((b) => b.url))
  assert.equal((await dataUrls(stores)).length, first.blobs.length, 'no duplicates')
  assert.ok(first.blobs.every((b) => decodeURIComponent(b.url).endsWith(dataBlobName('wc@1:2:3', { map: 0, partition: b.partition }))))
})

test('inputs that cannot be stored while the first map tasks run: the job is dead with the store\'s error and leaves no data', async (t) => {
  const dir = tempDir(t)
  const local = openLocalStores(join(dir, 'store'))
  // The job data store fails the expanded inputs' put, once a map output is stored (deterministically after a map task ran).
  let mapStored: () => void = () => {}
  const stored = new Promise<void>((resolve) => { mapStored = resolve })
  const inner = local.data
  const data: BlobStore = {
    owns: (u) => inner.owns(u), get: (u, o) => inner.get(u, o), delete: (u) => inner.delete(u), list: () => inner.list(),
    async put(name, bytes, opts) {
      if (name.endsWith('.inputs.json')) {
        await Promise.race([stored, new Promise((resolve) => setTimeout(resolve, 20_000))])
        throw new DiscoError('DDFS_STORE_UNAVAILABLE', 'injected: the job data store is gone')
      }
      const info = await inner.put(name, bytes, opts)
      if (name.includes('.map-')) mapStored()
      return info
    },
  }
  const stores: DiscoStores = { ...local, data }
  const job = await runJob({ inputs: ['raw://a b a', 'raw://c d'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 2 },
    { store: stores, executor: new InProcessExecutor(1, { stores: () => stores }) })
  await assert.rejects(job.wait(), (e) => isDiscoError(e, 'DDFS_STORE_UNAVAILABLE'))
  const info = await jobInfo(stores, job.name)
  assert.equal(info.status, 'dead')
  assert.equal(info.error?.code, 'DDFS_STORE_UNAVAILABLE')
  assert.deepEqual(await dataUrls(stores), [], 'the map outputs stored meanwhile are deleted')
})
