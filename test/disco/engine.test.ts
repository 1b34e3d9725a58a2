import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import {
  runJob, jobResults, jobResultBatches, jobEvents, jobInfo, jobTasks, listJobs, purgeJob, killJob, resolveJob, waitJob, isDiscoError, WorkerPoolExecutor, InProcessExecutor, openLocalStores,
  dataBlobName, type BlobStore, type DiscoStores, type JobSpec, type JobProgress,
} from 'disco-inferno'
import { collect, dataUrls, fn, kvFiles, sorted, tempDir, wordFiles } from './helpers.js'

const SEED = Number(process.env.DISCO_TEST_SEED ?? 20261122)

test('word count and sum-by-key equal an in-memory reference (1, 7, 200 partitions, ± combiner)', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const words = wordFiles(dir, SEED, 3, 300)
  const kv = kvFiles(dir, SEED + 1, 3, 500)
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  for (const partitions of [1, 7, 200]) {
    for (const combiner of [false, true]) {
      for (const [what, data, map, inputs] of [
        ['wordcount', words, 'wcMap', words.paths],
        ['sum-by-key', kv, 'kvMap', kv.paths.map((p) => `file://${p}`)],
      ] as const) {
        const spec: JobSpec = { prefix: 'test', inputs: [...inputs], map: fn(map), reduce: fn('sumReduce'), partitions }
        if (combiner) spec.combiner = fn('add')
        const job = await runJob(spec, { store, executor: pool })
        const info = await job.wait()
        assert.equal(info.status, 'ready')
        const got = await collect(job.results())
        assert.deepEqual(got, sorted(data.ref), `${what} partitions=${partitions} combiner=${combiner} seed=${SEED}`)
        assert.ok(info.results!.length <= partitions)
      }
    }
  }
})

test('a tiny memory budget spills sorted runs and gives the same results', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const words = wordFiles(dir, SEED + 2, 2, 300)
  const ex = new InProcessExecutor()
  const base: JobSpec = { inputs: words.paths, map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 3 }
  const plain = await runJob(base, { store, executor: ex })
  await plain.wait()
  const expected = await collect(plain.results())
  assert.deepEqual(expected, sorted(words.ref))
  for (const combiner of [false, true]) {
    const spec: JobSpec = { ...base, memoryBudgetBytes: 8192 }
    if (combiner) spec.combiner = fn('add')
    const spilled = await runJob(spec, { store, executor: ex })
    await spilled.wait()
    assert.deepEqual(await collect(spilled.results()), expected, `combiner=${combiner} seed=${SEED + 2}`)
  }
  // A reduce that emits keys out of order, spilling: results still sorted.
  const many = await runJob({ ...base, memoryBudgetBytes: 4096, reduce: fn('renameReduce') }, { store, executor: ex })
  await many.wait()
  const renamed = sorted(words.ref).map(([k, n]) => [`${9 - (n % 10)}:${k}`, n] as [string, number])
  assert.deepEqual(await collect(many.results()), renamed.sort((a, b) => (a[0] < b[0] ? -1 : 1)))
})

test('a reduce writes keys in order straight to its result; keys out of order after an in-order start are re-sorted, stably', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const words = wordFiles(dir, SEED + 9, 2, 300)
  const ex = new InProcessExecutor()
  const keys = sorted(words.ref)
  // '=' sorts before every word and '#…' line tags: the first group is in order, every later '=' is not.
  assert.ok(keys.every(([k]) => k > '=' || k < '='))
  const pairs: [string, unknown][] = keys.flatMap(([k, n]) => [[k, n], ['=', k]] as [string, unknown][])
  const expected = pairs.map((p, i) => [p, i] as const).sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1])).map(([p]) => p)
  for (const budget of [undefined, 4096]) {
    const job = await runJob({ inputs: words.paths, map: fn('wcMap'), reduce: fn('sharedKeyReduce'), partitions: 1, ...(budget ? { memoryBudgetBytes: budget } : {}) }, { store, executor: ex })
    const info = await job.wait()
    assert.equal(info.outputs, pairs.length)
    assert.deepEqual(await collect(job.results()), expected, `memoryBudgetBytes=${budget} seed=${SEED + 9}`)
  }
})

