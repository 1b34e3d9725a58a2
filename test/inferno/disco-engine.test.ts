// Rules on the Disco engine over a DDFS store: workers import the rule module by path.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ddfs, JobRegistry, LocalBlobStore, LocalJobStore, LocalTagStore, ddfsStore, discoEngine, findRules, inlineEngine, jobInfo, openLocalStores, runRule, type DiscoStores, toArray, type RunOptions, type RunProgress } from 'disco-inferno'
import { crlf, D1_JSON } from './helpers.js'

const RULES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rules')

async function withStore(fn: (store: ReturnType<typeof ddfsStore>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-disco-'))
  try {
    const stores = openLocalStores(dir)
    const store = ddfsStore(stores.ddfs, stores)
    await store.append('example:chunk:users', [await store.putLines('users-0', D1_JSON.slice(0, 6))])
    await store.append('example:chunk:users', [await store.putLines('users-1', D1_JSON.slice(6))])
    await fn(store)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function run(address: string, opts: Omit<RunOptions, 'out'>) {
  const [rule] = await findRules(RULES, address)
  assert.ok(rule, address)
  let out = ''
  const res = await runRule(rule, { ...opts, out: (s) => { out += s } })
  return { res, out }
}

test('IN-01 on Disco (worker pool, default engine for module rules on DDFS)', async () => {
  await withStore(async (store) => {
    const { res, out } = await run('names.last_names_json', { store })
    assert.equal(res.status, 'done', res.reason)
    assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,5', 'Términos,1'))
    assert.match(res.jobName, /^last_names_json@/)
    assert.equal(res.records, 12)
    assert.equal(res.blobs, 2)
  })
})

test('IN-04/IN-19 on Disco in-process: two keysets, error isolation, result tag, archiving', async () => {
  await withStore(async (store) => {
    const { res, out } = await run('names.first_and_last', { store, engine: discoEngine({ executor: 'in-process' }), noPurge: true })
    assert.equal(res.status, 'done', res.reason)
    assert.equal(out, crlf('first,count', 'Apu,1', 'Bart,1', 'Herbert,1', 'Janey,1', 'Lisa,1', 'Maggie,2',
      'Manjula,1', 'Marge,1', 'Ruth,1', 'Sanjay,1', 'last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,4', 'Términos,1'))
    assert.equal(res.mapErrors.errors, 1)
    assert.match(res.mapErrors.errorSample[0]!, /no Homer/)
    assert.equal(res.resultTag, `result:names:${res.jobName}`)
    assert.deepEqual(await store.listTags('processed:'), ['processed:chunk:users'])
    assert.equal((await store.blobs('processed:chunk:users')).length, 2)
    const saved: unknown[] = []
    for (const b of await store.blobs(res.resultTag!)) for await (const l of store.readLines(b)) saved.push(JSON.parse(l))
    assert.equal(saved.length, 14) // 10 first names (Homer dropped) + 4 last names
    // Archived blobs are not read again.
    const again = await run('names.first_and_last', { store, engine: discoEngine({ executor: 'in-process' }) })
    assert.equal(again.res.status, 'skipped')
    // A new blob is picked up alone; a keyset address restricts the job to that keyset.
    await store.append('example:chunk:users', [await store.putLines('users-2', ['{"first":"Ned","last":"Flanders"}'])])
    const one = await run('names.first_and_last.last_name_keyset', { store, engine: discoEngine({ executor: 'in-process' }) })
    assert.equal(one.res.status, 'done', one.res.reason)
    assert.equal(one.res.blobs, 1)
    assert.equal(one.out, crlf('last,count', 'Flanders,1'))
  })
})

test('IN-07 chained rules on Disco: the sub-rule runs first and feeds its records', async () => {
  await withStore(async (store) => {
    const { res, out } = await run('names.count_names', { store, engine: discoEngine({ executor: 'in-process' }) })
    assert.equal(res.status, 'done', res.reason)
    assert.equal(out, crlf('first,last,count', 'Apu,Nahasapeemapetilon,1', 'Bart,Simpson,1', 'Herbert,Powell,1',
      'Homer,Simpson,1', 'Janey,Powell,1', 'Lisa,Simpson,1', 'Maggie,Simpson,1', 'Maggie,Términos,1',
      'Manjula,Nahasapeemapetilon,1', 'Marge,Simpson,1', 'Ruth,Powell,1', 'Sanjay,Nahasapeemapetilon,1'))
    assert.deepEqual(await store.listTags('disco:results:'), []) // sub-job results purged
  })
})

test('Q14 on Disco: exact integer sums beyond 2^53 across partitions and tasks', async () => {
  await withStore(async (store) => {
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ k: `k${i % 4}`, v: 9007199254740991 - i }))
    for (let b = 0; b < 4; b++) await store.append('big:1', [await store.putLines(`big-${b}`, lines.slice(b * 10, b * 10 + 10))])
    const { res } = await run('names.big', { store, engine: discoEngine({ executor: 'in-process' }), noPurge: true })
    assert.equal(res.status, 'done', res.reason)
    const rows = await toArray(res.results)
    const purged = await run('names.big', { store, engine: discoEngine({ executor: 'in-process' }) })
    await assert.rejects(toArray(purged.res.results), { code: 'INFERNO_RESULTS_PURGED' })
    const expect = [0, 1, 2, 3].map((m) => {
      let s = 0n
      for (let i = m; i < 40; i += 4) s += 9007199254740991n - BigInt(i)
      return [['_default', `k${m}`], [s]]
    })
    assert.deepEqual(rows, expect)
  })
})

