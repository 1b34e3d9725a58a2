// The demo (`npm run demo`) end to end on a small size: generated logs → chunks under dated tags →
// clicks.traffic through the `inferno -i` path → CSV whose three keyset blocks agree.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runDemo, parseSize } from '#src/cli/demo.js'
import { clickLogLines, daysEndingAt, seededRandom } from '#src/inferno/examples/clicks-data.js'

test('demo: seeded logs, three keysets whose totals agree, timings on stderr', async () => {
  let out = ''
  let err = ''
  const status = await runDemo({ size: 600_000, days: 2, lastDay: '2026-11-20', seed: 7, keep: false, chunkMB: 1, out: (t) => (out += t), err: (t) => (err += t), tty: false })
  assert.equal(status, 0, err)
  const lines = out.split('\r\n').filter(Boolean)
  const headers = lines.filter((l) => /^[a-z_]+,/.test(l) && !/\d/.test(l))
  assert.deepEqual(headers, ['country,device,events,purchases,revenue', 'day,event,events,revenue', 'referrer,events,signups,purchases'])
  const block = (h: string) => {
    const i = lines.indexOf(h)
    const rows: string[][] = []
    for (let j = i + 1; j < lines.length && !headers.includes(lines[j]!); j++) rows.push(lines[j]!.split(','))
    return rows
  }
  const byDay = block('day,event,events,revenue')
  const byCountry = block('country,device,events,purchases,revenue')
  const byReferrer = block('referrer,events,signups,purchases')
  assert.deepEqual([...new Set(byDay.map((r) => r[0]))], ['2026-11-19', '2026-11-20'])
  const sum = (rows: string[][], col: number) => rows.reduce((a, r) => a + Number(r[col]), 0)
  const events = sum(byDay, 2)
  assert.equal(sum(byCountry, 2), events)
  assert.equal(sum(byReferrer, 1), events)
  assert.equal(sum(byCountry, 3), sum(byReferrer, 3), 'purchases agree')
  assert.equal(sum(byDay.filter((r) => r[1] === 'purchase'), 2), sum(byCountry, 3))
  assert.ok(Math.abs(sum(byDay, 3) - sum(byCountry, 4)) < 1e-6, 'revenue agrees')
  const m = /wrote ([\d,]+) lines/.exec(err)
  assert.ok(m, err)
  const bad = Number(/(\d+) bad lines/.exec(err)![1])
  assert.equal(events + bad, Number(m[1]!.replace(/,/g, '')), 'every line is an event or a counted bad line')
  assert.match(err, /demo: rule clicks\.traffic over [\d.]+ MB in [\d.]+s = [\d,]+ records\/s/)
  const a = /demo: analytics model of ([\d,]+) events/.exec(err)
  assert.equal(Number(a?.[1]?.replace(/,/g, '')), events, 'the analytics model holds every valid click')
  assert.match(err, /demo: open the dashboard on this data: .*serve/)
})

test('click logs are deterministic per seed and day; sizes parse', async () => {
  const take = async (seed: number) => {
    let s = ''
    for await (const b of clickLogLines({ seed, day: '2026-11-20', bytes: 10_000, batch: 10 })) s += b.toString()
    return s
  }
  assert.equal(await take(1), await take(1))
  assert.notEqual(await take(1), await take(2))
  const first = JSON.parse((await take(1)).split('\n')[0]!)
  assert.deepEqual(Object.keys(first).slice(0, 4), ['ts', 'event', 'user', 'session'])
  assert.equal(new Date(first.ts).toISOString().slice(0, 10), '2026-11-20')
  assert.deepEqual(daysEndingAt('2026-03-01', 3), ['2026-03-01', '2026-02-28', '2026-02-27'])
  assert.equal(parseSize('300MB'), 300e6)
  assert.equal(parseSize('1GB'), 1e9)
  assert.equal(parseSize('512k'), 512e3)
  assert.throws(() => parseSize('lots'), /expected a size/)
  const r = seededRandom(3)
  assert.ok(r() >= 0 && r() < 1)
})
