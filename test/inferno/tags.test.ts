// Tags and dates: TG-01 … TG-08 (spec inferno.md section 8) over the fixture store of the original's tests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  archiveBlobs, archiveTagName, collectBlobs, dayMinus, defineRule, localDay, MemoryStore, resolveTagPrefixes,
  resultTagName, type BlobRef, type Rule,
} from 'disco-inferno'
import { runCapture } from './helpers.js'

const url = (host: string, name: string) => `disco://${host}/ddfs/vol0/blob/ab/${name}`

/** The original's test/fixture/ddfs.json, as a memory store (each blob holds one JSON line). */
function fixture(): MemoryStore {
  const s = new MemoryStore()
  const blob = (name: string, host = 'a') => s.putAt(url(host, name), [JSON.stringify({ blob: name, count: 1 })])
  s.setTag('incoming:data:chunk:2011-11-11', [blob('b11')])
  s.setTag('incoming:data:chunk:2011-11-12', [blob('b12')])
  s.setTag('incoming:data:chunk:2011-11-13', [blob('b13'), blob('b13.a')])
  s.setTag('incoming:data:chunk:2011-11-14', [blob('b14'), blob('b14.a'), blob('b14.b')])
  s.setTag('new:data:chunk:2011-11-14', [blob('n14')])
  s.setTag('incoming:stats:chunk:2011-11-14', [blob('s14')])
  s.setTag('incoming:froody:chunk:2012-05-17', [['a', 'b', 'd'].map((h) => url(h, 'd12.1'))])
  s.setTag('processed:froody:chunk:2012-05-17', [['a', 'c', 'd'].map((h) => url(h, 'd12.1'))])
  return s
}

const names = (blobs: readonly BlobRef[]) => blobs.map((b) => b[0]!.slice(b[0]!.lastIndexOf('/') + 1))
const days = (m: Map<string, BlobRef[]>) => Object.fromEntries([...m].map(([t, b]) => [t.slice(-2), names(b)]))

test('TG-01 date-suffixed source tags and settings overrides', () => {
  const rule = defineRule({ dayRange: 3, dayOffset: 1, dayStart: '2012-12-02', sourceTags: ['tag1', 'tag2'] })
  assert.deepEqual(resolveTagPrefixes(rule), ['tag1:2012-12-01', 'tag1:2012-11-30', 'tag1:2012-11-29',
    'tag2:2012-12-01', 'tag2:2012-11-30', 'tag2:2012-11-29'])
  assert.deepEqual(resolveTagPrefixes(rule, { sourceTags: ['tag3', 'tag4'], dayStart: '2011-01-01', dayRange: 5 }), ['tag3', 'tag4'])
  assert.deepEqual(resolveTagPrefixes(defineRule({ sourceTags: ['tag5'], dayRange: 2 }), { dayStart: '2011-12-01' }), ['tag5:2011-12-01'])
  assert.deepEqual(resolveTagPrefixes(defineRule({ sourceTags: ['tag:foo', 'tag:bar'] })), ['tag:foo', 'tag:bar'])
  assert.deepEqual(resolveTagPrefixes(defineRule({ sourceTags: ['tag:foo', 'tag:bar'], dayRange: 4 }), { dayRange: 0 }), ['tag:foo', 'tag:bar'])
  const empty = defineRule({})
  assert.deepEqual(resolveTagPrefixes(empty), [])
  assert.equal(empty.resultTag, undefined)
  assert.deepEqual(defineRule({ sourceTags: 'tag1' }).sourceTags, ['tag1'])
})

test('TG-01 result tag: the override beats the rule', async () => {
  const s = fixture()
  const rule = defineRule({ name: 'rt', sourceTags: ['incoming:stats:chunk'], mapInputStream: 'json', resultTag: 'result:rule', resultProcessor: null })
  const { res } = await runCapture(rule, { store: s, resultTag: 'result:settings' })
  // The suffix comes from the resolved prefix (`incoming:stats:chunk`, no day): the job name.
  assert.equal(res.resultTag, `result:settings:${res.jobName}`)
  assert.deepEqual(await s.listTags('result:'), [res.resultTag])
  const dated = await runCapture(rule, { store: s, overrides: { dayStart: '2011-11-14' } })
  assert.equal(dated.res.resultTag, 'result:rule:2011-11-14')
})

