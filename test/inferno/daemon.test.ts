// DM-01, DM-02 and the rest of §11: schedules, leases (Q7), retries, skipped runs (Q13), stop, pause.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InfernoDaemon, StateDir, isDue, parseTimeDelta, formatStamp, type DaemonOutcome } from '#src/inferno/daemon/index.js'
import { daemonRule } from './helpers.js'
import type { JobReport, Notifier } from '#src/inferno/notify/index.js'

/** A controllable clock. */
function clock(iso: string) {
  let t = Date.parse(iso)
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms), set: (s: string) => void (t = Date.parse(s)) }
}

function withDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferno-daemon-'))
    try {
      await fn(dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const H = 3_600_000
const quiet = () => {}

test('DM-01 leases: create, exclusive, release; listing shows {pid, started, rule}', withDir((dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const s = new StateDir(dir, c.now)
  const lease = s.acquire('names.count', 60_000)
  assert.ok(lease, 'first claim succeeds')
  assert.equal(lease.pid, process.pid)
  assert.equal(s.acquire('names.count', 60_000), null, 'second claim (even by this process) fails while live')
  assert.equal(new StateDir(dir, c.now).acquire('names.count', 60_000), null, 'another owner cannot claim')
  assert.deepEqual(s.running().map((l) => [l.rule, l.pid, l.started]), [['names.count', process.pid, '2026-11-20T10:00:00.000Z']])
  s.release('names.count')
  assert.equal(s.has('names.count', 'lease'), false)
  s.release('names.count') // releasing twice is harmless (the original raised; nothing depends on that)
  assert.throws(() => s.acquire('../evil', 1000), { code: 'INFERNO_RULE_INVALID' })
}))

test('DM-01 / Q7: a lease whose holder died expires, so the rule is not blocked forever', withDir((dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const dead = new StateDir(dir, c.now)
  assert.ok(dead.acquire('r.x', 60_000)) // the holder is then "killed -9": never releases
  const other = new StateDir(dir, c.now)
  assert.equal(other.acquire('r.x', 60_000), null)
  c.advance(59_000)
  assert.equal(other.acquire('r.x', 60_000), null, 'still live after 59 s')
  assert.ok(dead.renew('r.x', 60_000), 'the holder renews')
  c.advance(59_000)
  assert.equal(other.acquire('r.x', 60_000), null, 'renewed lease is live')
  c.advance(2_000)
  const taken = other.acquire('r.x', 60_000)
  assert.ok(taken, 'expired lease is taken over')
  assert.equal(taken.owner, other.owner)
  assert.equal(dead.renew('r.x', 60_000), false, 'the old holder learns it lost the lease')
  dead.release('r.x')
  assert.ok(other.isLeased('r.x'), "the old holder cannot release the new holder's lease")
}))

test('DM-01 should_run: lock wins over schedule; no files → run', withDir(async (dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const s = new StateDir(dir, c.now)
  const d = new InfernoDaemon({ rules: [], state: s, execute: async () => ({ status: 'done' }), now: c.now, log: quiet })
  const rule = daemonRule('m.r', { timeDelta: { minutes: 5 } })
  assert.equal(await d.shouldRun(rule), true, 'no files')
  s.acquire('m.r', 60_000)
  s.writeDate('m.r', 'last_run')
  assert.equal(await d.shouldRun(rule), false, 'lease + fresh last run')
  s.writeDate('m.r', 'last_run', new Date(0))
  assert.equal(await d.shouldRun(rule), false, 'lease + epoch last run: the lock wins')
  s.release('m.r')
  assert.equal(await d.shouldRun(rule), true, 'no lease + epoch last run')
}))

test('DM-01 date files: new file is "old", touched 3 s ago, oclock', withDir((dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const s = new StateDir(dir, c.now)
  assert.ok(s.olderThan('m.r', 'last_run', 2_000))
  assert.ok(s.olderThan('m.r', 'last_run', 2 * 86_400_000))
  assert.ok(!s.olderThan('m.r', 'last_run', 73_000 * 86_400_000))
  s.writeDate('m.r', 'last_run', new Date(c.now().getTime() - 3_000))
  assert.ok(s.olderThan('m.r', 'last_run', 2_000))
  assert.ok(!s.olderThan('m.r', 'last_run', 5 * 60_000))
  assert.equal(readFileSync(join(dir, 'm.r.last_run'), 'utf8'), '2026-11-20 09:59:57\n')
  // {oclock: H}: last run 26 h ago → due at H now, not due for H+1.
  const now = new Date('2026-11-20T10:30:00Z')
  const last26 = new Date(now.getTime() - 26 * H)
  assert.equal(isDue({ oclock: 10 }, last26, now), true)
  assert.equal(isDue({ oclock: 11 }, last26, now), false)
  // Last run 1 h ago today → not due.
  assert.equal(isDue({ oclock: 9 }, new Date(now.getTime() - H), now), false)
}))

test('schedules: intervals start-to-start, weekday (default 04:00) once on that day, validation', () => {
  const last = new Date('2026-11-20T10:00:00Z')
  assert.equal(isDue({ minutes: 5 }, last, new Date('2026-11-20T10:05:00Z')), false, 'strictly after the delta')
  assert.equal(isDue({ minutes: 5 }, last, new Date('2026-11-20T10:05:01Z')), true)
  assert.equal(isDue({ hours: 1, minutes: 30 }, last, new Date('2026-11-20T11:31:00Z')), true)
  assert.equal(isDue({ days: 1 }, last, new Date('2026-11-21T09:59:00Z')), false)
  assert.equal(isDue({ minutes: 5 }, new Date(0), last), true, 'never run = epoch')
  const monday = parseTimeDelta({ weekday: 'Monday' })
  assert.deepEqual(monday, { weekday: 'monday', oclock: 4 })
  // 2026-11-23 is a Monday.
  assert.equal(isDue(monday, new Date('2026-11-16T05:00:00Z'), new Date('2026-11-23T03:59:00Z')), false, 'before 04:00')
  assert.equal(isDue(monday, new Date('2026-11-16T05:00:00Z'), new Date('2026-11-23T04:00:00Z')), true)
  assert.equal(isDue(monday, new Date('2026-11-23T04:00:00Z'), new Date('2026-11-23T20:00:00Z')), false, 'once that day')
  assert.equal(isDue(monday, new Date('2026-11-16T05:00:00Z'), new Date('2026-11-24T05:00:00Z')), false, 'only on monday')
  const fri = parseTimeDelta({ weekday: 'friday', oclock: 18 })
  assert.equal(isDue(fri, new Date('2026-11-13T19:00:00Z'), new Date('2026-11-20T17:00:00Z')), false)
  assert.equal(isDue(fri, new Date('2026-11-13T19:00:00Z'), new Date('2026-11-20T18:00:00Z')), true)
  assert.deepEqual(parseTimeDelta(undefined), { minutes: 5 })
  for (const bad of [{ fortnights: 1 }, { minutes: -1 }, { oclock: 24 }, { weekday: 'funday' }, { minutes: 5, oclock: 3 }, {}, 'daily', [1]]) {
    assert.throws(() => parseTimeDelta(bad), { code: 'INFERNO_SCHEDULE_INVALID' }, JSON.stringify(bad))
  }
})

class Recorder implements Notifier {
  reports: JobReport[] = []
  async notify(r: JobReport) {
    this.reports.push(r)
  }
}

test('DM-02 retry flow: limit 2, delay 1 h; success clears; failed file is informational', withDir(async (dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const s = new StateDir(dir, c.now)
  const notes = new Recorder()
  let outcome: DaemonOutcome = { status: 'failed', message: 'boom' }
  const rule = daemonRule('m.daily', { timeDelta: { days: 1 }, retry: true, retryLimit: 2, retryDelay: 1, notifyOnFail: true })
  const d = new InfernoDaemon({ rules: [rule], state: s, execute: async () => outcome, notifier: notes, now: c.now, log: quiet })
  const sweep = async () => (await Promise.all(await d.sweep())).length

  assert.equal(await sweep(), 1)
  assert.equal(s.retryCount('m.daily'), 1)
  assert.equal(formatStamp(s.readDate('m.daily', 'next_retry')!), '2026-11-20 11:00:00')
  assert.equal(notes.reports[0]!.retryInHours, 1)
  assert.equal(await sweep(), 0, 'not before next_retry')
  c.advance(H)
  assert.equal(await sweep(), 1, 'the retry fires before the daily schedule')
  assert.equal(s.retryCount('m.daily'), 2)
  assert.equal(formatStamp(s.readDate('m.daily', 'next_retry')!), '2026-11-20 12:00:00')
  c.advance(H)
  assert.equal(await sweep(), 1)
  assert.equal(s.retryCount('m.daily'), 2, 'stays at the limit')
  assert.ok(s.has('m.daily', 'failed'))
  assert.equal(s.has('m.daily', 'next_retry'), false)
  assert.equal(notes.reports[2]!.retryInHours, undefined, 'no retry promised on the last failure')
  c.advance(H)
  assert.equal(await sweep(), 0, 'no more retries; the daily schedule is not due')
  c.set('2026-11-21T12:00:01Z')
  assert.equal(await sweep(), 1, 'the normal schedule keeps running after `failed`')
  assert.equal(s.has('m.daily', 'next_retry'), false, 'later failures go straight to failed')
  outcome = { status: 'done' }
  c.set('2026-11-22T12:00:02Z')
  assert.equal(await sweep(), 1)
  for (const k of ['retry_count', 'next_retry', 'failed'] as const) assert.equal(s.has('m.daily', k), false, k)
  assert.ok(s.has('m.daily', 'last_complete'))
  assert.equal(s.has('m.daily', 'lease'), false, 'lease released')
  assert.deepEqual(notes.reports.map((r) => r.status), ['failed', 'failed', 'failed', 'failed', 'done'])
}))

test('Q13: a skipped run (not enough blobs) is not a failure: no retry, no notification', withDir(async (dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const s = new StateDir(dir, c.now)
  const notes = new Recorder()
  const d = new InfernoDaemon({
    rules: [daemonRule('m.r', { retry: true, notifyOnFail: true, notifyOnSuccess: true })],
    state: s, notifier: notes, now: c.now, log: quiet,
    execute: async () => ({ status: 'skipped', message: 'not enough blobs: 1 required, has 0' }),
  })
  await Promise.all(await d.sweep())
  assert.equal(s.retryCount('m.r'), 0)
  assert.equal(s.has('m.r', 'next_retry'), false)
  assert.equal(s.has('m.r', 'failed'), false)
  assert.equal(s.has('m.r', 'last_complete'), false)
  assert.match(readFileSync(join(dir, 'm.r.last_skipped'), 'utf8'), /not enough blobs: 1 required, has 0/)
  assert.deepEqual(notes.reports, [])
}))

test('one instance per rule; run:false never starts; a throwing execute is a failure', withDir(async (dir) => {
  const c = clock('2026-11-20T10:00:00Z')
  const s = new StateDir(dir, c.now)
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  let starts = 0
  const d = new InfernoDaemon({
    rules: [daemonRule('m.slow', { timeDelta: { seconds: 1 } }), daemonRule('m.off', { run: false }), daemonRule('m.bad', { timeDelta: { days: 1 } })],
    state: s, now: c.now, log: quiet,
    execute: async (r) => {
      if (r.qualifiedName === 'm.bad') throw new Error('rule exploded')
      starts++
      await gate
      return { status: 'done' }
    },
  })
  const first = await d.sweep()
  assert.equal(first.length, 2)
  c.advance(5_000)
  assert.equal((await d.sweep()).length, 0, 'm.slow still running; m.bad not due')
  await new Promise((r) => setImmediate(r)) // let m.bad's failure settle
  assert.deepEqual(d.running(), ['m.slow'])
  assert.equal(new StateDir(dir, c.now).acquire('m.slow', 1000), null, 'another daemon cannot start it either')
  release()
  const outs = await Promise.all(first)
  assert.deepEqual(outs.map((o) => o?.status).sort(), ['done', 'failed'])
  assert.equal(starts, 1)
  assert.equal(s.has('m.off', 'last_run'), false)
}))

test('graceful stop waits for running jobs; pause/resume through the state directory', withDir(async (dir) => {
  const s = new StateDir(dir)
  let finished = false
  const d = new InfernoDaemon({
    rules: [daemonRule('m.r', { timeDelta: { days: 1 } })], state: s, sweepMs: 5, log: quiet,
    execute: async () => {
      await new Promise((r) => setTimeout(r, 50))
      finished = true
      return { status: 'done' }
    },
  })
  d.start()
  for (let i = 0; i < 400 && d.running().length === 0; i++) await new Promise((r) => setTimeout(r, 5)) // the first sweep reads the state
  assert.deepEqual(d.running(), ['m.r'])
  await d.stop()
  assert.equal(finished, true, 'stop() resolved only after the job finished')
  assert.ok(s.has('m.r', 'last_complete'))
  assert.equal((await d.sweep()).length, 0, 'nothing launches after stop')

  const p = new InfernoDaemon({ rules: [daemonRule('m.p')], state: new StateDir(join(dir, 'p')), startPaused: true, log: quiet, execute: async () => ({ status: 'done' }) })
  assert.equal(p.paused, true)
  assert.equal((await p.sweep()).length, 0)
  new StateDir(join(dir, 'p')).paused = false // what `inferno --resume` does from another process
  assert.equal(p.paused, false)
  const launched = await p.sweep()
  assert.equal(launched.length, 1)
  await Promise.all(launched)
  p.pause()
  assert.ok(existsSync(join(dir, 'p', 'paused')))
  await p.stop()
}))

test('state files survive garbage: unreadable stamps count as absent', withDir((dir) => {
  const s = new StateDir(dir)
  writeFileSync(join(dir, 'm.r.last_run'), 'not a date')
  writeFileSync(join(dir, 'm.r.lease'), '{broken')
  utimesSync(join(dir, 'm.r.lease'), new Date(), new Date())
  assert.equal(s.readDate('m.r', 'last_run'), null)
  assert.equal(s.isLeased('m.r'), false)
  assert.ok(s.acquire('m.r', 1000), 'an unreadable lease is broken and taken')
}))