test('results in batches: the very pairs of jobResults, in order, over several batches (sorted, one partition, sort: false)', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  // 10 000 distinct keys: more than one merged batch (4096 pairs); a file's pairs go as read.
  const path = join(dir, 'keys.txt')
  writeFileSync(path, Array.from({ length: 10_000 }, (_, i) => `k${(i * 7919) % 10_000} k${i % 10}`).join('\n') + '\n')
  const ex = new InProcessExecutor()
  for (const [partitions, sort] of [[7, true], [1, true], [3, false]] as const) {
    const job = await runJob({ inputs: [path], map: fn('wcMap'), reduce: fn('sumReduce'), partitions, sort }, { store, executor: ex })
    await job.wait()
    const pairs = await collect(job.results())
    assert.equal(pairs.length, 10_000)
    if (sort) assert.deepEqual(pairs, [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
    const batches = await collect(job.resultBatches())
    assert.ok(batches.every((b) => b.length > 0))
    if (partitions > 1 && sort) assert.ok(batches.length > 1, `a merge of ${partitions} partitions in ${batches.length} batch(es)`)
    assert.deepEqual(batches.flat(), pairs, `partitions=${partitions} sort=${sort}`)
    assert.deepEqual((await collect(jobResultBatches(store, job.name))).flat(), pairs)
  }
})

test('a worker killed mid-task: the task re-runs and the job ends ready with identical results', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const words = wordFiles(dir, SEED + 3, 3, 2000)
  const marker = join(dir, 'crashed')
  const spec: JobSpec = {
    inputs: words.paths, map: fn('crashOnceMap'), reduce: fn('sumReduce'), combiner: fn('add'), partitions: 5,
    params: { marker, at: 1500 }, retryBaseMs: 10,
  }
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  const seen: JobProgress[] = []
  const job = await runJob(spec, { store, executor: pool, onProgress: (p) => seen.push(p) })
  const info = await job.wait()
  assert.equal(info.status, 'ready')
  assert.ok(existsSync(marker), 'the worker crashed once')
  const last = seen.at(-1)!
  assert.deepEqual([last.phase, last.done, last.total], ['reduce', 5, 5])
  assert.ok(seen.some((p) => p.phase === 'map' && p.done === 3 && p.total === 3))
  assert.equal(info.tasks.failed, 1)
  const events = (await jobEvents(store, job.name)).events.map((e) => e.message)
  assert.ok(events.some((m) => m.includes('map:0') && m.includes('DISCO_WORKER_LOST')), events.join('\n'))
  assert.deepEqual(await collect(job.results()), sorted(words.ref))
  // Only the results stay in the job data store: the map outputs are gone, nothing partial is visible.
  assert.deepEqual((await dataUrls(openLocalStores(store))).sort(), [...info.results!].sort())
})

test('flaky tasks are retried with back-off; a task failing every attempt kills the job with its error', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const words = wordFiles(dir, SEED + 4, 2, 50)
  const ex = new InProcessExecutor()
  const ok = await runJob({
    inputs: words.paths, map: fn('flakyMap'), reduce: fn('sumReduce'), params: { counter: join(dir, 'count'), failures: 2 }, retryBaseMs: 1, retryCapMs: 5,
  }, { store, executor: ex })
  const info = await ok.wait()
  assert.equal(info.tasks.failed, 4)
  assert.deepEqual(await collect(ok.results()), sorted(words.ref))

  const bad = await runJob({ inputs: words.paths, map: fn('alwaysFails'), maxAttempts: 2, retryBaseMs: 1 }, { store, executor: ex })
  await assert.rejects(bad.wait(), (e) => isDiscoError(e, 'DISCO_TASK_FAILED') && /boom in map/.test((e as Error).message) && /failed 2 times/.test((e as Error).message))
  const dead = await jobInfo(store, bad.name)
  assert.equal(dead.status, 'dead')
  assert.equal(dead.error!.code, 'DISCO_TASK_FAILED')
  assert.match(dead.error!.stack!, /alwaysFails/)
  await assert.rejects(collect(jobResults(store, bad.name)), (e) => isDiscoError(e, 'DISCO_JOB_NOT_READY'))
  await assert.rejects(collect(jobResultBatches(store, bad.name)), (e) => isDiscoError(e, 'DISCO_JOB_NOT_READY'))
})

