import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runJobStoreCompliance } from '#src/disco/compliance.js'
import {
  JobRegistry, LocalJobStore, jobResults, jobTasks, keyToken, openLocalStores, purgeJob, runJob, type DiscoStores, type JobStore, type KvChange,
} from 'disco-inferno'
import { collect, fn, sorted, tempDir } from './helpers.js'

runJobStoreCompliance('local', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobstore-compliance-'))
  return { store: new LocalJobStore(dir), open: async () => new LocalJobStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) }
})

/**
 * A LocalJobStore that records the keys read and the prefixes watched (a polling store rereads all
 * of a prefix on every look).
 */
class RecordingJobStore extends LocalJobStore {
  readonly gets: string[] = []
  readonly watched: string[] = []
  override get(key: string): ReturnType<LocalJobStore['get']> {
    this.gets.push(key)
    return super.get(key)
  }

  override watch(prefix: string, signal: AbortSignal): AsyncIterable<KvChange> {
    this.watched.push(prefix)
    return super.watch(prefix, signal)
  }
}

/** Embedded stores in a temp dir whose job store is a RecordingJobStore. */
function recordingStores(t: Parameters<typeof tempDir>[0]): { dir: string; stores: DiscoStores; recorder: RecordingJobStore } {
  const dir = tempDir(t)
  const recorder = new RecordingJobStore(join(dir, 'store', 'jobs'))
  return { dir, recorder, stores: { ...openLocalStores(join(dir, 'store')), jobs: new JobRegistry(recorder satisfies JobStore) } }
}

test('a running job watches only its kill request, not its record and task records', async (t) => {
  const { dir, stores, recorder } = recordingStores(t)
  const job = await runJob({ prefix: 'w', inputs: ['raw://a b', 'raw://b c', 'raw://c d'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 3 },
    { store: stores, executor: 'in-process' })
  await job.wait()
  assert.ok(recorder.watched.length > 0)
  assert.deepEqual([...new Set(recorder.watched)], [`job.${keyToken(job.name)}.kill`])
  // The kill request is still seen by whoever watches for it, through another handle.
  const other = new JobRegistry(new LocalJobStore(join(dir, 'store', 'jobs')))
  const ac = new AbortController()
  const killed = stores.jobs.whenKilled(job.name, ac.signal)
  await other.requestKill(job.name)
  assert.equal(await killed, true)
  assert.equal(await stores.jobs.killRequested(job.name), true)
})

test('map outputs and results under and over 1 MiB (stored from one buffer or streamed) give the reference word count', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  // Input 0: 150 k distinct words (a partition file of ~2 MB); input 1: three words (a few bytes).
  const big: string[] = []
  const ref = new Map<string, number>()
  for (let i = 0; i < 150_000; i++) {
    const w = `word-${(i * 7919) % 150_000}`
    big.push(w)
    ref.set(w, (ref.get(w) ?? 0) + 1)
  }
  const file = join(dir, 'big.txt')
  writeFileSync(file, big.join('\n') + '\n')
  for (const w of ['x', 'y', 'word-1']) ref.set(w, (ref.get(w) ?? 0) + 1)
  const job = await runJob({ prefix: 'sizes', inputs: [file, 'raw://x y word-1'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 1 },
    { store: stores, executor: 'in-process' })
  const info = await job.wait()
  // The map outputs are gone with the job; their pair counts tell their sizes (150 k pairs ≥ 1.5 MB).
  const pairs = (await jobTasks(stores, job.name)).filter((r) => r.task.startsWith('map:')).map((r) => r.blobs.map((b) => b.pairs))
  assert.deepEqual(pairs, [[150_000], [3]])
  assert.ok((await stores.data.size!(info.results![0]!))! > 1 << 20, 'the result file is over 1 MiB')
  assert.equal(info.status, 'ready')
  assert.deepEqual(await collect(job.results()), sorted(ref))
})

/** Dates every version file under `dir` (recursively) two minutes back, as if written that long ago. */
function age(dir: string): void {
  const past = new Date(Date.now() - 120_000)
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) utimesSync(join(e.parentPath, e.name), past, past)
  }
}

