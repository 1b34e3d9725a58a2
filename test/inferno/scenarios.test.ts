// Acceptance scenarios IN-01 … IN-07 of spec inferno.md section 14 (end to end over a store).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defineKeyset, defineRule, MemoryStore, type Parts } from 'disco-inferno'
import { count, crlf, D1_CSV, D1_JSON, runCapture, storeWith } from './helpers.js'

const IN01 = crlf('last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,5', 'Términos,1')

test('IN-01 last-name count: identical for 1, 2 and 200 partitions', async () => {
  for (const partitions of [1, 2, 200]) {
    const rule = defineRule({
      name: 'last_names_json', sourceTags: ['example:chunk:users'], mapInputStream: 'json',
      partsPreprocess: [count], keyParts: ['last'], valueParts: ['count'], partitions,
    })
    const { res, out } = await runCapture(rule, { store: await storeWith('example:chunk:users', D1_JSON) })
    assert.equal(res.status, 'done')
    assert.equal(out, IN01, `partitions=${partitions}`)
    assert.equal(res.records, 12)
    assert.equal(res.blobs, 1)
  }
})

test('IN-02 keyset-level pre-processor runs after the rule-level one', async () => {
  const countAgain = (p: Parts) => { p.count = Number(p.count) + 1; return p }
  const rule = defineRule({
    name: 'last_names_json', sourceTags: ['example:chunk:users'], mapInputStream: 'chunk_json_stream',
    partsPreprocess: [count], partitions: 2,
    keysets: { last_name_keyset: defineKeyset({ keyParts: ['last'], valueParts: ['count'], partsPreprocess: [countAgain] }) },
  })
  const { out } = await runCapture(rule, { store: await storeWith('example:chunk:users', D1_JSON) })
  assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,6', 'Powell,6', 'Simpson,10', 'Términos,2'))
})

test('IN-03 CSV input gives the IN-01 output', async () => {
  const rule = defineRule({
    name: 'last_names_csv', sourceTags: ['example:chunk:users'], csvFields: ['first', 'last'], csvDialect: 'excel',
    partsPreprocess: [count], keyParts: ['last'], valueParts: ['count'], partitions: 2,
  })
  const { out } = await runCapture(rule, { store: await storeWith('example:chunk:users', D1_CSV) })
  assert.equal(out, IN01)
})

test('IN-04 two keysets in one scan over two blobs: blocks ordered by keyset name', async () => {
  const rule = defineRule({
    name: 'first_and_last', sourceTags: ['example:chunk:users'], mapInputStream: 'json', partsPreprocess: [count],
    keysets: {
      last_name_keyset: { keyParts: ['last'], valueParts: ['count'] },
      first_name_keyset: { keyParts: ['first'], valueParts: ['count'] },
    },
  })
  const { out, res } = await runCapture(rule, { store: await storeWith('example:chunk:users', D1_JSON.slice(0, 6), D1_JSON.slice(6)) })
  assert.equal(res.blobs, 2)
  assert.equal(out, crlf('first,count', 'Apu,1', 'Bart,1', 'Herbert,1', 'Homer,1', 'Janey,1', 'Lisa,1', 'Maggie,2',
    'Manjula,1', 'Marge,1', 'Ruth,1', 'Sanjay,1', 'last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,5', 'Términos,1'))
})

test('IN-05 result tag: result:test:integration:<jobname> and disco:results:<jobname> list the same blobs', async () => {
  const rule = defineRule({
    name: 'last_names_result', sourceTags: ['example:chunk:users'], mapInputStream: 'json', partsPreprocess: [count],
    keyParts: ['last'], valueParts: ['count'], resultTag: 'result:test:integration',
  })
  const store = await storeWith('example:chunk:users', D1_JSON)
  const { out, res } = await runCapture(rule, { store, noPurge: true })
  assert.equal(out, IN01)
  assert.equal(res.resultTag, `result:test:integration:${res.jobName}`)
  assert.deepEqual(await store.listTags('result:'), [res.resultTag])
  const disco = await store.listTags('disco:results:')
  assert.equal(disco.length, 1)
  assert.ok(disco[0]!.endsWith(res.jobName.replace(/[^A-Za-z0-9_\-@:]/g, '_')))
  const a = (await store.blobs(res.resultTag!)).map((b) => b[0]).sort()
  const b = (await store.blobs(disco[0]!)).map((b) => b[0]).sort()
  assert.ok(a.length > 0)
  assert.deepEqual(a, b)
  // Purging (the daemon's default) removes only the job's own results tag.
  const purged = await runCapture(rule, { store })
  assert.deepEqual(await store.listTags('disco:results:'), disco)
  assert.equal((await store.listTags('result:')).length, 2, purged.res.jobName)
})