test('a fatal error stops retries at once; engine errors are coded', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const ex = new InProcessExecutor()
  const fatal = await runJob({ inputs: ['raw://x'], map: fn('fatalMap'), maxAttempts: 5, retryBaseMs: 1 }, { store, executor: ex })
  await assert.rejects(fatal.wait(), (e) => isDiscoError(e, 'DISCO_TASK_FATAL'))
  assert.equal((await jobInfo(store, fatal.name)).tasks.failed, 1)
  const missing = await runJob({ inputs: ['raw://x'], map: fn('noSuchExport') }, { store, executor: ex })
  await assert.rejects(missing.wait(), (e) => isDiscoError(e, 'DISCO_FN_NOT_FOUND'))
  const badKey = await runJob({ inputs: ['raw://x'], map: fn('badKeyMap') }, { store, executor: ex })
  await assert.rejects(badKey.wait(), (e) => isDiscoError(e, 'DISCO_BAD_KEY'))
  const badInput = await runJob({ inputs: ['gopher://x'], map: fn('wcMap') }, { store, executor: ex })
  await assert.rejects(badInput.wait(), (e) => isDiscoError(e, 'DISCO_INPUT_UNSUPPORTED'))
  await assert.rejects(runJob({ inputs: [], map: fn('wcMap') }, { store }), (e) => isDiscoError(e, 'DISCO_BAD_SPEC'))
})

test('events record task prints; raw:// inputs, stream form, map-only and chained jobs', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const pool = new WorkerPoolExecutor({ size: 1 })
  t.after(() => pool.close())
  const printing = await runJob({ prefix: 'print', inputs: ['raw://hello'], map: fn('printingMap') }, { store, executor: pool })
  await printing.wait()
  const msgs = (await jobEvents(store, printing.name)).events.map((e) => e.message)
  assert.ok(msgs.includes('map:0: saw hello'), msgs.join('\n'))
  assert.ok(msgs.includes('map:0: ctx says hi'))
  assert.match(msgs.at(-1)!, /^READY: Job done in/)
  assert.deepEqual(await collect(printing.results()), [['hello', 1]])

  const stream = await runJob({ inputs: ['raw://b a\na c'], map: fn('wcStream'), mapForm: 'stream', reduce: fn('sumReduce'), partitions: 2 }, { store, executor: pool })
  await stream.wait()
  assert.deepEqual(await collect(stream.results()), [['a', 2], ['b', 1], ['c', 1]])

  // Map only: every pair kept, grouped and ordered by key (ties in input order).
  const mapOnly = await runJob({ inputs: ['raw://b a', 'raw://a'], map: fn('wcMap'), partitions: 3 }, { store, executor: pool })
  await mapOnly.wait()
  assert.deepEqual(await collect(mapOnly.results()), [['a', 1], ['a', 1], ['b', 1]])

  // Chaining: a reduce-only job over the results of another job.
  const results = (await jobInfo(store, mapOnly.name)).results!
  const chained = await runJob({ inputs: results, reduce: fn('sumReduce') }, { store, executor: pool })
  await chained.wait()
  assert.deepEqual(await collect(chained.results()), [['a', 2], ['b', 1]])

  // sort: false keeps partition order; custom partitioner.
  const unsorted = await runJob({ inputs: ['raw://b a c d'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 2, partitioner: fn('partitionByFirstChar'), sort: false }, { store, executor: pool })
  await unsorted.wait()
  assert.deepEqual(await collect(unsorted.results()), [['b', 1], ['d', 1], ['a', 1], ['c', 1]])
})

