// Readers: IN-08 (JSON lines, bad and empty lines), IN-13 (CSV), IN-20 (dynamic, Q4), Q14 big integers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRecordReader, defineRule, newReadStats, parseJson, readLines, splitCsv } from 'disco-inferno'
import { crlf, runCapture, storeWith } from './helpers.js'

const GOOD1 = '{"timestamp": 1319475603759, "token": "92f80832-c2ee-4fbe-9a2a-7b1e8f6e5d31", "is_new": false, "id": 10000}'
const GOOD2 = '{"timestamp": 1319475603987, "token": "9e28ace0-1c1a-4d2b-8b9f-2f0a3c5d6e7f", "is_new": true, "id": 20000}'
const INPUT = [GOOD1, GOOD2, '']
const BAD_LINES = [GOOD1, '{some}', '{bad}', '{lines}', GOOD2, '']
const EMPTY_LINES = ['', '', GOOD1, GOOD2, '', '']
const RECORDS = [
  { timestamp: 1319475603759, token: '92f80832-c2ee-4fbe-9a2a-7b1e8f6e5d31', is_new: false, id: 10000 },
  { timestamp: 1319475603987, token: '9e28ace0-1c1a-4d2b-8b9f-2f0a3c5d6e7f', is_new: true, id: 20000 },
]

test('IN-08 each JSON fixture yields exactly the two records, types preserved', () => {
  for (const [name, lines, bad] of [['input', INPUT, 0], ['bad_lines', BAD_LINES, 3], ['empty_lines', EMPTY_LINES, 0]] as const) {
    const stats = newReadStats()
    assert.deepEqual([...readLines(lines, { kind: 'json' }, stats)], RECORDS, name)
    assert.equal(stats.badLines, bad, name)
    assert.equal(stats.records, 2)
  }
  const stats = newReadStats()
  ;[...readLines(BAD_LINES, { kind: 'json' }, stats)]
  assert.deepEqual(stats.badSample, ['json line error: "{some}"', 'json line error: "{bad}"', 'json line error: "{lines}"'])
})

test('IN-08 non-object lines are skipped silently; trailing garbage is an error', () => {
  const stats = newReadStats()
  const out = [...readLines(['[1,2]', '42', '"str"', '   ', '  {"a":1}  ', '{"d": 3} trailing', '[{"a":1}]', '{"n":{"m":[1]}}'], { kind: 'json' }, stats)]
  assert.deepEqual(out, [{ a: 1 }, { n: { m: [1] } }])
  assert.equal(stats.badLines, 2) // trailing garbage, and an array holding an object
})

test('IN-08 end to end: each file alone, then all three as three blobs', async () => {
  const rule = defineRule({
    name: 'count', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [(p) => ({ ...p, count: 1 })],
    keyParts: ['is_new'], valueParts: ['count', 'id', 'timestamp'],
  })
  for (const lines of [INPUT, BAD_LINES, EMPTY_LINES]) {
    const { out } = await runCapture(rule, { store: await storeWith('t', lines) })
    assert.equal(out, crlf('is_new,count,id,timestamp', 'False,1,10000,1319475603759', 'True,1,20000,1319475603987'))
  }
  const { out, res } = await runCapture(rule, { store: await storeWith('t', INPUT, BAD_LINES, EMPTY_LINES) })
  assert.equal(out, crlf('is_new,count,id,timestamp', 'False,3,30000,3958426811277', 'True,3,60000,3958426811961'))
  assert.equal(res.badLines, 3)
  assert.equal(res.badSample.length, 3)
  assert.equal(res.records, 6)
})

test('Q14 JSON integers beyond 2^53 are read exactly', () => {
  assert.deepEqual(parseJson('{"n": 12345678901234567890, "s": "12345678901234567890", "f": 1.5}'),
    { n: 12345678901234567890n, s: '12345678901234567890', f: 1.5 })
  assert.deepEqual(parseJson('{"t": 1319475603759123}'), { t: 1319475603759123 })
})

