// runJob on a given worker pool starts the pool's threads and has each import the job's modules
// while the job is recorded and planned: every thread imports them, even one no task ran on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WorkerPoolExecutor, runJob } from 'disco-inferno'
import { collect, tempDir, withEnv } from './helpers.js'

const WARM = fileURLToPath(new URL('./fixtures/warm.js', import.meta.url))

test('runJob warms a given pool: both threads import the job module though the job has one task per phase', async (t) => {
  const dir = tempDir(t)
  const marks = join(dir, 'marks')
  mkdirSync(marks)
  withEnv(t, 'DISCO_TEST_WARM_DIR', marks)
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  const job = await runJob({ inputs: ['raw://a b a'], map: { module: WARM, export: 'map' }, reduce: { module: WARM, export: 'reduce' } }, { store: join(dir, 'store'), executor: pool })
  await job.wait()
  assert.deepEqual(await collect(job.results()), [['a', 2], ['b', 1]])
  // The idle thread's import may finish after the job: waited for, bounded.
  for (let i = 0; i < 500 && readdirSync(marks).length < 2; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(readdirSync(marks).length, 2, 'both threads imported the module')
})