test('IN-06 campaign finance: transforms, filter, two keysets; Q5 and Q1 decisions', async () => {
  const fields = ['cmte_id', 'cand_id', 'cand_nm', 'contbr_nm', 'contbr_city', 'contbr_st', 'contbr_zip',
    'contbr_employer', 'contbr_occupation', 'contb_receipt_amt', 'contb_receipt_dt', 'receipt_desc', 'memo_cd',
    'memo_text', 'form_tp', 'file_num']
  const row = (cand: string, name: string, occ: string, amt: string) =>
    ['C1', cand, name, 'X', 'CITY', 'ST', '1', 'EMP', occ, amt, '01-JAN-12', '', '', '', 'SA17A', '1']
      .map((v) => (/[,"]/.test(v) ? `"${v}"` : v)).join(',')
  const lines = [fields.join(','),
    row('P20002978', 'Bachmann, Michelle', 'RETIRED', '250'), row('P80003353', 'Romney, Mitt', 'RETIRED', '100'),
    row('P80003353', 'Romney, Mitt', 'Retired.', '50.5'), row('P80003338', 'Obama, Barack', 'ENGINEER', '25'),
    row('P80003338', 'Obama, Barack', 'RETIRED', '75.25'), row('P80003338', 'Obama, Barack', 'RETIRED', '-20'),
    row('P20002721', 'Santorum, Rick', '', '10')]
  const clean = (v: unknown) => String(v).replace(/\W+/g, ' ').trim().toLowerCase()
  const active = new Set(['P80003338', 'P80003353', 'P20002721'])
  const candidateFilter = (p: Parts) => (active.has(String(p.cand_id)) ? p : null)
  const rule = defineRule({
    name: 'presidential_2012', sourceTags: ['gov:chunk:presidential_campaign_finance'], csvFields: fields,
    fieldTransforms: { cand_nm: clean, contbr_occupation: clean }, partsPreprocess: [candidateFilter, count],
    keysets: {
      by_candidate: { keyParts: ['cand_nm'], valueParts: ['count', 'contb_receipt_amt'],
        columnMappings: { cand_nm: 'candidate', contb_receipt_amt: 'amount' } },
      by_occupation: { keyParts: ['contbr_occupation', 'cand_nm'], valueParts: ['count', 'contb_receipt_amt'],
        columnMappings: { cand_nm: 'candidate', contbr_occupation: 'occupation', count: 'count_occupation_candidate',
          contb_receipt_amt: 'amount' } },
    },
  })
  const store = await storeWith('gov:chunk:presidential_campaign_finance:2012-03-19', lines)
  const { out } = await runCapture(rule, { store })
  // Q1: amounts summed from CSV text print "10" and "25" (the original printed 10.0 and 25.0).
  const candidates = ['candidate,count,amount', 'obama barack,3,80.25', 'romney mitt,2,150.5', 'santorum rick,1,10']
  const occupations = ['occupation,candidate,count_occupation_candidate,amount', ',santorum rick,1,10',
    'engineer,obama barack,1,25', 'retired,obama barack,2,55.25', 'retired,romney mitt,2,150.5']
  assert.equal(out, crlf(...candidates, ...occupations))
  const { restrictKeyset } = await import('disco-inferno')
  assert.equal((await runCapture(restrictKeyset(rule, 'by_candidate')!, { store })).out, crlf(...candidates))
  assert.equal((await runCapture(restrictKeyset(rule, 'by_occupation')!, { store })).out, crlf(...occupations))
  // Q5: a rule-level post-processor next to keysets is an error instead of being silently dropped.
  assert.throws(() => defineRule({ keysets: { a: {} }, partsPostprocess: [() => null] }), { code: 'INFERNO_RULE_INVALID' })
})

test('IN-07 chained rules: the sub-rule feeds JSON records to the parent', async () => {
  const sub = defineRule({
    name: '__count_names', sourceTags: ['example:chunk:users'], mapInputStream: 'json', partsPreprocess: [count],
    keyParts: ['first', 'last'], valueParts: ['count'], reduceOutputStream: 'json', resultProcessor: null,
  })
  const parent = defineRule({
    name: 'count_names', sourceTags: [sub], mapInputStream: 'json', keyParts: ['first', 'last'], valueParts: ['count'],
    partitions: 2, resultTag: 'result:test:integration',
  })
  const store = await storeWith('example:chunk:users', D1_JSON)
  const { out, res } = await runCapture(parent, { store })
  assert.equal(res.status, 'done')
  assert.equal(res.urls.length > 0, true)
  assert.equal(out, crlf('first,last,count', 'Apu,Nahasapeemapetilon,1', 'Bart,Simpson,1', 'Herbert,Powell,1',
    'Homer,Simpson,1', 'Janey,Powell,1', 'Lisa,Simpson,1', 'Maggie,Simpson,1', 'Maggie,Términos,1',
    'Manjula,Nahasapeemapetilon,1', 'Marge,Simpson,1', 'Ruth,Powell,1', 'Sanjay,Nahasapeemapetilon,1'))
  assert.equal(res.resultTag, `result:test:integration:${res.jobName}`)
  // The sub-rule's saved records are JSON objects with _keyset and the raw names.
  const recs: unknown[] = []
  for (const b of await store.blobs(res.resultTag!)) for await (const l of store.readLines(b)) recs.push(JSON.parse(l))
  assert.equal(recs.length, 12)
  assert.deepEqual(recs.find((r) => (r as { first: string }).first === 'Homer'), { _keyset: '_default', first: 'Homer', last: 'Simpson', count: 1 })
  // Sub-jobs are purged at the end: only the parent's results tag remains... none, as it is purged too.
  assert.deepEqual(await store.listTags('disco:results:'), [])
  void MemoryStore
})

test('section 7: rule tree in waves, shared sub-rules once, cycles rejected', async () => {
  const { ruleWaves } = await import('disco-inferno')
  const leaf = defineRule({ name: 'leaf', sourceTags: ['t'] })
  const a = defineRule({ name: 'a', sourceTags: [leaf] })
  const b = defineRule({ name: 'b', sourceTags: [leaf, 'u'] })
  const top = defineRule({ name: 'top', sourceTags: [a, b, defineRule({ name: 'leaf', sourceTags: ['t'] })] })
  assert.deepEqual(ruleWaves(top).map((w) => w.map((r) => r.name)), [['leaf'], ['a', 'b'], ['top']])
  const self = defineRule({ name: 'loop', sourceTags: [defineRule({ name: 'loop' })] })
  assert.throws(() => ruleWaves(self), { code: 'INFERNO_RULE_INVALID' })
})
