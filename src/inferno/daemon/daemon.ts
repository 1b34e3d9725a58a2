// The Inferno daemon (spec §11): sweeps the autorun rules every second, launches each due rule
// under a lease (one instance per rule), records outcomes, retries failures, notifies.
import { DiscoError } from '../../errors.js'
import type { JobReport, Notifier } from '../notify/index.js'
import { isDue, parseTimeDelta, type TimeDelta } from './schedule.js'
import { formatStamp, type StateDir } from './state-dir.js'
import type { RunJournal, RunResult } from '../runner.js'
import type { Rule } from '../rules/rule.js'

/** The outcome of one run. `skipped` (not enough blobs) is not a failure (Q13). */
export interface DaemonOutcome {
  status: 'done' | 'skipped' | 'failed'
  /** Job name, when a job was submitted. */
  job?: string
  /** Error text for failures, reason for skips, a summary for successes. */
  message?: string
}

/** A run result as a daemon outcome. */
export function runOutcome(r: RunResult): DaemonOutcome {
  const message = r.status === 'failed' ? (r.error ? `${r.error.code}: ${r.error.message}` : r.reason) : r.status === 'skipped' ? r.reason : `${r.blobs} blob(s), ${r.records} records in ${(r.ms / 1000).toFixed(1)}s`
  const warned = r.warnings.length > 0 ? `${message ?? ''}; warnings: ${r.warnings.join('; ')}` : message
  return { status: r.status, job: r.jobName, ...(warned !== undefined ? { message: warned } : {}) }
}

/** The name that keys a rule's state files: `module.rule` once loaded from a rules directory. */
export function daemonRuleName(rule: Rule): string {
  return rule.qualifiedName ?? rule.name
}

/** Options of {@link InfernoDaemon}. */
export interface DaemonOptions {
  /** The rules to schedule (their own keywords, §3: run, timeDelta, retry…, notify…). */
  rules: readonly Rule[]
  state: StateDir
  /**
   * Runs one rule to its outcome; a throw counts as `failed`. `journal` is the rule's run journal
   * in the state directory: hand it to runRule (RunOptions.journal) so a killed run is resumed.
   */
  execute: (rule: Rule, journal: RunJournal) => Promise<DaemonOutcome>
  notifier?: Notifier
  now?: () => Date
  /** Pause between sweeps (default 1000 ms). */
  sweepMs?: number
  /** Lease time-to-live; renewed every third of it while the job runs (default 60 s). */
  leaseMs?: number
  startPaused?: boolean
  /** Log lines with their level (`info` unless said): failures are `error`, skips `warn`. */
  log?: (line: string, level?: 'info' | 'warn' | 'error') => void
}

/**
 * The scheduler loop. `start()` sweeps every `sweepMs`; `stop()` stops launching and waits for the
 * running jobs (graceful SIGTERM); `pause()`/`resume()` toggle the `paused` file in the state
 * directory, so another process (`inferno --pause`) can do it too.
 *
 * @example
 * const d = new InfernoDaemon({ rules, state: new StateDir(dir), execute }); d.start(); await d.stop()
 */
export class InfernoDaemon {
  private readonly rules: readonly Rule[]
  /** Each rule's checked schedule (a bad `timeDelta` fails the constructor). */
  private readonly schedules = new Map<Rule, TimeDelta>()
  private readonly inflight = new Map<string, Promise<DaemonOutcome | null>>()
  private timer: NodeJS.Timeout | null = null
  private stopping = false
  private readonly now: () => Date
  private readonly leaseMs: number
  private readonly log: (line: string, level?: 'info' | 'warn' | 'error') => void

  constructor(private readonly opts: DaemonOptions) {
    this.rules = opts.rules
    for (const r of opts.rules) this.schedules.set(r, parseTimeDelta(r.timeDelta, daemonRuleName(r)))
    this.now = opts.now ?? (() => new Date())
    this.leaseMs = opts.leaseMs ?? 60_000
    this.log = opts.log ?? ((l) => process.stderr.write(`${formatStamp(this.now())} daemon: ${l}\n`))
    opts.state.ensure()
    if (opts.startPaused) opts.state.paused = true
  }

  /** True when the daemon is paused (nothing new is launched). */
  get paused(): boolean {
    return this.opts.state.paused
  }

  pause(): void {
    this.opts.state.paused = true
  }

  resume(): void {
    this.opts.state.paused = false
  }

  /** Names of the rules this daemon is running now. */
  running(): string[] {
    return [...this.inflight.keys()].sort()
  }

  /**
   * §11.2/§11.3: not while a live lease is held; else when a pending retry is due; else when the
   * schedule is due since the last launch (no last launch = the epoch = due).
   */
  shouldRun(rule: Rule): boolean {
    const s = this.opts.state
    const name = daemonRuleName(rule)
    if (s.isLeased(name)) return false
    // A lease left behind expired: its run was killed. Run again now, not at the next slot.
    if (s.readLease(name) !== null) return true
    const now = this.now()
    const retryAt = s.readDate(name, 'next_retry')
    if (retryAt && retryAt.getTime() <= now.getTime()) return true
    const last = s.readDate(name, 'last_run') ?? new Date(0)
    return isDue(this.schedules.get(rule) ?? parseTimeDelta(rule.timeDelta, name), last, now)
  }