test('unconditional delete markers over a minute old are compacted by the next delete beside them; conditional ones stay', async (t) => {
  const dir = tempDir(t)
  const store = new LocalJobStore(dir)
  for (const k of ['a', 'b', 'c']) await store.put(`hb.g.${k}`, '{}')
  await store.put('hb.g.a', null)
  await store.put('hb.g.b', null)
  const rb = (await store.put('lease.x', '{}', 0))!
  await store.put('lease.x', null, rb) // a released lease: its revision chain stays
  await store.put('lease.y', '{}', 0)
  await store.put('lease.y', null)
  // Fresh markers stay (a writer may still be between its check and its link).
  assert.deepEqual(readdirSync(join(dir, 'kv', 'hb', 'g')).sort(), ['a', 'b', 'c'])
  age(join(dir, 'kv'))
  await store.put('hb.g.c', null)
  assert.deepEqual(readdirSync(join(dir, 'kv', 'hb', 'g')), ['c'], 'the old markers are gone, the newest stays')
  await store.put('lease.z', null) // deleting what is not there writes nothing and compacts nothing
  assert.deepEqual(readdirSync(join(dir, 'kv', 'lease')).sort(), ['x', 'y'])
  await store.put('lease.y', '{}')
  await store.put('lease.y', null)
  assert.deepEqual(readdirSync(join(dir, 'kv', 'lease')).sort(), ['x', 'y'], 'a conditional delete marker is kept')
  assert.equal(await store.put('lease.x', '{}', rb), undefined, 'the released revision still conflicts')
  // A compacted key is a fresh key: it can be created again and read back.
  assert.equal(await store.get('hb.g.a'), undefined)
  assert.ok((await store.put('hb.g.a', 'again', 0)) !== undefined)
  assert.equal((await store.get('hb.g.a'))?.value, 'again')
  assert.deepEqual((await store.keys('hb')).sort(), ['hb.g.a'])
})

test('a delete looks at a bounded number of old markers beside it, and repeated deletes still compact them all', async (t) => {
  const dir = tempDir(t)
  const store = new LocalJobStore(dir)
  const runners = join(dir, 'kv', 'hb', 'g')
  for (let i = 0; i < 60; i++) {
    await store.put(`hb.g.k${i}`, '{}')
    await store.put(`hb.g.k${i}`, null)
  }
  age(join(dir, 'kv'))
  await store.put('hb.g.fresh', '{}')
  await store.put('hb.g.fresh', null)
  // One delete beside 61 keys looks at 16 of them: most old markers are still there.
  const left = readdirSync(runners).length
  assert.ok(left >= 61 - 16 && left < 61, `keys left after one delete: ${left}`)
  // Each delete covers a random run of 16: the old markers are gone after a few rounds.
  let deletes = 1
  while (readdirSync(runners).length > 1 && deletes < 300) {
    await store.put('hb.g.fresh', '{}')
    await store.put('hb.g.fresh', null)
    deletes++
  }
  assert.deepEqual(readdirSync(runners), ['fresh'], `after ${deletes} deletes`)
})

test('a purged job leaves no directories behind in the job store', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  const jobs = join(dir, 'store', 'jobs')
  for (let i = 0; i < 3; i++) {
    const job = await runJob({ prefix: 'p', inputs: ['raw://a b', 'raw://b c'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 2 },
      { store: stores, executor: 'in-process' })
    await job.wait()
    await purgeJob(stores, job.name)
    assert.deepEqual(readdirSync(join(jobs, 'kv', 'job')), [], 'job records')
    assert.deepEqual(readdirSync(join(jobs, 'logs', 'job')), [], 'event logs')
  }
  // A purged prefix can be written again: its key and log directories are made afresh.
  const raw = new LocalJobStore(jobs)
  await raw.put('job.p.info', 'again', 0)
  await raw.purge('job.p')
  assert.deepEqual(readdirSync(join(jobs, 'kv', 'job')), [])
  assert.equal(await raw.put('job.p.info', 'again', 0), 1)
  await raw.append('job.p.events', 'hello')
  assert.deepEqual((await collect(raw.read('job.p.events', 0))).map((e) => e.data), ['hello'])
})