test('job control: list, @ shorthand, purge, runner-lost detection', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const ex = new InProcessExecutor()
  const a = await runJob({ prefix: 'first', inputs: ['raw://x'], map: fn('wcMap') }, { store, executor: ex })
  await a.wait()
  const b = await runJob({ prefix: 'second', inputs: ['raw://y'], map: fn('wcMap') }, { store, executor: ex })
  await b.wait()
  assert.match(a.name, /^first@[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$/)
  assert.deepEqual((await listJobs(store)).map((j) => j.name), [b.name, a.name])
  assert.equal(await resolveJob(store, '@'), b.name)
  assert.equal(await resolveJob(store, '@?first'), a.name)
  await assert.rejects(resolveJob(store, '@?nothing'), (e) => isDiscoError(e, 'DISCO_JOB_NOT_FOUND'))
  await assert.rejects(jobInfo(store, 'nope@1:2:3'), (e) => isDiscoError(e, 'DISCO_JOB_NOT_FOUND'))
  await assert.rejects(jobInfo(store, '../../etc'), (e) => isDiscoError(e, 'DISCO_JOB_NOT_FOUND'))
  const aResults = (await jobInfo(store, a.name)).results!
  await purgeJob(store, a.name)
  assert.deepEqual((await listJobs(store)).map((j) => j.name), [b.name])
  const left = await dataUrls(openLocalStores(store))
  assert.ok(aResults.length > 0 && aResults.every((u) => !left.includes(u)), 'purge removes the results')
})

/** The job data store of `stores` with its listings counted. */
function countingLists(stores: DiscoStores): { stores: DiscoStores; lists: () => number } {
  let n = 0
  const data: BlobStore = Object.create(stores.data) as BlobStore
  data.list = () => {
    n++
    return stores.data.list()
  }
  return { stores: { ...stores, data }, lists: () => n }
}

