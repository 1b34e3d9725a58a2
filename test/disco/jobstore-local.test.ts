import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runJobStoreCompliance } from '#src/disco/compliance.js'
import {
  JobRegistry, LocalJobStore, keyToken, openLocalStores, runJob, type DiscoStores, type JobStore, type KvChange,
} from 'disco-inferno'
import { fn, tempDir } from './helpers.js'

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