test('finished jobs leave no runner heartbeat behind: none written by a job that ends before its first beat; the heartbeat directory does not grow', async (t) => {
  const dir = tempDir(t)
  const stores = openLocalStores(join(dir, 'store'))
  const runners = join(dir, 'store', 'jobs', 'kv', 'hb', 'runner')
  // A job that ends within a third of its heartbeat's lifetime never beats: alive from its record's creation.
  const quick = await runJob({ prefix: 'hb', inputs: ['raw://a b', 'raw://b c'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 1 },
    { store: stores, executor: 'in-process', heartbeatMs: 600_000 })
  assert.equal((await quick.wait()).status, 'ready')
  assert.equal(existsSync(runners), false, 'no heartbeat key was written')
  for (let i = 0; i < 4; i++) {
    // A job held until its runner beat (every 10 ms), then let go.
    const release = join(dir, `release-${i}`)
    const job = await runJob({ prefix: 'hb', inputs: ['raw://a b', 'raw://block'], map: fn('blockMap'), reduce: fn('sumReduce'), params: { release }, partitions: 1 },
      { store: stores, executor: 'in-process', heartbeatMs: 30 })
    for (let n = 0; n < 1000 && !(await stores.jobs.heartbeat('runner', job.name)); n++) await new Promise((r) => setTimeout(r, 10))
    assert.ok(await stores.jobs.heartbeat('runner', job.name), 'the runner beats while its job runs')
    writeFileSync(release, '')
    assert.equal((await job.wait()).status, 'ready')
    assert.deepEqual(await stores.jobs.heartbeats('runner'), [])
    // At most the marker of the job that just ended, until a minute has passed.
    assert.ok(existsSync(runners) && readdirSync(runners).length <= 1, `runner heartbeat keys after job ${i + 1}: ${readdirSync(runners).join(', ')}`)
    age(join(dir, 'store', 'jobs', 'kv'))
  }
})

/**
 * A LocalJobStore that holds the first runner heartbeat written after `arm()` until the heartbeat is
 * removed (or 500 ms pass), and holds the job's READY event until such a beat is held: a beat is in
 * flight when the job ends, deterministically.
 */
class HeldBeat extends LocalJobStore {
  #armed = false
  #held: (() => void) | undefined
  readonly #reached: Promise<void>
  #reach!: () => void
  /** Settles when the held beat's write is done. */
  readonly written: Promise<void>
  #written!: () => void
  constructor(dir: string) {
    super(dir)
    this.#reached = new Promise((resolve) => { this.#reach = resolve })
    this.written = new Promise((resolve) => { this.#written = resolve })
  }
  arm(): void { this.#armed = true }
  override async put(key: string, value: string | null, expected?: number): Promise<number | undefined> {
    if (key.startsWith('hb.runner.') && value !== null && this.#armed) {
      this.#armed = false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500)
        this.#held = () => { clearTimeout(timer); resolve() }
        this.#reach()
      })
      try { return await super.put(key, value, expected) } finally { this.#written() }
    }
    const rev = await super.put(key, value, expected)
    if (key.startsWith('hb.runner.') && value === null) this.#held?.()
    return rev
  }
  override async append(log: string, data: string): Promise<void> {
    if (data.includes('READY')) await Promise.race([this.#reached, new Promise((resolve) => setTimeout(resolve, 5000))])
    return super.append(log, data)
  }
}

test('a heartbeat still in flight when a job ends does not bring the finished job\'s heartbeat back', async (t) => {
  const dir = tempDir(t)
  const local = openLocalStores(join(dir, 'store'))
  const held = new HeldBeat(join(dir, 'store', 'jobs'))
  const stores: DiscoStores = { ...local, jobs: new JobRegistry(held satisfies JobStore) }
  const job = await runJob({ prefix: 'beat', inputs: ['raw://a b'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 1 },
    { store: stores, executor: 'in-process', heartbeatMs: 30 })
  held.arm()
  const info = await job.wait()
  assert.equal(info.status, 'ready')
  await Promise.race([held.written, new Promise((resolve) => setTimeout(resolve, 5000))])
  // Without waiting for the beat in flight, its write lands after the removal and stays.
  assert.equal(await stores.jobs.heartbeat('runner', job.name), undefined)
  assert.deepEqual(await stores.jobs.heartbeats('runner'), [])
})

test('a runner reads its job record once (then saves it against the revision it wrote); its handle reads the results without reading the record back', async (t) => {
  const { stores, recorder } = recordingStores(t)
  const job = await runJob({ prefix: 'r', inputs: ['raw://a b', 'raw://b c', 'raw://c d a'], map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 2 },
    { store: stores, executor: 'in-process' })
  await job.wait()
  const infoKey = `job.${keyToken(job.name)}.info`
  assert.deepEqual(recorder.gets.filter((k) => k === infoKey), [infoKey], 'one read of the record while the job ran')
  recorder.gets.length = 0
  const expected: [string, unknown][] = [['a', 2], ['b', 2], ['c', 2], ['d', 1]]
  assert.deepEqual(await collect(job.results()), expected)
  assert.deepEqual((await collect(job.resultBatches())).flat(), expected)
  assert.deepEqual(recorder.gets, [], 'the handle knows the record it saved')
  // Anyone else reads the record to find the results.
  assert.deepEqual(await collect(jobResults(stores, job.name)), expected)
  assert.ok((recorder.gets as string[]).includes(infoKey), 'jobResults reads the record')
})