test('purge: a job that ran through deletes its results by name; one with a failed attempt sweeps what its attempts left', async (t) => {
  const dir = tempDir(t)
  const local = openLocalStores(join(dir, 'store'))
  const { stores, lists } = countingLists(local)
  const clean = await runJob({ prefix: 'clean', inputs: ['raw://a b', 'raw://b c'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 3 },
    { store: stores, executor: 'in-process' })
  await clean.wait()
  // What a crashed attempt of another process could leave under the job's name (not this one's case).
  const stray = (await local.data.put(dataBlobName(clean.name, { map: 9, partition: 0 }), Buffer.from('x\n'), { replace: true })).url
  await purgeJob(stores, clean.name)
  assert.equal(lists(), 0, 'no listing of the data store')
  assert.deepEqual(await dataUrls(local), [stray], 'the results are gone (nothing else is looked for)')
  await local.data.delete(stray)
  // A job with a failed attempt is swept: an output under its name that no finished task recorded goes too.
  const flaky = await runJob({
    prefix: 'flaky', inputs: ['raw://a b', 'raw://b c'], map: fn('flakyMap'), reduce: fn('sumReduce'), partitions: 3,
    params: { counter: join(dir, 'count'), failures: 1 }, retryBaseMs: 1, retryCapMs: 5,
  }, { store: stores, executor: 'in-process' })
  const info = await flaky.wait()
  assert.ok(info.tasks.failed > 0)
  await local.data.put(dataBlobName(flaky.name, { map: 9, partition: 0 }), Buffer.from('x\n'), { replace: true })
  await purgeJob(stores, flaky.name)
  assert.equal(lists(), 1)
  assert.deepEqual(await dataUrls(local), [])
})

test('a handle gives the records of its finished tasks as the job store has them, in plan order', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  const job = await runJob({ prefix: 'recs', inputs: ['raw://a b', 'raw://b c', 'raw://c d'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 2 },
    { store: stores, executor: 'in-process' })
  await job.wait()
  const mine = await job.tasks()
  assert.deepEqual(mine.map((r) => r.task), ['map:0', 'map:1', 'map:2', 'reduce:0', 'reduce:1'])
  assert.deepEqual(JSON.parse(JSON.stringify(mine)), await jobTasks(stores, job.name))
  // A dead job's handle reads what the store has.
  const dead = await runJob({ prefix: 'dead', inputs: ['raw://a'], map: fn('alwaysFails'), maxAttempts: 1 }, { store: stores, executor: 'in-process' })
  await assert.rejects(dead.wait())
  assert.deepEqual(await dead.tasks(), await jobTasks(stores, dead.name))
})

test('liveness is a heartbeat with an expiry, never a PID: a job whose runner stopped beating is dead', async (t) => {
  const dir = tempDir(t)
  let now = Date.parse('2026-11-27T10:00:00Z')
  const stores = openLocalStores(join(dir, 'store'), { now: () => now })
  const job = await runJob({ prefix: 'lost', inputs: ['raw://y'], map: fn('wcMap') }, { store: stores, executor: 'in-process' })
  await job.wait()
  // Make it look like a runner in this very process (its PID is alive, as a reused PID would be)
  // that died mid-job: the record says active, its last heartbeat has a 1 s lifetime.
  await stores.jobs.update(job.name, (i) => ({ ...i, status: 'active', host: hostname(), pid: process.pid, heartbeatMs: 1000 }))
  await stores.jobs.beat('runner', job.name, 1000)
  assert.equal((await jobInfo(stores, job.name)).status, 'active', 'alive while the heartbeat lasts')
  await assert.rejects(waitJob(stores, job.name, { timeoutMs: 0 }), (e) => isDiscoError(e, 'DISCO_WAIT_TIMEOUT'))
  now += 1000
  const lost = await jobInfo(stores, job.name)
  assert.equal(lost.status, 'dead', 'dead once the heartbeat expired, although the PID is alive')
  assert.equal(lost.error!.code, 'DISCO_RUNNER_LOST')
  assert.equal((await listJobs(stores))[0]!.status, 'dead')
  await assert.rejects(waitJob(stores, job.name), (e) => isDiscoError(e, 'DISCO_RUNNER_LOST'), 'wait returns')
  assert.equal((await killJob(stores, job.name)).status, 'dead')
  assert.equal((await stores.jobs.info(job.name)).status, 'dead', 'kill recorded it')
  assert.match((await jobEvents(stores, job.name)).events.at(-1)!.message, /^DEAD: DISCO_RUNNER_LOST/)
  // A live runner that does not act on the kill request: kill reports it instead of claiming success.
  await stores.jobs.update(job.name, (i) => ({ ...i, status: 'active' }))
  await stores.jobs.beat('runner', job.name, 60_000)
  await assert.rejects(killJob(stores, job.name, { timeoutMs: 50 }), (e) => isDiscoError(e, 'DISCO_KILL_TIMEOUT'))
  assert.equal(await stores.jobs.killRequested(job.name), true)
})

test('DDFS: tag:// inputs (gzip chunks), save under a tag, chain a job on the saved tag', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const words = wordFiles(dir, SEED + 5, 2, 300)
  const stores = openLocalStores(store)
  const ddfs = stores.ddfs
  await ddfs.chunk('data:words', words.paths, { chunkSize: 2048 })
  const blobs = await ddfs.blobs('data:words')
  assert.ok(blobs.length > 2, 'several chunks, one map task each')
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  const job = await runJob({ inputs: ['tag://data:words'], map: fn('wcMap'), reduce: fn('sumReduce'), combiner: fn('add'), partitions: 4, save: true }, { store: stores, executor: pool })
  const info = await job.wait()
  assert.equal(info.tasks.map, blobs.length)
  assert.equal(info.savedTag, `disco:results:${job.name}`)
  assert.equal((await ddfs.blobs(info.savedTag)).length, info.results!.length)
  assert.deepEqual(await collect(job.results()), sorted(words.ref))
  // Chaining: reduce-only over the saved results, and a named save tag.
  const chained = await runJob({ inputs: [`tag://${info.savedTag}`], reduce: fn('sumReduce'), save: 'results:chained' }, { store, executor: pool })
  await chained.wait()
  assert.deepEqual(await collect(chained.results()), sorted(words.ref))
  assert.equal((await ddfs.blobs('results:chained')).length, 1)
  await assert.rejects(runJob({ inputs: ['tag://no:such:tag'], map: fn('wcMap') }, { store }), (e) => isDiscoError(e, 'DDFS_TAG_NOT_FOUND'))
})