test('partitionFunction and progress on Disco (worker pool capped by scheduler.maxCores default)', async () => {
  await withStore(async (store) => {
    const seen: RunProgress[] = []
    const { res, out } = await run('names.last_partition', { store, onProgress: (p) => seen.push(p), noPurge: true })
    assert.equal(res.status, 'done', res.reason)
    const info = await jobInfo(store.disco!, res.jobName)
    assert.equal(info.results?.length, 1) // one non-empty partition: the last
    assert.match(info.results![0]!, /4/)
    assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,5', 'Términos,1'))
    const last = seen.at(-1)!
    assert.equal(last.stage, 'done')
    assert.equal(last.blobsDone, 2)
    assert.equal(last.blobsTotal, 2)
    assert.equal(last.records, 12)
    assert.ok(seen.some((p) => p.stage === 'map'))
  })
})

test('-D on Disco: the tasks\' debug lines reach the log', async () => {
  await withStore(async (store) => {
    const logs: string[] = []
    const { res } = await run('names.last_names_json', { store, discoDebug: true, log: (m) => logs.push(m), engine: discoEngine({ executor: 'in-process' }) })
    assert.equal(res.status, 'done', res.reason)
    assert.ok(logs.some((l) => l.includes('input: {"first":"Homer","last":"Simpson"}')), logs.slice(0, 5).join('\n'))
    assert.ok(logs.some((l) => l.includes('emit: ["_default","Simpson"] [1]')))
    assert.ok(logs.some((l) => l.includes('reduce: [["_default","Simpson"],[5]]')))
  })
})

test('params on Disco: ruleInitFunction and -P values reach the workers; raw:// source URLs', async () => {
  await withStore(async (store) => {
    const { res, out } = await run('names.with_params', { store, params: { weight: 10 }, engine: discoEngine({ executor: 'in-process' }) })
    assert.equal(res.status, 'done', res.reason)
    assert.equal(res.blobs, 1)
    assert.deepEqual([res.records, res.badLines, res.mapErrors.errors, res.mapErrors.errorSample], [3, 0, 0, []])
    assert.equal(out, crlf('family,count', 'other,10', 'yellow,10'))
  })
})

test('the in-process engine over the same DDFS store gives the same results', async () => {
  await withStore(async (store) => {
    for (const engine of [inlineEngine, discoEngine({ executor: 'in-process' })]) {
      const { res, out } = await run('names.with_params', { store, engine })
      assert.equal(res.status, 'done', res.reason)
      assert.equal(out, crlf('family,count', 'other,1', 'yellow,1'))
      const r2 = await run('names.first_and_last.first_name_keyset', { store, engine, debug: true })
      assert.equal(r2.out.split('\r\n')[0], 'first_name_keyset,Apu,1') // debug rows: whole key, no header
    }
  })
})

test('the Disco engine runs on any DDFS: adapters without a directory, stores given as objects', async () => {
  const root = mkdtempSync(join(tmpdir(), 'inferno-any-'))
  try {
    const ddfs = new Ddfs({ tags: new LocalTagStore(join(root, 'tags-here')), blobs: new LocalBlobStore(join(root, 'blobs-there')) })
    assert.equal(ddfs.dir, undefined)
    const stores: DiscoStores = {
      ref: 'memory-of-this-test', ddfs,
      jobs: new JobRegistry(new LocalJobStore(join(root, 'state'))),
      data: new LocalBlobStore(join(root, 'data'), { urlPrefix: 'test://data/', durable: false }),
    }
    const store = ddfsStore(ddfs, stores)
    await store.append('example:chunk:users', [await store.putLines('users-0', D1_JSON.slice(0, 6))])
    await store.append('example:chunk:users', [await store.putLines('users-1', D1_JSON.slice(6))])
    const { res, out } = await run('names.last_names_json', { store, engine: discoEngine({ executor: 'in-process' }), noPurge: true })
    assert.equal(res.status, 'done', res.reason)
    assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,5', 'Términos,1'))
    assert.equal(res.records, 12)
    assert.equal((await jobInfo(stores, res.jobName)).status, 'ready')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
