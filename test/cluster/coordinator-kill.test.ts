// kill -9 of the process coordinating a job (`disco run`), on the embedded store and on a 3-server
// R3 cluster with 2 worker processes. The kill point is deterministic: the job's last map task
// blocks on a file (fixture blockMap) and the test kills the runner once the job store holds the
// "done" events of the other 5 map tasks. Then `disco jobs`/`status` report the job dead with
// DISCO_RUNNER_LOST (its heartbeat expired), `disco resume` finishes it reusing the 5 finished map
// tasks (each is done once in the events), and the results equal an uninterrupted run. Of two
// resumes at once, exactly one takes the job over.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDiscoStores, resumeJob, waitJob, isDiscoError, type JobHandle } from 'disco-inferno'
import { clusterJobFixture } from './fixture.js'
import { DDFS, DISCO, embeddedGatedJob, eventsSeen, gatedJob, ok, stopWorker, type WorkerProcess } from './workers.js'

const fx = clusterJobFixture('coord-kill', embeddedGatedJob)
const { dir, b } = fx

async function scenario(store: string, workers: () => Promise<WorkerProcess[]>): Promise<void> {
  const release = join(dir, `release-${Math.random().toString(36).slice(2)}`)
  ok(b.cli(DDFS, ['--store', store, 'push', 'data:wc', ...fx.inputs]))
  const ws = await workers()
  const opened = await openDiscoStores(store)
  try {
    const stores = opened.stores
    const name = ok(b.cli(DISCO, ['--store', store, ...gatedJob(release)], { DISCO_HEARTBEAT_MS: '1500' })).trim()
    await eventsSeen(stores, name, /^map:[0-4] done/, 5)
    const runner = (await stores.jobs.info(name)).pid
    process.kill(runner, 'SIGKILL')
    // Reported truthfully once the runner's heartbeat expires.
    await assert.rejects(waitJob(stores, name, { timeoutMs: 30_000 }), (e) => isDiscoError(e, 'DISCO_RUNNER_LOST'))
    assert.match(ok(b.cli(DISCO, ['--store', store, 'jobs'])), new RegExp(` dead ${name}\n`))
    const status = ok(b.cli(DISCO, ['--store', store, 'status', name]))
    assert.match(status, new RegExp(`error    DISCO_RUNNER_LOST: the runner of the job \\(\\S+, pid ${runner}\\) stopped sending heartbeats before the job finished \\(disco resume ${name} finishes it\\)`))
    writeFileSync(release, '')
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'resume', name])).trim(), name)
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'results', name])), fx.expected)
    const log = ok(b.cli(DISCO, ['--store', store, 'events', name]))
    assert.match(log, /resumed \(resume 1; runner \S+, pid \d+ lost\): 5 of 6 map tasks and 0 of 3 reduce tasks already done/)
    for (let i = 0; i < 6; i++) assert.equal(log.match(new RegExp(` map:${i} done`, 'g'))?.length, 1, `map:${i} done once:\n${log}`)
    // A ready job is not resumed again.
    const again = b.cli(DISCO, ['--store', store, 'resume', name])
    assert.equal(again.code, 1)
    assert.match(again.err, /^disco: error DISCO_JOB_NOT_RESUMABLE: job \S+ is ready/)
  } finally {
    await opened.close()
    for (const w of ws) assert.deepEqual(await stopWorker(w), { code: 0, signal: null })
  }
}

test('kill -9 of the runner on the embedded store: reported lost, disco resume finishes it with the same results', async () => {
  await scenario(join(dir, 'embedded'), async () => [])
})

test('kill -9 of the coordinator on an R3 cluster with 2 workers: reported lost, disco resume finishes it with the same results', async () => {
  const store = `${fx.cluster.url}?prefix=coord`
  await scenario(store, async () => [await b.worker(store), await b.worker(store, ['--concurrency', '2'])])
})

test('two resumes of one lost job at once: one takes it over, the other gets DISCO_JOB_NOT_RESUMABLE', async () => {
  const store = join(dir, 'twice')
  const release = join(dir, 'release-twice')
  ok(b.cli(DDFS, ['--store', store, 'push', 'data:wc', ...fx.inputs]))
  const opened = await openDiscoStores(store)
  const stores = opened.stores
  const name = ok(b.cli(DISCO, ['--store', store, ...gatedJob(release)], { DISCO_HEARTBEAT_MS: '1500' })).trim()
  await eventsSeen(stores, name, /^map:[0-4] done/, 5)
  process.kill((await stores.jobs.info(name)).pid, 'SIGKILL')
  await assert.rejects(waitJob(stores, name, { timeoutMs: 30_000 }), (e) => isDiscoError(e, 'DISCO_RUNNER_LOST'))
  writeFileSync(release, '')
  const tries = await Promise.allSettled([0, 1].map(() => resumeJob(name, { store: stores, executor: 'in-process' })))
  const won = tries.filter((t): t is PromiseFulfilledResult<JobHandle> => t.status === 'fulfilled')
  assert.equal(won.length, 1, JSON.stringify(tries.map((t) => t.status === 'rejected' ? String(t.reason) : 'ok')))
  assert.ok(tries.some((t) => t.status === 'rejected' && isDiscoError(t.reason, 'DISCO_JOB_NOT_RESUMABLE')))
  assert.equal((await won[0]!.value.wait()).status, 'ready')
  assert.equal(ok(b.cli(DISCO, ['--store', store, 'results', name])), fx.expected)
  await assert.rejects(resumeJob('no-such-job', { store: stores }), (e) => isDiscoError(e, 'DISCO_JOB_NOT_FOUND'))
  await opened.close()
})
