// kill -9 of one of the 3 servers of an R3 cluster in the middle of a job (2 worker processes and
// the coordinating `disco run`, all connected with the full server list). The kill point is
// deterministic: the job's last map task blocks on a file (fixture blockMap); once the job store
// holds the "done" events of the other 5 map tasks, the test kills the leader of the job store's
// KV stream (the busiest: task outcomes, heartbeats, records) and opens the gate, so the last map
// task, the whole reduce phase and the save run through the leader election and on two servers.
// The job ends ready with the results of an uninterrupted run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDiscoStores } from 'disco-inferno'
import { clusterJobFixture } from './fixture.js'
import { DDFS, DISCO, embeddedGatedJob, eventsSeen, gatedJob, ok, stopWorker } from './workers.js'

const fx = clusterJobFixture('server-kill', embeddedGatedJob)
const { dir, b } = fx

test('kill -9 of the job store leader (one of 3 servers) mid-job: the job ends ready with identical results', async () => {
  const store = `${fx.cluster.url}?prefix=srv`
  const release = join(dir, 'release')
  ok(b.cli(DDFS, ['--store', store, 'push', 'data:wc', ...fx.inputs]))
  const ws = [await b.worker(store), await b.worker(store, ['--concurrency', '2'])]
  const opened = await openDiscoStores(store)
  let name = ''
  try {
    name = ok(b.cli(DISCO, ['--store', store, ...gatedJob(release)])).trim()
    await eventsSeen(opened.stores, name, /^map:[0-4] done/, 5)
    const info = await opened.cluster!.jsm.streams.info('KV_srv-jobs')
    const leader = fx.cluster.servers.find((_s, i) => `n${i + 1}` === info.cluster?.leader)
    assert.ok(leader, `the leader of KV_srv-jobs (${info.cluster?.leader}) is one of the servers`)
    await opened.close()
    await leader.kill9()
    writeFileSync(release, '')
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'wait', name, '--timeout', '120'])).trim(), `${name} ready`)
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'results', name])), fx.expected)
  } finally {
    await opened.close().catch(() => {})
    for (const w of ws) assert.deepEqual(await stopWorker(w), { code: 0, signal: null })
  }
})
