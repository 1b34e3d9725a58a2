// Result processors: IN-11 (CSV formatting), IN-12 (merge), IN-18 (debug rows), JSON records, retry (Q12).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  csvLine, defineRule, jsonRecord, jsonRecordLine, mergeSorted, toArray, withRetry, writeCsv, type ResultRow,
} from 'disco-inferno'
import { count, crlf, D1_JSON, runCapture, storeWith } from './helpers.js'

const NAMES = defineRule({
  keysets: {
    last_name_keyset: { keyParts: ['last_name'], valueParts: ['count'] },
    first_name_keyset: { keyParts: ['first_name'], valueParts: ['count'] },
  },
})

async function csv(rule: ReturnType<typeof defineRule>, rows: ResultRow[]): Promise<string> {
  let out = ''
  await writeCsv(rule, rows, (s) => { out += s })
  return out
}

test('IN-11 UTF-8, column mappings, header per keyset block, interleaved keysets', async () => {
  assert.equal(await csv(NAMES, [[['last_name_keyset', 'Términos'], [30]]]), 'last_name,count\r\nTérminos,30\r\n')
  const mapped = defineRule({ keysets: { last_name_keyset: { keyParts: ['last_name'], valueParts: ['count'], columnMappings: { last_name: 'name' } } } })
  const last: ResultRow[] = [[['last_name_keyset', 'Clarke'], [10]], [['last_name_keyset', 'Harvey'], [20]], [['last_name_keyset', 'Martin'], [30]]]
  assert.equal(await csv(mapped, last), crlf('name,count', 'Clarke,10', 'Harvey,20', 'Martin,30'))
  const first: ResultRow[] = [[['first_name_keyset', 'Tim'], [100]], [['first_name_keyset', 'Tom'], [200]], [['first_name_keyset', 'Sam'], [300]]]
  assert.equal(await csv(NAMES, [...first, ...last]),
    crlf('first_name,count', 'Tim,100', 'Tom,200', 'Sam,300', 'last_name,count', 'Clarke,10', 'Harvey,20', 'Martin,30'))
  const interleaved = first.flatMap((f, i) => [f, last[i]!])
  assert.equal(await csv(NAMES, interleaved), crlf('first_name,count', 'Tim,100', 'last_name,count', 'Clarke,10',
    'first_name,count', 'Tom,200', 'last_name,count', 'Harvey,20', 'first_name,count', 'Sam,300', 'last_name,count', 'Martin,30'))
  assert.equal(csvLine(['a', 'b,c', 'say "hi"', 'x\ny']), 'a,"b,c","say ""hi""","x\ny"\r\n')
  assert.equal(csvLine(['']), '""\r\n')
})

test('IN-12 merge of sorted streams; unsorted merged naively; duplicates kept; empty ignored', async () => {
  type T = [[number, number], string]
  const cmp = (a: T, b: T) => a[0][0] - b[0][0] || a[0][1] - b[0][1]
  const s = (...ns: number[]): T[] => ns.map((n) => [[1, n], 'v'])
  const merged = await toArray(mergeSorted([s(1, 10, 100), s(2, 20, 200), s(3, 30, 300), s(4, 40, 400)], cmp))
  assert.deepEqual(merged.map((x) => x[0][1]), [1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400])
  const naive = await toArray(mergeSorted<[number, number]>([[[2, 1], [1, 1]], [[4, 1], [3, 1]]], (a, b) => a[0] - b[0] || a[1] - b[1]))
  assert.deepEqual(naive, [[2, 1], [1, 1], [4, 1], [3, 1]])
  assert.deepEqual(await toArray(mergeSorted([[1, 2], [], [1, 2]], (a, b) => a - b)), [1, 1, 2, 2])
})

