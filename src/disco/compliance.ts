// The compliance suite every JobStore adapter runs: one call per adapter in its test file.
// Not part of the package entry (it imports node:test); tests import '#src/disco/compliance.js'.
// Every wait is bounded; expiry is tested with an injected clock, never by sleeping.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoError } from '../errors.js'
import type { JobStore, KvChange, LogEntry } from './jobstore.js'
import { JobRegistry, keyToken } from './registry.js'
import type { JobInfo, TaskRecord } from './types.js'

/** What an adapter factory returns: a fresh, empty store, a second handle on it, and a cleanup. */
export interface JobStoreFixture {
  store: JobStore
  /** Another handle on the same backing store (another connection / another process's view). */
  open(): Promise<JobStore>
  close(): Promise<void>
}

/** How long any single wait in the suite may take before the test fails. */
const WAIT_MS = 10_000

async function within<T>(what: string, p: Promise<T>, ms = WAIT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(t)
  }
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** Collects watch changes into a map of the latest value per key until `done(map)` holds. */
async function watchUntil(store: JobStore, prefix: string, done: (m: Map<string, string | undefined>) => boolean, started?: () => void): Promise<Map<string, string | undefined>> {
  const ac = new AbortController()
  const seen = new Map<string, string | undefined>()
  try {
    return await within(`watch ${prefix}`, (async () => {
      const it = store.watch(prefix, ac.signal)[Symbol.asyncIterator]()
      let first = true
      for (;;) {
        const p = it.next()
        if (first) { first = false; started?.() }
        const r = await p
        if (r.done) return seen
        const c: KvChange = r.value
        seen.set(c.key, c.value)
        if (done(seen)) return seen
      }
    })())
  } finally {
    ac.abort()
  }
}

function job(name: string, extra: Partial<JobInfo> = {}): JobInfo {
  return { name, status: 'active', created: '', updated: '', host: 'h', pid: 1, heartbeatMs: 1000, records: 0, tasks: { map: 0, reduce: 0, done: 0, failed: 0 }, spec: {} as JobInfo['spec'], ...extra }
}

/** A clock tests move by hand. */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

/**
 * Registers the job store compliance tests for one adapter. `factory` must return a fresh, empty
 * store each time.
 *
 * @example
 * runJobStoreCompliance('local', async () => { const d = mkdtempSync(...); return { store: new LocalJobStore(d), open: async () => new LocalJobStore(d), close: async () => rmSync(d, { recursive: true }) } })
 */