test('TG-02 command-line date overrides (section 8.2 table)', () => {
  const rule = defineRule({ sourceTags: ['incoming:data:chunk'], dayRange: 2 })
  const today = '2012-12-10'
  assert.deepEqual(resolveTagPrefixes(rule, { dayStart: '2012-12-01' }, today), ['incoming:data:chunk:2012-12-01'])
  assert.deepEqual(resolveTagPrefixes(rule, { dayStart: '2012-12-05', dayRange: 3 }, today),
    ['incoming:data:chunk:2012-12-05', 'incoming:data:chunk:2012-12-04', 'incoming:data:chunk:2012-12-03'])
  assert.deepEqual(resolveTagPrefixes(rule, { dayStart: '2012-12-05', dayOffset: 2 }, today), ['incoming:data:chunk:2012-12-03'])
  assert.deepEqual(resolveTagPrefixes(rule, {}, today), ['incoming:data:chunk:2012-12-10', 'incoming:data:chunk:2012-12-09'])
  assert.deepEqual(resolveTagPrefixes(rule, { dayOffset: 3 }, today), ['incoming:data:chunk:2012-12-07'])
  assert.deepEqual(resolveTagPrefixes(rule, { dayRange: 0 }, today), ['incoming:data:chunk'])
  assert.deepEqual(resolveTagPrefixes(rule, { sourceTags: ['a:b', 'c:d'] }, today), ['a:b', 'c:d'])
  assert.deepEqual(resolveTagPrefixes(defineRule({ sourceTags: ['t'], dayStart: '2012-03-01' }), { dayOffset: 1 }), ['t:2012-02-29'])
  assert.throws(() => resolveTagPrefixes(rule, { dayStart: '2012-13-01' }), { code: 'INFERNO_RULE_INVALID' })
})

test('TG-03 blob collection with archive exclusion and caps', async () => {
  const s = fixture()
  const P = ['incoming:data:chunk']
  let r = await collectBlobs(s, P, { archive: true })
  assert.equal(r.tags.size, 4)
  assert.equal(r.count, 7)
  assert.deepEqual(days(r.tags), { 14: ['b14', 'b14.a', 'b14.b'], 13: ['b13', 'b13.a'], 12: ['b12'], 11: ['b11'] })
  s.setTag('processed:data:chunk:2011-11-13', [[url('z', 'b13')]])
  assert.equal((await collectBlobs(s, P, { archive: true })).count, 6)
  assert.equal((await collectBlobs(s, P, { archive: false })).count, 7)
  r = await collectBlobs(s, P, { archive: true, maxBlobs: 0 })
  assert.deepEqual(days(r.tags), { 14: [] })
  assert.equal(r.count, 0)
  assert.deepEqual(days((await collectBlobs(s, P, { archive: true, maxBlobs: 2 })).tags), { 14: ['b14', 'b14.a'] })
  assert.deepEqual(days((await collectBlobs(s, P, { archive: true, maxBlobs: 3 })).tags), { 14: ['b14', 'b14.a', 'b14.b'] })
  assert.deepEqual(days((await collectBlobs(s, P, { archive: true, maxBlobs: 4 })).tags), { 14: ['b14', 'b14.a', 'b14.b'], 13: ['b13.a'] })
  // Q8: raw string prefixes, as the original.
  assert.deepEqual(await s.listTags('incoming:data'), ['incoming:data:chunk:2011-11-11', 'incoming:data:chunk:2011-11-12',
    'incoming:data:chunk:2011-11-13', 'incoming:data:chunk:2011-11-14'])
  s.setTag('incoming:database:x', [[url('a', 'db1')]])
  assert.equal((await collectBlobs(s, ['incoming:data'])).count, 8)
  // Empty replica lists are skipped with one warning per tag.
  s.setTag('incoming:empty:1', [[], []])
  const warnings: string[] = []
  assert.equal((await collectBlobs(s, ['incoming:empty'], { warn: (m) => warnings.push(m) })).count, 0)
  assert.equal(warnings.length, 1)
})

test('TG-04 archiving: names, copies, replica-agnostic, archive prefix on a rule', async () => {
  assert.equal(archiveTagName('incoming:data:chunk:2012-12-01'), 'processed:data:chunk:2012-12-01')
  const s = fixture()
  const r = await collectBlobs(s, ['incoming:data:chunk:2011-11-13'], { archive: true })
  assert.deepEqual(await archiveBlobs(s, r.tags), ['processed:data:chunk:2011-11-13'])
  assert.deepEqual(names(await s.blobs('processed:data:chunk:2011-11-13')).sort(), ['b13', 'b13.a'])
  assert.deepEqual(names(await s.blobs('incoming:data:chunk:2011-11-13')), ['b13', 'b13.a'])
  const froody = await collectBlobs(s, ['incoming:froody'], { archive: false })
  await archiveBlobs(s, froody.tags)
  assert.equal((await s.blobs('processed:froody:chunk:2012-05-17')).length, 1)
  assert.equal((await collectBlobs(s, ['incoming:froody'], { archive: true })).count, 0)

  const rule = (archive: boolean) => defineRule({
    name: 'arch', sourceTags: ['incoming:data:chunk'], archiveTagPrefix: 'archived', archive, mapInputStream: 'json',
    keyParts: ['blob'], valueParts: ['count'], resultProcessor: null,
  })
  const off = await runCapture(rule(false), { store: s, overrides: { dayStart: '2011-11-12', dayRange: 2 } })
  assert.deepEqual(off.res.prefixes, ['incoming:data:chunk:2011-11-12', 'incoming:data:chunk:2011-11-11'])
  assert.deepEqual([...off.res.tags.values()].flat().map((b) => names([b])[0]), ['b12', 'b11'])
  assert.deepEqual(await s.listTags('archived:'), [])
  const on = await runCapture(rule(true), { store: s, overrides: { dayStart: '2011-11-12', dayRange: 2 } })
  assert.deepEqual(on.res.archived, ['archived:data:chunk:2011-11-12', 'archived:data:chunk:2011-11-11'])
  assert.deepEqual(await s.listTags('archived:'), ['archived:data:chunk:2011-11-11', 'archived:data:chunk:2011-11-12'])
})

