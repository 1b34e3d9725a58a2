// The distributed executor on a 3-server JetStream cluster (R3 task stream, buckets and consumer)
// with 3 worker processes: a word count gives the embedded results, also when one worker is
// killed with SIGKILL as it starts a map task.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
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

test('R3 cluster, 3 workers: a sum-by-key job with a combiner gives the embedded results and the plain sums', async () => {
  // 4 NDJSON inputs of {k, v} with negative and large values; sums checked against a plain loop too.
  const sums = new Map<string, number>()
  const inputs: string[] = []
  for (let f = 0; f < 4; f++) {
    const lines: string[] = []
    for (let i = 0; i < 400; i++) {
      const k = `key-${(i * 7 + f * 3) % 23}`
      const v = (i % 5 === 0 ? -1 : 1) * (i * 1_000_003 + f)
      sums.set(k, (sums.get(k) ?? 0) + v)
      lines.push(JSON.stringify({ k, v }))
    }
    const p = join(fx.dir, `kv${f}.ndjson`)
    writeFileSync(p, lines.join('\n') + '\n')
    inputs.push(p)
  }
  const local = join(fx.dir, 'embedded-kv')
  ok(b.cli(DDFS, ['--store', local, 'push', 'data:kv', ...inputs]))
  ok(b.cli(DISCO, ['--store', local, 'run', `${FIXTURES}:jobs.sumbykey`, '-i', 'data:kv', '-p', '3', '-w', '2']))
  const embedded = ok(b.cli(DISCO, ['--store', local, 'results', '@']))
  const plain = [...sums].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)).map(([k, v]) => JSON.stringify([k, v])).join('\n') + '\n'
  assert.equal(embedded, plain, 'the embedded run sums like a plain loop')

  const store = `${fx.cluster.url}?prefix=kv`
  ok(b.cli(DDFS, ['--store', store, 'push', 'data:kv', ...inputs]))
  const workers = [await b.worker(store), await b.worker(store), await b.worker(store)]
  try {
    const name = ok(b.cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:jobs.sumbykey`, '-i', 'data:kv', '-p', '3'])).trim()
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'wait', name, '--timeout', '120'])).trim(), `${name} ready`)
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'results', name])), embedded)
    // Count and sum per key with a bytes-form map and KeyedSums (from the package a worker loads): the embedded record form's results.
    ok(b.cli(DISCO, ['--store', local, 'run', `${FIXTURES}:jobs.rows`, '-i', 'data:kv', '-p', '3', '-w', '2']))
    const rows = ok(b.cli(DISCO, ['--store', local, 'results', '@']))
    assert.equal(rows.trim().split('\n').length, sums.size)
    const fast = ok(b.cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:jobs.rowsbytes`, '-i', 'data:kv', '-p', '3'])).trim()
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'wait', fast, '--timeout', '120'])).trim(), `${fast} ready`)
    assert.equal(ok(b.cli(DISCO, ['--store', store, 'results', fast])), rows)
  } finally {
    for (const w of workers) assert.deepEqual(await stopWorker(w), { code: 0, signal: null })
  }
})