export function runJobStoreCompliance(label: string, factory: () => Promise<JobStoreFixture>): void {
  const with_ = (name: string, fn: (fx: JobStoreFixture) => Promise<void>): void => {
    test(`[jobstore ${label}] ${name}`, async () => {
      const fx = await factory()
      try {
        await fn(fx)
      } finally {
        await fx.close()
      }
    })
  }

  with_('put/get: compare-and-set on revisions, deletes, re-create', async ({ store }) => {
    assert.equal(await store.get('a.b'), undefined)
    const r1 = await store.put('a.b', 'one', 0)
    assert.ok(r1 !== undefined && r1 > 0, `a create returns a revision > 0, found ${r1}`)
    assert.equal(await store.put('a.b', 'again', 0), undefined, 'create of an existing key conflicts')
    assert.deepEqual(await store.get('a.b'), { revision: r1, value: 'one' })
    const r2 = await store.put('a.b', 'two', r1)
    assert.ok(r2 !== undefined && r2 > r1)
    assert.equal(await store.put('a.b', 'stale', r1), undefined, 'a stale revision conflicts')
    assert.equal(await store.put('a.b', 'ghost', r2 + 1000), undefined, 'a future revision conflicts')
    assert.equal(await store.put('a.nope', 'x', 5), undefined, 'an update of a missing key conflicts')
    const r3 = await store.put('a.b', 'three')
    assert.ok(r3 !== undefined && r3 > r2, 'an unconditional put makes a new revision')
    assert.deepEqual(await store.get('a.b'), { revision: r3, value: 'three' })
    assert.equal(await store.put('a.b', null, r2), undefined, 'a delete with a stale revision conflicts')
    assert.equal((await store.get('a.b'))?.value, 'three')
    assert.ok((await store.put('a.b', null, r3)) !== undefined)
    assert.equal(await store.get('a.b'), undefined)
    assert.equal(await store.put('a.b', 'x', r3), undefined, 'the old revision is gone with the delete')
    const r4 = await store.put('a.b', 'reborn', 0)
    assert.ok(r4 !== undefined && r4 > r3, 'a deleted key can be created again, with a greater revision')
    await store.put('a.b', null)
    assert.equal(await store.get('a.b'), undefined, 'an unconditional delete')
    await store.put('a.never', null)
    assert.equal(await store.get('a.never'), undefined, 'deleting a missing key is no error')
  })

  with_('values round-trip exactly; keys use the whole grammar', async ({ store }) => {
    const values = ['', 'line\nbreak\r\n', 'ünïcødé ✓ 𝄞', '{"json":[1,2,3]}', 'x'.repeat(100_000), '\u0000\u0001']
    let i = 0
    for (const v of values) {
      const key = `v.k${i++}`
      await store.put(key, v, 0)
      assert.equal((await store.get(key))?.value, v)
    }
    for (const key of ['A-z_0=9.x', 'a'.repeat(200), `t.${'b'.repeat(200)}.c`]) {
      await store.put(key, key, 0)
      assert.equal((await store.get(key))?.value, key)
    }
  })

  with_('keys: strictly under a prefix, on token boundaries, live only', async ({ store }) => {
    for (const k of ['p', 'p.a', 'p.b.c', 'p.b', 'pq.a', 'q.p.a']) await store.put(k, k, 0)
    await store.put('p.gone', 'x', 0)
    await store.put('p.gone', null)
    assert.deepEqual((await store.keys('p')).sort(), ['p.a', 'p.b', 'p.b.c'])
    assert.deepEqual((await store.keys('p.b')).sort(), ['p.b.c'])
    assert.deepEqual(await store.keys('zz'), [])
    assert.deepEqual((await store.keys('')).sort(), ['p', 'p.a', 'p.b', 'p.b.c', 'pq.a', 'q.p.a'])
  })

  with_('compare-and-set across handles: one create wins, counters lose no update', async ({ store, open }) => {
    const other = await open()
    const handles = [store, other]
    const wins = await Promise.all(Array.from({ length: 16 }, (_, i) => handles[i % 2]!.put('race.one', String(i), 0)))
    assert.equal(wins.filter((r) => r !== undefined).length, 1, 'exactly one concurrent create wins')
    await store.put('race.n', '0', 0)
    const bump = async (s: JobStore): Promise<void> => {
      for (;;) {
        const e = (await s.get('race.n'))!
        if ((await s.put('race.n', String(Number(e.value) + 1), e.revision)) !== undefined) return
      }
    }
    await within('40 CAS increments', Promise.all(Array.from({ length: 40 }, (_, i) => bump(handles[i % 2]!))))
    assert.equal((await other.get('race.n'))?.value, '40')
  })

  with_('logs: append order, read after a position, other handles, missing logs', async ({ store, open }) => {
    assert.deepEqual(await all(store.read('l.none', 0)), [])
    const data = ['first', 'with\nnewline', 'ünï ✓', '', '["json", 1]']
    for (const d of data) await store.append('l.one', d)
    await store.append('l.two', 'other log')
    const got = await all(store.read('l.one', 0))
    assert.deepEqual(got.map((e) => e.data), data)
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.seq > got[i - 1]!.seq, 'positions increase')
    assert.ok(got[0]!.seq > 0)
    assert.deepEqual((await all(store.read('l.one', got[1]!.seq))).map((e) => e.data), data.slice(2))
    assert.deepEqual(await all(store.read('l.one', got.at(-1)!.seq)), [])
    const other = await open()
    assert.deepEqual((await all(other.read('l.one', 0))).map((e) => e.data), data)
    await other.append('l.one', 'from the other handle')
    assert.deepEqual((await all(store.read('l.one', got.at(-1)!.seq))).map((e) => e.data), ['from the other handle'])
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).append('l.many', `m${i}`)))
    const many = await all(store.read('l.many', 0))
    assert.equal(many.length, 50)
    assert.equal(new Set(many.map((e) => e.data)).size, 50, 'concurrent appends: none lost or doubled')
  })

  with_('logs: follow delivers old entries, then new ones as they are appended, until aborted', async ({ store, open }) => {
    const writer = await open()
    await store.append('f.log', 'old')
    const ac = new AbortController()
    const got: LogEntry[] = []
    const done = within('follow to see 4 entries', (async () => {
      for await (const e of store.read('f.log', 0, ac.signal)) {
        got.push(e)
        if (got.length === 1) for (const d of ['n1', 'n2', 'n3']) await writer.append('f.log', d)
        if (got.length === 4) ac.abort()
      }
    })())
    await done
    assert.deepEqual(got.map((e) => e.data), ['old', 'n1', 'n2', 'n3'])
    // Following a log that does not exist yet waits for its first entry.
    const ac2 = new AbortController()
    const first = within('follow of a new log', (async () => {
      for await (const e of store.read('f.later', 0, ac2.signal)) { ac2.abort(); return e.data }
      return undefined
    })())
    await writer.append('f.later', 'hello')
    assert.equal(await first, 'hello')
    // An aborted follow ends quietly.
    const ac3 = new AbortController()
    const ended = within('an aborted follow to end', all(store.read('f.log', got.at(-1)!.seq, ac3.signal)))
    ac3.abort()
    assert.deepEqual(await ended, [])
  })

  with_('watch: current values first, then changes and deletes under the prefix only', async ({ store, open }) => {
    const writer = await open()
    await store.put('w.a', 'a0', 0)
    await store.put('w.b', 'b0', 0)
    await store.put('wx.a', 'outside', 0)
    const initial = await watchUntil(store, 'w', (m) => m.size === 2)
    assert.deepEqual([...initial].sort(), [['w.a', 'a0'], ['w.b', 'b0']])
    let go: () => void = () => {}
    const started = new Promise<void>((r) => { go = r })
    const watching = watchUntil(store, 'w', (m) => m.get('w.a') === 'a2' && m.has('w.b') && m.get('w.b') === undefined && m.get('w.c.d') === 'new', () => go())
    await started
    await writer.put('w.a', 'a1')
    await writer.put('w.a', 'a2')
    await writer.put('w.b', null)
    await writer.put('w.c.d', 'new', 0)
    await writer.put('wx.a', 'still outside')
    const seen = await watching
    assert.ok(!seen.has('wx.a'), 'keys outside the prefix are not watched')
  })

  with_('purge: removes keys and logs under a prefix, nothing else', async ({ store }) => {
    for (const k of ['j.x', 'j.x.info', 'j.x.kill.k', 'j.y.info', 'jx.info']) await store.put(k, k, 0)
    await store.append('j.x.events', 'e')
    await store.append('j.y.events', 'e')
    await store.purge('j.x')
    assert.deepEqual((await store.keys('j')).sort(), ['j.x', 'j.y.info'])
    assert.equal(await store.get('j.x.info'), undefined)
    assert.deepEqual(await all(store.read('j.x.events', 0)), [])
    assert.equal((await all(store.read('j.y.events', 0))).length, 1)
    assert.equal((await store.get('jx.info'))?.value, 'jx.info')
    const r = await store.put('j.x.info', 'again', 0)
    assert.ok(r !== undefined, 'a purged key can be created again')
  })

  // ---- the registry's semantics over this adapter ----

  with_('registry: unique job names under concurrency, CAS updates from two handles', async ({ store, open }) => {
    const a = new JobRegistry(store)
    const b = new JobRegistry(await open())
    const names = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create((bump) => `wc@1:2:${bump}`, (n) => job(n))))
    assert.equal(new Set(names).size, 10)
    assert.deepEqual((await a.names()).sort(), [...names].sort())
    const name = names[0]!
    await within('concurrent record updates', Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).update(name, (info) => ({ ...info, records: info.records + 1 })))))
    assert.equal((await b.info(name)).records, 30)
    const s = (await a.get(name))!
    assert.equal(await a.put(name, { ...s.info, status: 'ready' }, s.revision + 1000), undefined)
    await assert.rejects(a.info('nope@0:0:0'), (e: unknown) => e instanceof DiscoError && e.code === 'DISCO_JOB_NOT_FOUND')
    await a.log(name, 'hello')
    await a.requestKill(name)
    await a.remove(name)
    assert.equal(await b.get(name), undefined)
    assert.deepEqual((await b.events(name)).events, [])
    assert.equal(await b.killRequested(name), false)
    assert.equal((await b.names()).includes(name), false)
  })

  with_('registry: a runner saves its record against the revision it wrote last, else the current one; never a removed record', async ({ store, open }) => {
    const a = new JobRegistry(store)
    const b = new JobRegistry(await open())
    const name = await a.create(() => 'sv@0:0:1', (n) => job(n))
    const r1 = await a.save(name, job(name, { records: 1 }))
    assert.equal((await b.get(name))?.revision, r1)
    const r2 = await a.save(name, job(name, { records: 2 }), r1)
    assert.ok(r2 > r1)
    // Another writer changed it meanwhile: the save lands on top of the current revision.
    await b.update(name, (i) => ({ ...i, records: 99 }))
    const r3 = await a.save(name, job(name, { records: 3 }), r2)
    const now = (await b.get(name))!
    assert.equal(now.revision, r3)
    assert.equal(now.info.records, 3)
    await b.remove(name)
    await assert.rejects(a.save(name, job(name, { records: 4 }), r3), (e: unknown) => e instanceof DiscoError && e.code === 'DISCO_JOB_NOT_FOUND')
    assert.equal(await b.get(name), undefined)
  })

  with_('registry: task records, the last one of each task; records kept as keys by earlier versions; removed with the job', async ({ store, open }) => {
    const a = new JobRegistry(store)
    const b = new JobRegistry(await open())
    const name = await a.create(() => 'tr@0:0:1', (n) => job(n))
    const rec = (task: string, attempt: number): TaskRecord => ({ task, attempt, ms: 1, records: attempt, outputs: 0, blobs: [] })
    assert.deepEqual(await b.tasks(name), [])
    await Promise.all([a.putTask(name, rec('map:0', 1)), a.putTask(name, rec('map:1', 1))])
    await a.putTask(name, rec('map:0', 2)) // a re-run replaces the task's record
    // A job recorded by an earlier version: one key per task (a newer record of the task wins).
    await store.put(`job.${keyToken(name)}.task.${keyToken('reduce:0')}`, JSON.stringify(rec('reduce:0', 1)))
    await store.put(`job.${keyToken(name)}.task.${keyToken('map:1')}`, JSON.stringify(rec('map:1', 7)))
    const byTask = (rs: TaskRecord[]): Record<string, number> => Object.fromEntries(rs.map((r) => [r.task, r.attempt]))
    assert.deepEqual(byTask(await b.tasks(name)), { 'map:0': 2, 'map:1': 1, 'reduce:0': 1 })
    // A record that is not JSON is reported, not thrown as a SyntaxError.
    await store.append(`job.${keyToken(name)}.tasks`, '{not json')
    await assert.rejects(b.tasks(name), (e: unknown) => e instanceof DiscoError && e.code === 'DISCO_CORRUPT_STATE')
    await a.remove(name)
    assert.deepEqual(await b.tasks(name), [])
    assert.deepEqual(await store.keys(`job.${keyToken(name)}`), [])
  })

  with_('registry: events in order with positions; follow; watch of a record', async ({ store, open }) => {
    const a = new JobRegistry(store, { host: 'host-a' })
    const b = new JobRegistry(await open())
    const name = await a.create(() => 'ev@0:0:1', (n) => job(n))
    for (let i = 0; i < 5; i++) await a.log(name, `event ${i}`)
    const { events, next } = await b.events(name)
    assert.deepEqual(events.map((e) => e.message), ['event 0', 'event 1', 'event 2', 'event 3', 'event 4'])
    assert.equal(events[0]!.host, 'host-a')
    assert.match(events[0]!.ts, /^\d{4}-\d\d-\d\dT/)
    assert.equal(next, events.at(-1)!.seq)
    assert.deepEqual((await b.events(name, events[2]!.seq)).events.map((e) => e.message), ['event 3', 'event 4'])
    const ac = new AbortController()
    const followed: string[] = []
    const following = within('follow of job events', (async () => {
      for await (const e of b.follow(name, next, ac.signal)) {
        followed.push(e.message)
        if (followed.length === 2) ac.abort()
      }
    })())
    await a.log(name, 'late 1')
    await a.log(name, 'late 2')
    await following
    assert.deepEqual(followed, ['late 1', 'late 2'])
    // Watching a record: the current one first, then the change made elsewhere.
    const ac2 = new AbortController()
    const statuses: string[] = []
    const watching = within('watch of a job record', (async () => {
      for await (const info of b.watch(name, ac2.signal)) {
        statuses.push(info?.status ?? 'gone')
        if (info?.status === 'ready') ac2.abort()
        else if (statuses.length === 1) await a.update(name, (i) => ({ ...i, status: 'ready' }))
      }
    })())
    await watching
    assert.equal(statuses[0], 'active')
    assert.equal(statuses.at(-1), 'ready')
  })

  with_('registry: kill requests are seen by another handle, at once and by watching', async ({ store, open }) => {
    const a = new JobRegistry(store)
    const b = new JobRegistry(await open())
    const name = await a.create(() => 'k@0:0:1', (n) => job(n))
    assert.equal(await b.killRequested(name), false)
    const ac = new AbortController()
    const killed = within('a kill request to be seen', a.whenKilled(name, ac.signal))
    await b.requestKill(name)
    assert.equal(await killed, true)
    assert.equal(await a.killRequested(name), true)
    // whenKilled on an already killed job resolves at once; an abort resolves false.
    assert.equal(await within('an existing kill request', a.whenKilled(name, new AbortController().signal)), true)
    const other = await a.create(() => 'k@0:0:2', (n) => job(n))
    const ac2 = new AbortController()
    const p = within('an aborted whenKilled', a.whenKilled(other, ac2.signal))
    ac2.abort()
    assert.equal(await p, false)
  })

  with_('registry: heartbeats expire after their TTL (injected clock)', async ({ store, open }) => {
    const clock = manualClock()
    const a = new JobRegistry(store, { now: clock.now })
    const b = new JobRegistry(await open(), { now: clock.now })
    assert.equal(await b.heartbeat('worker', 'w1'), undefined)
    await a.beat('worker', 'w1', 1000, { pid: 42 })
    await a.beat('worker', 'w2', 5000)
    await a.beat('runner', 'w1', 5000)
    let hb = await b.heartbeat('worker', 'w1')
    assert.equal(hb?.alive, true)
    assert.deepEqual(hb?.data, { pid: 42 })
    clock.advance(999)
    assert.equal((await b.heartbeat('worker', 'w1'))?.alive, true, 'alive just before the TTL')
    clock.advance(1)
    assert.equal((await b.heartbeat('worker', 'w1'))?.alive, false, 'expired at the TTL')
    const group = await b.heartbeats('worker')
    assert.deepEqual(group.map((h) => [h.id, h.alive]).sort(), [['w1', false], ['w2', true]])
    await a.beat('worker', 'w1', 1000)
    assert.equal((await b.heartbeat('worker', 'w1'))?.alive, true, 'a new beat revives')
    await a.stopBeat('worker', 'w1')
    assert.equal(await b.heartbeat('worker', 'w1'), undefined)
    assert.deepEqual((await b.heartbeats('worker')).map((h) => h.id), ['w2'])
  })

  with_('registry: leases are exclusive, renewed by their owner only, and expire', async ({ store, open }) => {
    const clock = manualClock()
    const a = new JobRegistry(store, { now: clock.now })
    const b = new JobRegistry(await open(), { now: clock.now })
    const rule = 'rule:names.count'
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).acquire(rule, `owner-${i}`, 1000)))
    const winners = got.filter((l) => l !== undefined)
    assert.equal(winners.length, 1, 'exactly one of 12 concurrent acquirers wins')
    const owner = winners[0]!.owner
    const loser = owner === 'owner-0' ? 'owner-1' : 'owner-0'
    assert.equal((await b.lease(rule))?.owner, owner)
    assert.equal(await a.acquire(rule, loser, 1000), undefined, 'held: others cannot acquire')
    assert.equal(await a.renew(rule, loser, 1000), undefined, 'others cannot renew')
    assert.equal(await a.release(rule, loser), false, 'others cannot release')
    assert.ok(await a.acquire(rule, owner, 1000), 'the owner may acquire again (extends)')
    clock.advance(900)
    assert.ok(await b.renew(rule, owner, 1000), 'the owner renews')
    clock.advance(900)
    assert.equal(await a.acquire(rule, loser, 1000), undefined, 'renewed: still held')
    clock.advance(100)
    assert.equal(await b.lease(rule), undefined, 'expired')
    assert.equal((await b.lease(rule, true))?.owner, owner, 'an expired lease still names its holder')
    const taken = await a.acquire(rule, loser, 1000)
    assert.equal(taken?.owner, loser, 'an expired lease can be taken over')
    assert.equal(await b.renew(rule, owner, 1000), undefined, 'the old owner cannot renew a lease taken over')
    assert.equal(await b.release(rule, owner), false)
    assert.equal(await a.release(rule, loser), true)
    assert.equal(await a.lease(rule), undefined)
    assert.equal(await a.lease(rule, true), undefined, 'a released lease is gone')
    assert.ok(await b.acquire(rule, owner, 1000), 'a released lease is free')
    assert.ok(await a.acquire('another.rule', loser, 1000), 'leases are per name')
  })
}
