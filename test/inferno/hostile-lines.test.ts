// Hostile lines (issue 10): an unbalanced CSV quote costs one bad line, never the rest of the blob;
// a line longer than the maximum record size is a counted bad line on both engines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { csvQuoteOpen, ddfsStore, discoEngine, findRules, inlineEngine, newReadStats, openLocalStores, readLines, runRule, splitCsv, type Parts } from 'disco-inferno'
import { D1_JSON } from './helpers.js'

const RULES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rules')
const XL = { delimiter: ',', quotechar: '"' }

test('one unbalanced quote is one bad line: the 19,999 other records are read', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `${i},name${i}`)
  lines[100] = '100,"unbalanced'
  const stats = newReadStats()
  const out = [...readLines(lines, { kind: 'csv' }, stats)]
  assert.equal(stats.lines, 20_000)
  assert.equal(stats.badLines, 1)
  assert.equal(out.length, 19_999)
  assert.equal(stats.records, 19_999)
  assert.deepEqual(out[100], { 0: '101', 1: 'name101' })
  assert.deepEqual(stats.badSample, ['csv line error: "100,\\"unbalanced"'])
})

test('a quoted field may span lines up to the bound; past it the first line is bad and reading resumes', () => {
  const stats = newReadStats()
  const ok = [...readLines(['a,"x', 'y', 'z",b', 'c,d'], { kind: 'csv' }, stats)]
  assert.deepEqual(ok, [{ 0: 'a', 1: 'x\ny\nz', 2: 'b' }, { 0: 'c', 1: 'd', 2: null }])
  assert.equal(stats.badLines, 0)
  const s2 = newReadStats()
  const cut = [...readLines(['a,"x', 'p,q', 'r,s', 't,u', 'z",b', 'c,d'], { kind: 'csv', maxRecordLines: 3 }, s2)]
  // Line 1 opens a quote that stays open past 3 lines: it is bad, and lines 2.. are read again.
  assert.equal(s2.badLines, 1)
  // `z",b` read on its own is an unquoted field holding a quote (Python's non-strict reading).
  assert.deepEqual(cut, [{ 0: 'p', 1: 'q' }, { 0: 'r', 1: 's' }, { 0: 't', 1: 'u' }, { 0: 'z"', 1: 'b' }, { 0: 'c', 1: 'd' }])
  const s3 = newReadStats()
  const chars = [...readLines(['a,"x', 'y'.repeat(50), 'z",b', 'c,d'], { kind: 'csv', maxRecordChars: 40 }, s3)]
  assert.equal(s3.badLines, 1)
  assert.equal(chars.at(-1)!['0'], 'c')
})

test('an open quote at the end of the blob: its first line is bad, the lines after it are read again', () => {
  const stats = newReadStats()
  const out = [...readLines(['h1,h2', '1,"open', '2,two', '3,three'], { kind: 'csv' }, stats)]
  assert.equal(stats.badLines, 1)
  assert.deepEqual(out.map((p: Parts) => p['0']), ['h1', '2', '3'])
})

test('csvQuoteOpen agrees with splitCsv on whether a quote is left open', () => {
  const samples = ['', 'a', '"a', '"a"', 'a,"b', 'a,"b""', 'a,"b"""', '"a"b,"c', 'x"y,z', '"a,b",c', ',"', '""', '"""', 'a,']
  for (const s of samples) assert.equal(csvQuoteOpen(s, XL, false), splitCsv(s, XL) === undefined, s)
  for (const s of samples) assert.equal(csvQuoteOpen(s, XL, true), splitCsv(`"${s}`, XL) === undefined, `continued ${s}`)
})

async function withStore(fn: (store: ReturnType<typeof ddfsStore>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-lines-'))
  try {
    const stores = openLocalStores(dir)
    const store = ddfsStore(stores.ddfs, stores)
    const long = JSON.stringify({ first: 'X'.repeat(5000), last: 'Long' })
    const lines = [...D1_JSON.slice(0, 6), long, ...D1_JSON.slice(6)]
    await store.append('example:chunk:users', [await store.putLines('users-0', lines)])
    await fn(store)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('a line past the maximum record size is a counted bad line on both engines; the others are read', async () => {
  await withStore(async (store) => {
    const [rule] = await findRules(RULES, 'names.last_names_json')
    assert.ok(rule)
    for (const engine of [inlineEngine, discoEngine({ executor: 'in-process' })]) {
      let out = ''
      const res = await runRule(rule, { store, engine, maxRecordSize: 1000, out: (s) => { out += s } })
      assert.equal(res.status, 'done', res.reason)
      assert.equal(res.badLines, 1)
      assert.equal(res.records, 12)
      assert.ok(res.badSample.some((s) => s.startsWith('record too large line error: line 7 (')), res.badSample.join('\n'))
      // Counted as too long as well, in the totals and in the blob's own entry (lines included).
      assert.equal(res.stats.read.tooLongLines, 1)
      assert.deepEqual(res.stats.blobs.map((b) => [b.lines, b.badLines, b.tooLongLines]), [[13, 1, 1]])
      assert.ok(out.includes('Simpson,5'), out)
      // Without the bound the long line is an ordinary record.
      const res2 = await runRule(rule, { store, engine, out: () => {} })
      assert.deepEqual([res2.badLines, res2.records, res2.stats.read.tooLongLines], [0, 13, 0])
    }
  })
})