test('TG-05 incremental daemon cycle', async () => {
  const s = fixture()
  const rule = (o: { newestFirst?: boolean; maxBlobs?: number } = {}) => defineRule({
    name: 'inc', sourceTags: ['incoming:data:chunk'], archive: true, mapInputStream: 'json', keyParts: ['blob'],
    valueParts: ['count'], resultProcessor: null, ...o,
  })
  const first = await runCapture(rule({ newestFirst: false, maxBlobs: 3 }), { store: fixture(), justQuery: true })
  assert.deepEqual(days(first.res.tags as Map<string, BlobRef[]>), { 11: ['b11'], 12: ['b12'], 13: ['b13'] })
  const run1 = await runCapture(rule(), { store: s })
  assert.equal(run1.res.status, 'done')
  assert.equal(run1.res.blobs, 7)
  assert.equal(run1.rows.length, 7)
  const run2 = await runCapture(rule(), { store: s })
  assert.equal(run2.res.status, 'skipped')
  assert.equal(run2.res.reason, 'not enough blobs to run inc: 1 blobs required, has 0')
  await s.append('incoming:data:chunk:2011-11-14', [s.putAt(url('a', 'b14.c'), ['{"blob":"b14.c","count":1}'])])
  const run3 = await runCapture(rule(), { store: s })
  assert.equal(run3.res.blobs, 1)
  assert.deepEqual(run3.rows, [[['_default', 'b14.c'], [1]]])
})

test('TG-06 blob thresholds and --force', async () => {
  const s = new MemoryStore()
  for (let i = 0; i < 101; i++) s.putAt(`mem://b/${i}`, ['{"a":1}'])
  const withBlobs = (n: number) => { s.setTag('t:x', Array.from({ length: n }, (_, i) => [`mem://b/${i}`])); return s }
  const rule = (minBlobs: number) => defineRule({ name: 'min', sourceTags: ['t:'], minBlobs, mapInputStream: 'json', valueParts: ['a'], resultProcessor: null })
  assert.equal((await runCapture(rule(100), { store: withBlobs(100) })).res.status, 'done')
  assert.equal((await runCapture(rule(100), { store: withBlobs(101) })).res.status, 'done')
  assert.equal((await runCapture(rule(100), { store: withBlobs(99) })).res.status, 'skipped')
  const forced = await runCapture(rule(100), { store: withBlobs(99), force: true })
  assert.equal(forced.res.status, 'done')
  assert.deepEqual(forced.rows, [[['_default'], [99]]])
  assert.equal((await runCapture(rule(1000), { store: withBlobs(2) })).res.status, 'skipped')
  assert.equal((await runCapture(rule(1), { store: withBlobs(0), force: true })).res.status, 'skipped') // zero blobs still skip
})

test('TG-07 result tag names', () => {
  const days = ['t:2012-12-01', 't:2012-11-30']
  assert.equal(resultTagName('result:daily', true, days, 'job@1'), 'result:daily:2012-12-01')
  assert.equal(resultTagName('result:x', true, ['example:chunk:users'], 'rule@55a:1:2'), 'result:x:rule@55a:1:2')
  assert.equal(resultTagName('result:d', 'date', days, 'job', '2026-11-22'), 'result:d:2026-11-22')
  assert.equal(resultTagName('result:n', false, days, 'job@2'), 'result:n:job@2')
  assert.equal(resultTagName('override:tag', true, days, 'job'), 'override:tag:2012-12-01')
})

test('TG-08 archive lookback rewrites source tags at definition time', () => {
  const today = localDay(new Date())
  const r: Rule = defineRule({ archiveLookback: 2, sourceTags: ['incoming:collector'] })
  assert.deepEqual(r.sourceTags, [0, 1, 2].map((i) => `incoming:collector:${dayMinus(today, i)}`))
})