const TAB = { delimiter: '\t', quotechar: '"' }

test('IN-13 CSV reader: tab dialect, short/long rows, empty fields, default names', () => {
  const fields = ['field_1', 'field_2', 'field_3']
  const read = (line: string, f: string[] | null = fields) => [...readLines([line], { kind: 'csv', dialect: TAB, csvFields: f ?? undefined })]
  assert.deepEqual(read('value_1\tvalue_2\tvalue_3'), [{ field_1: 'value_1', field_2: 'value_2', field_3: 'value_3' }])
  assert.deepEqual(read('value_1\tvalue_2'), [{ field_1: 'value_1', field_2: 'value_2', field_3: null }])
  assert.deepEqual(read('value_1\tvalue_2\tvalue_3\tvalue_4'), [{ field_1: 'value_1', field_2: 'value_2', field_3: 'value_3' }])
  assert.deepEqual(read('value_1\t\tvalue_3'), [{ field_1: 'value_1', field_2: '', field_3: 'value_3' }])
  assert.deepEqual(read('\tvalue_2\t'), [{ field_1: '', field_2: 'value_2', field_3: '' }])
  assert.deepEqual(read('value_1\tvalue_2\tvalue_3', null), [{ 0: 'value_1', 1: 'value_2', 2: 'value_3' }])
  assert.deepEqual(read(''), [])
})

test('IN-13 CSV reader: Excel dialect, names from the first row, delimiter override', () => {
  assert.deepEqual([...readLines(['a,"b,c",d', 'e,f', 'g,h,i,j'], { kind: 'csv' })],
    [{ 0: 'a', 1: 'b,c', 2: 'd' }, { 0: 'e', 1: 'f', 2: null }, { 0: 'g', 1: 'h', 2: 'i' }])
  assert.deepEqual([...readLines(['a|b|c'], { kind: 'csv', csvFields: ['x', 'y'], dialect: { delimiter: '|', quotechar: '"' } })],
    [{ x: 'a', y: 'b' }])
  const rule = defineRule({ delimiter: '|' })
  assert.equal(rule.csvDialect.delimiter, '|')
  assert.deepEqual(splitCsv('"say ""hi""",x', { delimiter: ',', quotechar: '"' }), ['say "hi"', 'x'])
  assert.deepEqual(splitCsv('a,', { delimiter: ',', quotechar: '"' }), ['a', ''])
  // A quoted field may span lines; an unterminated one at the end of the blob is a bad line.
  const stats = newReadStats()
  assert.deepEqual([...readLines(['"a', 'b",c', '"open'], { kind: 'csv' }, stats)], [{ 0: 'a\nb', 1: 'c' }])
  assert.equal(stats.badLines, 1)
})

test('IN-20 dynamic reader decides per line (Q4, the intended behaviour)', () => {
  const stats = newReadStats()
  const out = [...readLines(['{"a":"1","b":"2"}', 'x,y', 'z,w', '{"a":"3"}', 'bad{', 'u,v'],
    { kind: 'dynamic', csvFields: ['a', 'b'] }, stats)]
  assert.deepEqual(out, [{ a: '1', b: '2' }, { a: 'x', b: 'y' }, { a: 'z', b: 'w' }, { a: '3' }, { a: 'u', b: 'v' }])
  assert.equal(stats.badLines, 1)
  assert.deepEqual(stats.badSample, ['json line error: "bad{"'])
})

test('line reader strips line ends and counts lines', () => {
  const r = createRecordReader({ kind: 'csv' })
  const out: unknown[] = []
  r.push('a,b\r\n', (p) => out.push(p))
  assert.deepEqual(out, [{ 0: 'a', 1: 'b' }] as unknown[])
  r.push('\n', (p) => out.push(p))
  assert.equal(out.length, 1)
  assert.equal(r.stats.lines, 2)
  assert.equal(r.stats.records, 1)
})
