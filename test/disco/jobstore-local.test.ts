import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runJobStoreCompliance } from '#src/disco/compliance.js'
import {
  JobRegistry, LocalJobStore, jobTasks, keyToken, openLocalStores, runJob, type DiscoStores, type JobStore, type KvChange,
} from 'disco-inferno'
import { collect, fn, sorted, tempDir } from './helpers.js'

runJobStoreCompliance('local', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobstore-compliance-'))
  return { store: new LocalJobStore(dir), open: async () => new LocalJobStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) }
})

/** A LocalJobStore that records the prefixes watched (a polling store rereads all of a prefix on every look). */
class WatchRecorder extends LocalJobStore {
  readonly watched: string[] = []
  override watch(prefix: string, signal: AbortSignal): AsyncIterable<KvChange> {
    this.watched.push(prefix)
    return super.watch(prefix, signal)
  }
}

test('a running job watches only its kill request, not its record and task records', async (t) => {
  const dir = tempDir(t)
  const local = openLocalStores(join(dir, 'store'))
  const recorder = new WatchRecorder(join(dir, 'store', 'jobs'))
  const stores: DiscoStores = { ...local, jobs: new JobRegistry(recorder satisfies JobStore) }
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
