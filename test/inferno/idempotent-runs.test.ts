// Duplicated results (issue 10): a run killed at any stage and run again counts each input once —
// the run journal resumes it over the same inputs, its result blob is published under its result
// tag once, archiving is idempotent — and the daemon reruns a killed run when its lease expires
// (not at the next schedule slot) and logs the restart. Kills are made deterministic with the
// runner's stage hook.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineRule, inlineEngine, memoryJournal, MemoryStore, runRule, type RunStage } from 'disco-inferno'
import { InfernoDaemon, StateDir, type DaemonOutcome } from '#src/inferno/daemon/index.js'
import { daemonRule } from './helpers.js'

const STAGES: RunStage[] = ['selected', 'job', 'saved', 'tagged', 'processed', 'archived']
const count = (p: Record<string, unknown>) => ({ ...p, n: 1 })

/** Five blobs of 100 records each under incoming:data, keys k0..k4. */
async function fixture(): Promise<MemoryStore> {
  const s = new MemoryStore()
  for (let b = 0; b < 5; b++) {
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ k: `k${(b + i) % 5}`, i }))
    await s.append('incoming:data', [await s.putLines(`in${b}`, lines)])
  }
  return s
}

const rule = defineRule({
  name: 'tally', sourceTags: ['incoming:data'], mapInputStream: 'json', partsPreprocess: [count],
  keyParts: ['k'], valueParts: ['n'], resultTag: 'result:tally', archive: true,
})

/** The total of `n` over every result blob under result:tally*. */
async function published(s: MemoryStore): Promise<number> {
  let total = 0
  for (const tag of await s.listTags('result:tally')) {
    for (const b of await s.blobs(tag)) for await (const l of s.readLines(b)) total += (JSON.parse(l) as { n: number }).n
  }
  return total
}

for (const stage of STAGES) {
  test(`killed after "${stage}", then run again: each of the 500 inputs is counted once`, async () => {
    const store = await fixture()
    const journal = memoryJournal()
    const opts = { store, engine: inlineEngine, journal, out: () => {} }
    const killed = await runRule(rule, { ...opts, onStage: (s: RunStage) => { if (s === stage) throw new Error(`killed after ${s}`) } })
    assert.equal(killed.status, 'failed')
    assert.equal(journal.entries.size, 1, 'the killed run left its journal entry')
    const logs: string[] = []
    const again = await runRule(rule, { ...opts, log: (m) => logs.push(m) })
    assert.equal(again.status, 'done', again.reason)
    assert.equal(again.records, 500)
    assert.ok(logs.some((l) => l.includes('resuming run')), logs.join('\n'))
    assert.equal(journal.entries.size, 0, 'a finished run clears its entry')
    assert.equal(await published(store), 500)
    assert.equal((await store.listTags('result:tally')).length, 1, 'one result tag')
    assert.equal((await store.blobs('processed:data')).length, 5)
    // Nothing new: the next run has no blobs to process and publishes nothing more.
    const third = await runRule(rule, opts)
    assert.equal(third.status, 'skipped')
    assert.equal(await published(store), 500)
  })
}

test('without a journal (the old behaviour) a kill after tagging counts the inputs twice', async () => {
  const store = await fixture()
  const opts = { store, engine: inlineEngine, out: () => {} }
  await runRule(rule, { ...opts, onStage: (s: RunStage) => { if (s === 'tagged') throw new Error('killed') } })
  await runRule(rule, opts)
  assert.equal(await published(store), 1000)
})

test('the daemon reruns a killed run when its lease expires, not at the next slot, and logs the restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-idem-'))
  try {
    let t = Date.parse('2026-11-20T10:00:00Z')
    const now = () => new Date(t)
    const dr = daemonRule('m.tally', { timeDelta: { days: 1 } })
    // A daemon that is killed -9 while the run holds its lease: the lease is never released.
    const dead = new StateDir(dir, now)
    assert.ok(dead.acquire('m.tally', 60_000))
    dead.writeDate('m.tally', 'last_run', now())
    const logs: string[] = []
    const runs: string[] = []
    const d = new InfernoDaemon({
      rules: [dr], state: new StateDir(dir, now), now, leaseMs: 60_000, log: (l) => logs.push(l),
      execute: async (_r, journal): Promise<DaemonOutcome> => { runs.push(typeof journal.read); return { status: 'done' } },
    })
    assert.equal(await d.shouldRun(d['rules'][0]!), false, 'not while the lease is live')
    t += 61_000
    assert.equal(await d.shouldRun(d['rules'][0]!), true, 'due once the lease expired, a day before the next slot')
    await Promise.all(await d.sweep())
    assert.deepEqual(runs, ['function'])
    assert.ok(logs.some((l) => /m\.tally: restarting: the run started .* ended without finishing/.test(l)), logs.join('\n'))
    t += 60_000
    assert.equal(await d.shouldRun(d['rules'][0]!), false, 'after the rerun completed, the schedule decides again')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the state directory journal survives a new process (a file per rule)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-idem-'))
  try {
    const j = new StateDir(dir).journal('m.tally')
    assert.equal(await j.read('tally'), undefined)
    await j.write('tally', { run: 'tally@1', tags: [['incoming:data', [['mem://blob/a']]]] })
    assert.deepEqual(await new StateDir(dir).journal('m.tally').read('tally'), { run: 'tally@1', tags: [['incoming:data', [['mem://blob/a']]]] })
    await j.clear('tally')
    assert.equal(await j.read('tally'), undefined)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
