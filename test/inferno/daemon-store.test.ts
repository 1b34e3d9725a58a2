// The daemon's rule state in a job store (StoreRuleState; what a daemon on a cluster store uses),
// here over the embedded job store with an injected clock: two daemons share one lease per rule,
// the schedule and the run journal; a dead daemon's lease expires and the other takes over.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JobRegistry } from '#src/disco/registry.js'
import { LocalJobStore } from '#src/disco/local-jobstore.js'
import { InfernoDaemon, StateDir, StoreRuleState, type DaemonOutcome } from '#src/inferno/daemon/index.js'
import { daemonRule } from './helpers.js'

test('two daemons over one job store: one lease per rule, shared schedule and journal, takeover after expiry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-daemon-store-'))
  try {
    let t = Date.parse('2026-11-20T10:00:00Z')
    const now = () => t
    const registry = () => new JobRegistry(new LocalJobStore(join(dir, 'jobs')), { now })
    const a = new StoreRuleState(registry(), 'host-a:1:aa')
    const b = new StoreRuleState(registry(), 'host-b:2:bb')
    // Leases: exclusive, also against a second claim of the holder; renewed by the holder only.
    const lease = await a.acquire('m.r', 60_000)
    assert.equal(lease?.owner, 'host-a:1:aa')
    assert.equal(lease?.host, 'host-a')
    assert.equal(lease?.pid, 1)
    assert.equal(await b.acquire('m.r', 60_000), null)
    assert.equal(await a.acquire('m.r', 60_000), null, 'a second claim by the holder fails while live')
    assert.equal(await b.renew('m.r', 60_000), false)
    t += 50_000
    assert.equal(await a.renew('m.r', 60_000), true)
    t += 50_000
    assert.equal(await b.acquire('m.r', 60_000), null, 'renewed: still held')
    // Dates, retry counts and the journal are seen by both.
    await a.writeDate('m.r', 'last_run', new Date(t), 'note')
    assert.equal((await b.readDate('m.r', 'last_run'))?.getTime(), Math.floor(t / 1000) * 1000)
    await a.setRetryCount('m.r', 2)
    assert.equal(await b.retryCount('m.r'), 2)
    await b.remove('m.r', 'retry_count')
    assert.equal(await a.retryCount('m.r'), 0)
    await a.journal('m.r').write('r', { run: 'r@1', tags: [['incoming:x', [['raw://a']]]] })
    assert.deepEqual(await b.journal('m.r').read('r'), { run: 'r@1', tags: [['incoming:x', [['raw://a']]]] })
    // a dies: its lease expires; b sees who held it, and takes over.
    t += 61_000
    assert.equal((await b.readLease('m.r'))?.owner, 'host-a:1:aa', 'an expired lease still names its holder')
    const logs: string[] = []
    const runs: (string | undefined)[] = []
    const d = new InfernoDaemon({
      rules: [daemonRule('m.r', { timeDelta: { days: 1 } })], state: new StateDir(join(dir, 'state-b')), ruleState: b,
      now: () => new Date(t), leaseMs: 60_000, log: (l) => logs.push(l),
      execute: async (_r, journal): Promise<DaemonOutcome> => { runs.push((await journal.read('r'))?.run); await journal.clear('r'); return { status: 'done' } },
    })
    assert.equal(await d.shouldRun(d['rules'][0]!), true, 'an expired lease: run again now')
    await Promise.all(await d.sweep())
    assert.deepEqual(runs, ['r@1'], 'the run resumed from the dead daemon\'s journal')
    assert.ok(logs.some((l) => /m\.r: restarting: the run started .* by host-a:1:aa ended without finishing/.test(l)), logs.join('\n'))
    assert.equal(await a.readLease('m.r'), null, 'released after the run')
    assert.ok(await a.readDate('m.r', 'last_complete'), 'the other daemon sees the completion')
    assert.equal(await a.journal('m.r').read('r'), undefined)
    // The shared schedule: a's daemon does not run the rule again before it is due.
    const da = new InfernoDaemon({ rules: [daemonRule('m.r', { timeDelta: { days: 1 } })], state: new StateDir(join(dir, 'state-a')), ruleState: a, now: () => new Date(t), log: () => {}, execute: async () => ({ status: 'done' }) })
    assert.equal(await da.shouldRun(da['rules'][0]!), false)
    // While one daemon holds the rule, the other logs the holder once and does not start it.
    await a.acquire('m.r', 60_000)
    logs.length = 0
    assert.equal(await d.shouldRun(d['rules'][0]!), false)
    assert.equal(await d.shouldRun(d['rules'][0]!), false)
    assert.equal(logs.filter((l) => /m\.r: held by another daemon \(host-a:1:aa/.test(l)).length, 1)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
