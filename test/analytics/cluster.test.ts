// Analytics on the cluster store: a real nats-server on loopback and two `disco worker` processes.
// `analytics build --store nats://…` runs its job on the workers (the job module travels as a job
// pack), the index blobs land in the object store under the model tag, and every question asked
// through the cluster store answers exactly what the embedded store answers for the same events —
// over two batches, with a saved segment, and through the HTTP API (jobs included).
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openAnalyticsStore, Model, funnel, retention, trends, segmentUsers } from '#src/index.js'
import { createServer } from '#src/server/app.js'
import { startNats, type ServerProcess } from '../cluster/servers.js'
import { Bench, DDFS, ok, stopWorker, type Run } from '../cluster/workers.js'
import { writeEvents, T0 } from './seed.js'

const ANALYTICS = fileURLToPath(import.meta.resolve('#src/cli/analytics.js'))
const dir = mkdtempSync(join(tmpdir(), 'analytics-cluster-'))
const b = new Bench(dir)
let nats: ServerProcess | undefined

before(async () => {
  nats = await startNats()
})
after(async () => {
  b.killAll()
  await nats?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('build on cluster workers, questions from the object store: equal to the embedded store', async () => {
  const cluster = `${nats!.url}?prefix=an`
  const local = join(dir, 'embedded')
  const blobCache = join(dir, 'blob-cache')
  const on = (store: string) => (args: string[]): Run => b.cli(ANALYTICS, ['--store', store, '--no-progress', ...args], { DISCO_ANALYTICS_CACHE: blobCache })
  const [cl, em] = [on(cluster), on(local)]
  const batch1 = writeEvents(dir, 'a', { seed: 11, users: 60, files: 3, perFile: 500, start: T0, days: 40, gap: [20, 24] })
  const batch2 = writeEvents(dir, 'b', { seed: 12, users: 80, files: 2, perFile: 500, start: T0 + 30 * 86_400_000, days: 20 })
  for (const store of [cluster, local]) ok(b.cli(DDFS, ['--store', store, 'push', 'events:a', ...batch1]))
  // Without workers the build would wait in the queue: say so, but do not wait here.
  const w1 = await b.worker(cluster, ['--concurrency', '2'])
  const w2 = await b.worker(cluster)
  try {
    const built = JSON.parse(ok(cl(['build', '-i', 'events:a', '--shards', '3', '--json']))) as { events: number; job: string; indexes: { url: string[] }[] }
    const builtLocal = JSON.parse(ok(em(['build', '-i', 'events:a', '--shards', '3', '--json']))) as { events: number; invalid: unknown }
    assert.equal(built.events, builtLocal.events)
    assert.ok(built.events > 1000)
    assert.ok(built.indexes.every((r) => r.url[0]!.startsWith('nats-obj://')), JSON.stringify(built.indexes))
    // A second batch adds indexes and rewrites nothing.
    for (const store of [cluster, local]) ok(b.cli(DDFS, ['--store', store, 'push', 'events:b', ...batch2]))
    ok(cl(['build', '-i', 'events:b', '--json']))
    ok(em(['build', '-i', 'events:b', '--json']))
    const tags = JSON.parse(ok(b.cli(DDFS, ['--store', cluster, '--json', 'get', 'analytics:model']))) as { urls: string[][] }
    assert.equal(tags.urls.length, 6)

    // Questions: the CLI once on each store, then the library over both stores' models.
    const q = ['funnel', 'signup', 'view', 'purchase', '--json']
    assert.deepEqual(JSON.parse(ok(cl(q))), JSON.parse(ok(em(q))))
    // The cluster's index blobs were copied to local disk once (3 shards × 2 batches); a second
    // question reads the copies and answers the same.
    assert.equal(readdirSync(blobCache).filter((f) => f.endsWith('.ddb')).length, 6)
    assert.deepEqual(JSON.parse(ok(cl(q))), JSON.parse(ok(em(q))))
    for (const run of [cl, em]) ok(run(['segment', '-r', 'signup', '-r', 'NOT purchase', '--save', 'nobuy']))
    const sc = await openAnalyticsStore(cluster)
    const sl = await openAnalyticsStore(local)
    try {
      // Straight from the object store this time (no local copies).
      const [mc, ml] = [await Model.open(sc.ddfs, 'analytics:model', { blobCacheDir: false }), await Model.open(sl.ddfs, 'analytics:model')]
      const questions: [string, (m: Model) => Promise<unknown>][] = [
        ['ordered', (m) => funnel(m, { steps: ['signup', 'view', 'purchase'], segments: ['nobuy'] })],
        ['strict', (m) => funnel(m, { steps: ['signup', 'view', 'add to cart'], mode: 'strict', window: '3d' })],
        ['any-order', (m) => funnel(m, { steps: ['view', 'purchase', 'café ☕'], mode: 'any-order', from: '2026-10-10' })],
        ['bitdeli', (m) => funnel(m, { steps: ['signup', 'view', 'purchase'], mode: 'bitdeli' })],
        ['breakdown', (m) => funnel(m, { steps: ['signup', 'purchase'], breakdown: 'country' })],
        ['retention', (m) => retention(m, { start: 'view', return: 'purchase', cohort: 'first-time' })],
        ['bitdeli matrix', (m) => retention(m, { start: 'view', mode: 'bitdeli' })],
        ['trends', (m) => trends(m, { measures: ['total', 'unique', 'wau', 'mau'], last: 60 })],
        ['trends breakdown', (m) => trends(m, { event: 'view', period: 'week', breakdown: 'plan' })],
        ['segment', async (m) => (await segmentUsers(m, { q: 'signup & ~plan=free' })).size],
      ]
      for (const [name, ask] of questions) assert.deepEqual(await ask(mc), await ask(ml), name)
    } finally {
      await sc.close()
      await sl.close()
    }

    // The HTTP API on the cluster store: the same answers, and the build jobs from the cluster's job store.
    const s = await openAnalyticsStore(cluster)
    try {
      process.env.DISCO_ANALYTICS_CACHE = blobCache
      const app = await createServer({ ddfs: s.ddfs, stores: s.stores })
      try {
        const res = await app.inject({ method: 'GET', url: '/api/funnel?steps=signup&steps=view&mode=ordered' })
        assert.equal(res.statusCode, 200)
        const embedded = await funnel(await Model.open((await openAnalyticsStore(local)).ddfs, 'analytics:model'), { steps: ['signup', 'view'], mode: 'ordered' })
        assert.deepEqual(res.json(), embedded)
        const jobs = (await app.inject({ method: 'GET', url: '/api/jobs' })).json() as { jobs: { name: string; status: string }[] }
        assert.ok(jobs.jobs.some((j) => j.name === built.job && j.status === 'ready'), JSON.stringify(jobs))
      } finally {
        await app.close()
      }
    } finally {
      await s.close()
    }
  } finally {
    assert.deepEqual(await stopWorker(w1), { code: 0, signal: null })
    assert.deepEqual(await stopWorker(w2), { code: 0, signal: null })
  }
})

test('a cluster build rejects --in-process (a usage mistake, exit 2)', () => {
  const r = b.cli(ANALYTICS, ['--store', `${nats!.url}?prefix=inproc`, 'build', '-i', 'x', '--in-process'])
  assert.equal(r.code, 2, r.err)
  assert.match(r.err, /^analytics: error CLI_USAGE: --in-process/)
})
