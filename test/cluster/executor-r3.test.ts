// The distributed executor on a 3-server JetStream cluster (R3 task stream, buckets and consumer)
// with 3 worker processes: a word count gives the embedded results, also when one worker is
// killed with SIGKILL as it starts a map task.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clusterJobFixture } from './fixture.js'
import { DDFS, DISCO, FIXTURES, embeddedWordCount, ok, stopWorker } from './workers.js'

const fx = clusterJobFixture('cluster-exec-r3', embeddedWordCount)
const { b } = fx

test('R3 cluster, 3 workers, one killed with SIGKILL mid-map: the embedded word count', async () => {
  const store = fx.cluster.url
  ok(b.cli(DDFS, ['--store', store, 'push', 'data:wc', ...fx.inputs]))
  const doomed = await b.worker(store, ['--ack-wait', '2'], { DISCO_WORKER_DIE_AT: 'map:0' })
  const name = ok(b.cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3'])).trim()
  assert.equal((await doomed.exited).signal, 'SIGKILL')
  const workers = [await b.worker(store, ['--ack-wait', '2']), await b.worker(store, ['--ack-wait', '2', '--concurrency', '2'])]
  try {
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'wait', name, '--timeout', '120'])).trim(), `${name} ready`)
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'results', name])), fx.expected)
    const status = JSON.parse(ok(b.cli(DISCO, ['--store', store, 'cluster', '--json']))) as { stream: { replicas: number } }
    assert.equal(status.stream.replicas, 3)
  } finally {
    for (const w of workers) assert.deepEqual(await stopWorker(w), { code: 0, signal: null })
  }
})