test('IN-18 debug rows: whole key, no header; archiving skipped', async () => {
  const rule = defineRule({
    name: 'dbg', sourceTags: ['incoming:users'], mapInputStream: 'json', partsPreprocess: [count],
    keyParts: ['last'], valueParts: ['count'], archive: true,
  })
  const store = await storeWith('incoming:users', D1_JSON)
  const { out, res } = await runCapture(rule, { store, debug: true })
  assert.equal(out, crlf('_default,Nahasapeemapetilon,3', '_default,Powell,3', '_default,Simpson,5', '_default,Términos,1'))
  assert.deepEqual(res.archived, [])
  assert.deepEqual(await store.listTags('processed:'), [])
})

test('JSON records zip key and value names (for chaining); bigints exact', () => {
  const rule = defineRule({ keyParts: ['first', 'last'], valueParts: ['count'] })
  assert.deepEqual(jsonRecord(rule, [['_default', 'Homer', 'Simpson'], [1]]), { _keyset: '_default', first: 'Homer', last: 'Simpson', count: 1 })
  assert.equal(jsonRecordLine(rule, [['_default', 'a', 'b'], [2n ** 64n, 7]]),
    '{"_keyset":"_default","first":"a","last":"b","count":18446744073709551616,"_extra":[7]}')
})

test('Q12 a failing custom processor is retried with back-off, then the run fails', async () => {
  const sleeps: number[] = []
  const policy = { attempts: 4, sleep: async (ms: number) => { sleeps.push(ms) }, random: () => 1 }
  let calls = 0
  const flaky = defineRule({
    name: 'flaky', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [count], keyParts: ['last'], valueParts: ['count'],
    resultProcessor: async (rows) => { calls++; const all = await toArray(rows); if (calls < 3) throw new Error('db down'); assert.equal(all.length, 4) },
  })
  const ok = await runCapture(flaky, { store: await storeWith('t', D1_JSON), retry: policy })
  assert.equal(ok.res.status, 'done')
  assert.equal(calls, 3)
  assert.deepEqual(sleeps, [32_000, 64_000]) // maximum of each random sleep: 2^5 s, then 2^6 s
  const never = defineRule({ name: 'never', sourceTags: ['t'], mapInputStream: 'json', resultProcessor: () => { throw new Error('nope') } })
  const bad = await runCapture(never, { store: await storeWith('t', D1_JSON), retry: { ...policy, attempts: 2 } })
  assert.equal(bad.res.status, 'failed')
  assert.equal(bad.res.error?.code, 'INFERNO_RETRY_EXHAUSTED')
  assert.equal(bad.res.failedStage, 'process')
  const init = defineRule({ name: 'init', sourceTags: ['t'], mapInputStream: 'json', ruleInitFunction: () => { throw new Error('no lookup table') } })
  const r = await runCapture(init, { store: await storeWith('t', D1_JSON) })
  assert.deepEqual([r.res.status, r.res.failedStage, r.res.error?.code, r.res.reason], ['failed', 'init', 'INFERNO_JOB_FAILED', 'rule init: no lookup table'])
  await assert.rejects(withRetry(() => { throw new Error('x') }, { attempts: 1 }), { code: 'INFERNO_RETRY_EXHAUSTED' })
})

test('RL-02 the results are the key-ordered merge unless sort or sortedResults is off', async () => {
  const make = (o: { sort?: boolean; sortedResults?: boolean }) => defineRule({
    name: 'order', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [count], keyParts: ['first'], valueParts: ['count'], partitions: 4, ...o,
  })
  const store = await storeWith('t', D1_JSON)
  const sorted = (await runCapture(make({}), { store })).rows.map((r) => r[0][1])
  assert.deepEqual(sorted, [...sorted].sort())
  for (const o of [{ sort: false }, { sortedResults: false }]) {
    const rows = (await runCapture(make(o), { store })).rows.map((r) => r[0][1])
    assert.deepEqual([...rows].sort(), sorted, JSON.stringify(o)) // same rows, partition after partition
    assert.notDeepEqual(rows, sorted, JSON.stringify(o))
  }
})