  /** One sweep: launches every due rule not yet running here; returns the launched runs. */
  sweep(): Promise<DaemonOutcome | null>[] {
    if (this.stopping || this.paused) return []
    const launched: Promise<DaemonOutcome | null>[] = []
    for (const rule of this.rules) {
      const name = daemonRuleName(rule)
      if (!rule.run || this.inflight.has(name) || !this.shouldRun(rule)) continue
      const p = this.runOnce(rule).finally(() => this.inflight.delete(name))
      this.inflight.set(name, p)
      launched.push(p)
    }
    return launched
  }

  /** Starts sweeping. */
  start(): void {
    if (this.timer) return
    const tick = () => {
      try {
        this.sweep()
      } catch (e) {
        this.log(`sweep failed: ${(e as Error).message}`, 'error')
      }
    }
    tick()
    this.timer = setInterval(tick, this.opts.sweepMs ?? 1000)
  }

  /** Stops launching and resolves when the running jobs have finished. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (this.inflight.size > 0) this.log(`stopping: waiting for ${this.running().join(', ')}`)
    await Promise.allSettled([...this.inflight.values()])
  }

  /**
   * Runs one rule now under its lease and records the outcome; `null` when someone else holds the
   * lease. The lease is renewed while the job runs and released afterwards.
   */
  async runOnce(rule: Rule): Promise<DaemonOutcome | null> {
    const name = daemonRuleName(rule)
    const s = this.opts.state
    const stale = s.readLease(name)
    if (!s.acquire(name, this.leaseMs)) return null
    if (stale !== null && stale.owner !== s.owner) {
      this.log(`${name}: restarting: the run started ${stale.started} by ${stale.owner} ended without finishing (its lease expired ${stale.expires})`)
    }
    const heartbeat = setInterval(() => s.renew(name, this.leaseMs), Math.max(10, this.leaseMs / 3))
    heartbeat.unref()
    const started = this.now()
    s.writeDate(name, 'last_run', started)
    this.log(`${name}: started`)
    let out: DaemonOutcome
    try {
      out = await this.opts.execute(rule, s.journal(name))
    } catch (e) {
      out = { status: 'failed', message: e instanceof DiscoError ? `${e.code}: ${e.message}` : ((e as Error)?.stack ?? String(e)) }
    } finally {
      clearInterval(heartbeat)
    }
    try {
      await this.record(rule, out, started)
    } finally {
      s.release(name)
    }
    return out
  }

  private async record(rule: Rule, out: DaemonOutcome, started: Date): Promise<void> {
    const name = daemonRuleName(rule)
    const s = this.opts.state
    const secs = ((this.now().getTime() - started.getTime()) / 1000).toFixed(1)
    const job = out.job ?? `${name}@${formatStamp(started)}`
    if (out.status === 'done') {
      s.writeDate(name, 'last_complete')
      for (const k of ['retry_count', 'next_retry', 'failed'] as const) s.remove(name, k)
      this.log(`${name}: done in ${secs}s`)
      await this.notify({ rule: name, job, status: 'done', message: out.message ?? 'done' }, rule)
      return
    }
    if (out.status === 'skipped') {
      // Q13: its own outcome: no failure, no retry, no notification. A pending retry is consumed.
      s.writeDate(name, 'last_skipped', this.now(), out.message ?? '')
      s.remove(name, 'next_retry')
      this.log(`${name}: skipped: ${out.message ?? 'not enough blobs'}`, 'warn')
      return
    }
    let retryInHours: number | undefined
    if (rule.retry) {
      const limit = rule.retryLimit
      const delay = rule.retryDelay
      const count = s.retryCount(name)
      if (count < limit) {
        s.writeDate(name, 'next_retry', new Date(this.now().getTime() + delay * 3_600_000))
        s.setRetryCount(name, count + 1)
        retryInHours = delay
      } else {
        s.writeDate(name, 'failed', this.now(), out.message ?? '')
        s.remove(name, 'next_retry')
      }
    }
    const retryNote = retryInHours !== undefined ? `; retry ${s.retryCount(name)}/${rule.retryLimit} in ${retryInHours} h` : ''
    this.log(`${name}: failed after ${secs}s: ${firstLine(out.message)}${retryNote}`, 'error')
    await this.notify({ rule: name, job, status: 'failed', message: out.message ?? 'failed', ...(retryInHours !== undefined ? { retryInHours } : {}) }, rule)
  }

  private async notify(r: JobReport, rule: Rule): Promise<void> {
    const name = daemonRuleName(rule)
    if (!this.opts.notifier) return
    try {
      await this.opts.notifier.notify(r, rule)
    } catch (e) {
      this.log(`${name}: notification failed: ${(e as Error).message}`, 'error')
    }
  }
}

function firstLine(s: string | undefined): string {
  return (s ?? 'failed').split('\n')[0]!
}
