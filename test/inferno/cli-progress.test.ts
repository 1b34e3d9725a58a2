// The TTY progress line of `inferno -i`: blobs, records, records/s, bad lines, stage.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { progressLine, stageTimer } from '#src/cli/inferno.js'
import { newJobStats, runOutcome as outcomeOf } from 'disco-inferno'

test('progress line draws blobs, records/s and bad lines only when enabled', () => {
  const writes: string[] = []
  const orig = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write
  try {
    const on = progressLine('clicks.traffic', true)
    on.onProgress({ rule: 'traffic', stage: 'map', blobsDone: 3, blobsTotal: 8, records: 1_234_567, badLines: 2 })
    on.done()
    const off = progressLine('x', false)
    off.onProgress({ rule: 'x', stage: 'map', blobsDone: 1, blobsTotal: 1, records: 1, badLines: 0 })
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
