// The NATS job store does not keep a delete marker per deleted key for ever: markers older than its
// marker age are removed when their keys are listed, and an unconditional delete (a heartbeat's end,
// one key per job) lists its siblings. Younger markers stay (a watcher that is behind still sees the
// deletion; the compliance suite's watch tests run with the default age), values are never touched,
// and compare-and-set keeps working on a key whose marker went.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { openCluster } from 'disco-inferno'
import { KvJobStore } from '#src/cluster/kv-jobs.js'
import type { ClusterConnection } from '#src/cluster/connect.js'
import { startNats, type ServerProcess } from './servers.js'

let nats: ServerProcess | undefined
const conns: ClusterConnection[] = []
before(async () => { nats = await startNats() })
after(async () => {
  await Promise.all(conns.map((c) => c.close()))
  await nats?.stop()
})

let n = 0
/** A fresh prefix (own bucket) and a way to open more handles on it with their own marker age. */
async function bucket(): Promise<{ open: (markerAgeMs: number) => Promise<KvJobStore>, subjects: (filter: string) => Promise<string[]> }> {
  const url = `${nats!.url}?prefix=m${++n}`
  const conn = await openCluster(url)
  conns.push(conn)
  const stream = `KV_${conn.name('jobs')}`
  return {
    open: async (markerAgeMs) => { const c = await openCluster(url); conns.push(c); return KvJobStore.open(c, { markerAgeMs }) },
    subjects: async (filter) => {
      const info = await conn.jsm.streams.info(stream, { subjects_filter: `$KV.${conn.name('jobs')}.${filter}` })
      return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(`$KV.${conn.name('jobs')}.`.length)).sort()
    },
  }
}

test('an unconditional delete removes the old markers among its siblings, not the live keys', async () => {
  const b = await bucket()
  const store = await b.open(30)
  await store.put('hb.runner.a', 'a', 0)
  const r = (await store.put('hb.runner.b', 'b', 0))!
  await store.put('hb.runner.a', null)
  assert.deepEqual(await b.subjects('hb.>'), ['hb.runner.a', 'hb.runner.b'], 'a fresh marker stays')
  await sleep(60) // the marker of hb.runner.a is now older than the store's marker age
  await store.put('hb.runner.c', null) // a heartbeat that ends: its siblings are compacted
  const left = await b.subjects('hb.>')
  assert.ok(!left.includes('hb.runner.a'), `the old marker is gone (left: ${left.join(', ')})`)
  assert.ok(left.includes('hb.runner.b'))
  assert.deepEqual(await store.get('hb.runner.b'), { revision: r, value: 'b' })
  assert.equal(await store.get('hb.runner.a'), undefined)
  const again = await store.put('hb.runner.a', 'again', 0)
  assert.ok(again !== undefined && again > r, 'a key whose marker went is created again with a greater revision')
  assert.equal(await store.put('hb.runner.a', 'stale', r), undefined, 'a stale revision still conflicts')
})

test('listing drops purge markers older than the marker age; younger ones stay', async () => {
  const b = await bucket()
  const young = await b.open(3_600_000)
  for (const k of ['job.x.info', 'job.x.task.m0', 'job.y.info']) await young.put(k, k, 0)
  await young.purge('job.x')
  assert.deepEqual(await young.keys('job'), ['job.y.info'])
  assert.deepEqual(await b.subjects('job.>'), ['job.x.info', 'job.x.task.m0', 'job.y.info'], 'markers younger than an hour stay')
  await sleep(60)
  const old = await b.open(30)
  assert.deepEqual(await old.keys('job'), ['job.y.info'])
  assert.deepEqual(await b.subjects('job.>'), ['job.y.info'], 'the purged job leaves nothing behind')
  assert.equal((await old.get('job.y.info'))?.value, 'job.y.info')
})

