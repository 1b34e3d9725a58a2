// Every question against the naive reference, on seeded events built into a two-batch model.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  openStore, buildModel, Model, funnel, retention, trends, saveSegment, loadSegment, listSegments, segmentUsers, toCnf,
  type FunnelMode, type PeriodKind,
} from '#src/index.js'
import { DiscoError } from '#src/errors.js'
import { writeEvents, tempDir, T0, DAY, EVENTS } from './seed.js'
import { readEvents, refFunnel, refRetention, refTrends, refSegment } from './reference.js'

function close(a: number | null, b: number | null, what: string): void {
  if (a === null || b === null) return assert.equal(a, b, what)
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`)
}

async function setup(t: { after(fn: () => void): void }) {
  const dir = tempDir(t)
  const ddfs = openStore(dir)
  // Batch 1: days 0-41 with empty days 20-27; batch 2: days 35-62 (overlapping days, same users).
  const a = writeEvents(dir, 'a', { seed: 7, users: 60, files: 3, perFile: 700, start: T0, days: 42, gap: [20, 28] })
  const b = writeEvents(dir, 'b', { seed: 8, users: 70, files: 2, perFile: 500, start: T0 + 35 * DAY, days: 28 })
  await ddfs.push('events:a', a)
  await ddfs.push('events:b', b)
  const r1 = await buildModel(ddfs, { inputs: ['events:a'], model: 'analytics:test', shards: 3, executor: 'in-process' })
  const r2 = await buildModel(ddfs, { inputs: ['events:b'], model: 'analytics:test', executor: 'in-process' })
  const model = await Model.open(ddfs, 'analytics:test')
  const ref = readEvents([...a, ...b])
  return { ddfs, model, ref, r1, r2, dir, a, b }
}

test('analytics questions equal the naive reference', async (t) => {
  const { ddfs, model, ref, r1, r2, a, b } = await setup(t)
  const events = ref.events
  const inv = (r: typeof r1) => r.invalid.json + r.invalid.user + r.invalid.event + r.invalid.time

  await t.test('build counts events and skips invalid ones', async () => {
    assert.equal(r1.events + r2.events, events.length)
    assert.equal(inv(r1) + inv(r2), ref.invalid)
    assert.equal(readEvents(a).invalid, inv(r1))
    assert.equal(readEvents(b).invalid, inv(r2))
    assert.equal(r2.batch, 1)
    const info = await model.info()
    assert.equal(info.users, new Set(events.map((e) => e.user)).size)
    assert.equal(info.events, events.length)
    assert.equal(info.batches, 2)
    for (const e of EVENTS) assert.equal(info.eventNames[e]?.users, new Set(events.filter((x) => x.event === e).map((x) => x.user)).size, e)
  })

  await t.test('funnels in every mode', async () => {
    const cases: { steps: string[]; window?: string; from?: string; to?: string; breakdown?: string }[] = [
      { steps: ['signup', 'view', 'purchase'] },
      { steps: ['view', 'view', 'add to cart'], window: '2d' },
      { steps: ['signup', '注文', '🎉', 'café ☕'], window: '7d', from: '2026-10-10', to: '2026-11-20' },
      { steps: ['view', 'purchase'], window: '1h' },
      { steps: ['view', 'add to cart', 'purchase'], window: '3d', breakdown: 'country' },
      { steps: ['purchase'], from: '2026-10-25', to: '2026-10-31' },
      { steps: ['nothing-like-this', 'view'] },
    ]
    for (const c of cases) {
      for (const mode of ['ordered', 'strict', 'any-order', 'bitdeli'] as FunnelMode[]) {
        if (mode === 'bitdeli' && c.breakdown) continue
        const got = await funnel(model, { ...c, mode })
        const windowMs = got.windowMs
        const want = refFunnel(events, { steps: c.steps, mode, windowMs, ...(c.from ? { from: c.from } : {}), ...(c.to ? { to: c.to } : {}), ...(c.breakdown ? { breakdown: c.breakdown } : {}) })
        const what = `${mode} ${JSON.stringify(c)}`
        const side = got.results[0]!
        assert.equal(side.segment, null)
        assert.deepEqual(side.steps.map((s) => s.users), want.steps.map((s) => s.users), what)
        side.steps.forEach((s, k) => {
          close(s.medianMs, want.steps[k]!.medianMs, `${what} median ${k}`)
          close(s.meanMs, want.steps[k]!.meanMs, `${what} mean ${k}`)
          if (k > 0) assert.equal(s.dropOff, side.steps[k - 1]!.users - s.users)
          close(s.conversion, want.steps[0]!.users ? s.users / want.steps[0]!.users : null, `${what} conversion`)
        })
        if (c.breakdown) {
          const groups = side.breakdown!.groups
          assert.deepEqual(groups.map((g) => g.value).sort(), [...want.groups!.keys()].sort(), what)
          for (const g of groups) {
            const w = want.groups!.get(g.value)!
            assert.deepEqual(g.steps.map((s) => s.users), w.map((s) => s.users), `${what} group ${g.value}`)
            g.steps.forEach((s, k) => close(s.medianMs, w[k]!.medianMs, `${what} group ${g.value} median ${k}`))
          }
        }
      }
    }
  })

  await t.test('retention: recurring and first-time, on and on-or-after, day/week/month, bitdeli', async () => {
    for (const period of ['day', 'week', 'month'] as PeriodKind[]) {
      for (const cohort of ['recurring', 'first-time'] as const) {
        for (const mode of ['on', 'on-or-after'] as const) {
          for (const [start, ret] of [['signup', 'purchase'], ['view', 'view'], ['注文', '🎉']] as const) {
            const got = await retention(model, { start, return: ret, cohort, period, mode, last: period === 'day' ? 40 : 8 })
            const rows = got.results[0]!.rows
            const want = refRetention(events, { start, ret, cohort, period, mode, cohorts: rows.map((r) => r.period), columns: got.columns })
            assert.deepEqual(rows.map((r) => ({ period: r.period, size: r.size, cells: r.cells })), want, `${period} ${cohort} ${mode} ${start}/${ret}`)
          }
        }
      }
    }
    const got = await retention(model, { start: 'view', return: 'purchase', from: '2026-10-01', to: '2026-11-02', period: 'week' })
    assert.equal(got.results[0]!.rows[0]!.period, '2026-09-28')
    assert.equal(got.results[0]!.rows[0]!.size, 0, 'a cohort before the data is a row of zeros')
    const bd = await retention(model, { start: 'view', return: 'add to cart', mode: 'bitdeli' })
    const rows = bd.results[0]!.rows
    assert.equal(rows.length, 10)
    assert.ok(rows[0]!.period > rows[1]!.period, 'row 0 is the newest week')
    const want = refRetention(events, { start: 'view', ret: 'add to cart', cohort: 'recurring', period: 'week', mode: 'bitdeli', cohorts: rows.map((r) => r.period), columns: 11 })
    assert.deepEqual(rows.map((r) => r.cells), want.map((w) => w.cells.slice(1)))
    const max = Math.max(...rows.flatMap((r) => r.cells.map((c, j) => (r.size ? c! / r.size : 0) + 0 * j)))
    assert.ok(max > 0)
    for (const r of rows) r.rates.forEach((v, j) => close(v, r.size ? r.cells[j]! / r.size / max : 0, 'bitdeli normalised'))
  })

  await t.test('trends: total, unique, WAU, MAU, breakdown, empty periods', async () => {
    const cases: { event?: string; period: PeriodKind; from?: string; to?: string; last?: number; breakdown?: string }[] = [
      { period: 'day', from: '2026-10-01', to: '2026-12-10' },
      { event: 'view', period: 'day', last: 45 },
      { event: '🎉', period: 'week', last: 12 },
      { period: 'month', from: '2026-09-01', to: '2027-01-31' },
      { event: 'purchase', period: 'day', from: '2026-10-20', to: '2026-11-05', breakdown: 'country' },
      { period: 'week', last: 6, breakdown: 'plan' },
    ]
    for (const c of cases) {
      const measures = ['total', 'unique', 'wau', 'mau'] as const
      const got = await trends(model, { ...c, measures: [...measures] })
      const side = got.results[0]!
      const want = refTrends(events, { ...(c.event ? { event: c.event } : {}), period: c.period, periods: got.periods.map((p) => p.period), measures: [...measures], ...(c.breakdown ? { breakdown: c.breakdown } : {}) })
      const gotMap = new Map(side.series.map((s) => [c.breakdown ? `${s.measure}|${s.group}` : s.measure, s.values]))
      assert.deepEqual(gotMap, want, JSON.stringify(c))
      if (c.from && c.period === 'day') assert.equal(got.periods.length, (Date.parse(c.to!) - Date.parse(c.from)) / DAY + 1)
    }
    const gap = await trends(model, { period: 'day', from: '2026-10-26', to: '2026-10-31', measures: ['total', 'unique'] })
    assert.deepEqual(gap.results[0]!.series[0]!.values, [0, 0, 0, 0, 0, 0], 'the empty days are listed with zeros')
  })

  await t.test('segments: Q language and row form, saved as key sets, side by side', async () => {
    const defs = [
      { q: 'signup & (country=US | country=FI) & ~plan=free' },
      { rows: ['signup', 'country=US OR country=FI', 'NOT plan=free'] },
      { q: '注文 | 🎉' },
      { q: '~view' },
      { rows: ['ref=https://example.com/' + 'x'.repeat(50) + 'a' + '€'.repeat(30)] },
    ]
    for (const def of defs) {
      const { size } = await segmentUsers(model, def)
      assert.equal(size, refSegment(events, toCnf(def)).size, JSON.stringify(def))
    }
    const seg = await saveSegment(model, 'us-fi-paid', defs[0]!, 'US or FI, paid')
    assert.equal(seg.size, refSegment(events, toCnf(defs[0]!)).size)
    const loaded = await loadSegment(model, 'us-fi-paid')
    assert.equal(loaded.size, seg.size)
    assert.equal(loaded.label, 'US or FI, paid')
    assert.deepEqual((await listSegments(model)).map((s) => [s.name, s.size]), [['us-fi-paid', seg.size]])
    await saveSegment(model, 'asia', defs[2]!)
    const users = refSegment(events, toCnf(defs[0]!))
    const asia = refSegment(events, toCnf(defs[2]!))
    // One segment: all users and the segment.
    const f = await funnel(model, { steps: ['view', 'add to cart'], window: '3d', segments: ['us-fi-paid'] })
    assert.equal(f.results.length, 2)
    assert.equal(f.results[1]!.segment?.name, 'us-fi-paid')
    assert.deepEqual(f.results[1]!.steps.map((s) => s.users), refFunnel(events, { steps: ['view', 'add to cart'], mode: 'ordered', windowMs: 3 * DAY }, users).steps.map((s) => s.users))
    // Two segments side by side.
    const r = await retention(model, { start: 'view', period: 'week', last: 6, mode: 'on-or-after', segments: ['us-fi-paid', 'asia'] })
    for (const [i, set] of [[0, users], [1, asia]] as const) {
      const want = refRetention(events, { start: 'view', ret: 'view', cohort: 'recurring', period: 'week', mode: 'on-or-after', cohorts: r.results[i]!.rows.map((x) => x.period), columns: r.columns }, set)
      assert.deepEqual(r.results[i]!.rows.map((x) => ({ period: x.period, size: x.size, cells: x.cells })), want)
    }
    const tr = await trends(model, { period: 'week', last: 10, measures: ['total', 'unique', 'wau'], segments: ['asia'] })
    const want = refTrends(events, { period: 'week', periods: tr.periods.map((p) => p.period), measures: ['total', 'unique', 'wau'] }, asia)
    assert.deepEqual(new Map(tr.results[1]!.series.map((s) => [s.measure, s.values])), want)
  })

  await t.test('a one-batch model (the direct timeline path, scans shared with worker threads) gives the same funnels', async () => {
    await buildModel(ddfs, { inputs: ['events:a'], model: 'analytics:one', shards: 3, executor: 'in-process' })
    // Two scan workers plus this thread: every shard on a different thread; and no workers at all.
    const one = await Model.open(ddfs, 'analytics:one', { threads: 2 })
    const single = await Model.open(ddfs, 'analytics:one', { threads: 0 })
    t.after(() => one.close())
    const evA = readEvents(a).events
    for (const mode of ['ordered', 'strict', 'any-order'] as FunnelMode[]) {
      for (const c of [{ steps: ['signup', 'view', 'purchase'], window: '5d' }, { steps: ['view', 'view', 'add to cart', 'view'], window: '1d', from: '2026-10-08', to: '2026-10-30' }]) {
        const got = await funnel(one, { ...c, mode })
        assert.deepEqual(got, await funnel(single, { ...c, mode }))
        const want = refFunnel(evA, { ...c, mode, windowMs: got.windowMs })
        assert.deepEqual(got.results[0]!.steps.map((s) => s.users), want.steps.map((s) => s.users), `${mode} ${JSON.stringify(c)}`)
        got.results[0]!.steps.forEach((s, k) => close(s.medianMs, want.steps[k]!.medianMs, `${mode} median ${k}`))
      }
    }
  })

  await t.test('bad parameters carry codes', async () => {
    const code = async (p: Promise<unknown>, c: string) => assert.rejects(p, (e: unknown) => e instanceof DiscoError && e.code === c)
    await code(funnel(model, { steps: [] }), 'ANALYTICS_BAD_PARAM')
    await code(funnel(model, { steps: ['a'], mode: 'sideways' as FunnelMode }), 'ANALYTICS_BAD_PARAM')
    await code(funnel(model, { steps: ['a'], window: 'soon' }), 'ANALYTICS_BAD_PARAM')
    await code(funnel(model, { steps: ['a'], from: '2026-02-30' }), 'ANALYTICS_BAD_PARAM')
    await code(retention(model, { start: 'a', period: 'year' as PeriodKind }), 'ANALYTICS_BAD_PARAM')
    await code(trends(model, { measures: ['dau' as 'total'] }), 'ANALYTICS_BAD_PARAM')
    await code(funnel(model, { steps: ['a'], segments: ['missing'] }), 'ANALYTICS_NO_SEGMENT')
    await code(segmentUsers(model, { q: 'a & (' }), 'ANALYTICS_BAD_SEGMENT')
    await code(Model.open(ddfs, 'analytics:none'), 'ANALYTICS_NO_MODEL')
    await code(buildModel(ddfs, { inputs: ['events:none'], model: 'analytics:x', executor: 'in-process' }), 'ANALYTICS_NO_INPUT')
    await code(buildModel(ddfs, { inputs: ['events:a'], model: 'analytics:test', shards: 5, executor: 'in-process' }), 'ANALYTICS_BAD_PARAM')
  })
})
