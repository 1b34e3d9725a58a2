// The TTY progress line of `inferno -i`: blobs, records, records/s, bad lines, stage.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { progressFraction, progressLine, stageTimer } from '#src/cli/inferno.js'
import {
  ddfsStore, defineRule, discoEngine, findRules, inlineEngine, MemoryStore, newJobStats, openLocalStores, runOutcome as outcomeOf, runRule, type RunProgress,
} from 'disco-inferno'

const RULES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rules')

test('progress line draws blobs, records/s and bad lines only when enabled', () => {
  const writes: string[] = []
  const orig = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write
  try {
    const on = progressLine('clicks.traffic', true)
    on.onProgress({ rule: 'traffic', stage: 'map', blobsDone: 3, blobsTotal: 8, records: 1_234_567, badLines: 2, bytesDone: 0, bytesTotal: undefined })
    on.done()
    const off = progressLine('x', false)
    off.onProgress({ rule: 'x', stage: 'map', blobsDone: 1, blobsTotal: 1, records: 1, badLines: 0, bytesDone: 0, bytesTotal: undefined })
    off.done()
  } finally {
    process.stderr.write = orig
  }
  assert.equal(writes.length, 2, 'one redraw and one clear; nothing when disabled')
  assert.match(writes[0]!, /^\r\x1b\[2Kclicks\.traffic \[#########\.+\] 37% 3\/8 blobs · 1\.2M rec · [\d.]+[kM]? rec\/s · 2 bad · map /)
  assert.equal(writes[1], '\r\x1b[2K')
})

test('run results map onto daemon outcomes', () => {
  const base = { rule: 'r', jobName: 'r@1:0', prefixes: [], tags: new Map(), urls: [], blobs: 2, records: 10, badLines: 0, badSample: [], mapErrors: { errors: 0, errorSample: [] }, reduceErrors: { errors: 0, errorSample: [] }, stats: newJobStats(), warnings: [], results: (async function* () {})(), resultBlobs: [], archived: [], ms: 1500 }
  assert.deepEqual(outcomeOf({ ...base, status: 'done' }), { status: 'done', job: 'r@1:0', message: '2 blob(s), 10 records in 1.5s' })
  assert.deepEqual(outcomeOf({ ...base, status: 'skipped', reason: 'not enough blobs' }), { status: 'skipped', job: 'r@1:0', message: 'not enough blobs' })
  assert.equal(outcomeOf({ ...base, status: 'failed', reason: 'x' }).message, 'x')
})

test('-p stage timer: one span per stage, repeated notes merge', () => {
  let t = 0
  const timer = stageTimer(() => t)
  timer.note('select')
  t = 10
  timer.note('map')
  t = 510
  timer.note('map')
  t = 2510
  timer.note('process')
  t = 2520
  timer.note('done')
  assert.equal(timer.report(), 'select 0.01s · map 2.50s · process 0.01s')
  assert.equal(stageTimer().report(), '(no stages)')
})

/** `n` JSON lines of about 100 bytes each. */
function bigLines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ first: `F${i % 97}`, last: `L${i % 13}`, pad: 'x'.repeat(60) }))
}

test('progress counts bytes inside one big input on the Disco engine: the bar moves before the blob is done', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-progress-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const stores = openLocalStores(dir)
  const store = ddfsStore(stores.ddfs, stores)
  const blob = await store.putLines('users-0', bigLines(50_000))
  await store.append('example:chunk:users', [blob])
  const [rule] = await findRules(RULES, 'names.last_names_json')
  assert.ok(rule)
  const seen: RunProgress[] = []
  const r = await runRule(rule, { store, engine: discoEngine({ executor: 'in-process' }), out: () => {}, onProgress: (p) => seen.push(p) })
  assert.equal(r.status, 'done', r.reason)
  const size = await stores.ddfs.blobSize(blob)
  assert.ok(size !== undefined && size > 4_000_000, `blob size ${size}`)
  assert.ok(seen.filter((p) => p.stage !== 'select').every((p) => p.bytesTotal === size), 'the total is the stored size of the one input')
  const mid = seen.filter((p) => p.stage === 'map' && p.blobsDone === 0 && p.bytesDone > 0 && p.bytesDone < size)
  assert.ok(mid.length > 0, `a progress report inside the blob: ${JSON.stringify(seen.map((p) => [p.stage, p.blobsDone, p.bytesDone]))}`)
  const [done, total] = progressFraction(mid[0]!)
  assert.ok(done > 0 && done < total, 'the bar is past 0 % while the only blob is being read')
  assert.equal(Math.max(...seen.map((p) => p.bytesDone)), size, 'every stored byte was counted once')
  // The stages in order (what `-p` times): the Disco engine says when its reduce phase begins.
  assert.deepEqual(seen.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1]), ['select', 'map', 'reduce', 'process', 'done'])
})

test('progress counts bytes on the in-process engine too (a memory store knows its blob sizes)', async () => {
  const store = new MemoryStore()
  await store.append('t', [await store.putLines('big', bigLines(5000))])
  const rule = defineRule({ name: 'p', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['last'] })
  const seen: RunProgress[] = []
  const r = await runRule(rule, { store, engine: inlineEngine, out: () => {}, onProgress: (p) => seen.push(p) })
  assert.equal(r.status, 'done', r.reason)
  const total = seen[seen.length - 1]!.bytesTotal!
  assert.ok(seen.some((p) => p.blobsDone === 0 && p.bytesDone > 0 && p.bytesDone < total), 'a report inside the blob')
  assert.equal(Math.max(...seen.map((p) => p.bytesDone)), total)
  assert.deepEqual(progressFraction({ ...seen[0]!, blobsDone: 0, blobsTotal: 1, bytesDone: total / 2, bytesTotal: total }), [5000, 10_000])
})
