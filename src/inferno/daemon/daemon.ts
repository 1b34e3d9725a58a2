// The Inferno daemon (spec §11): sweeps the autorun rules every second, launches each due rule
// under a lease (one instance per rule), records outcomes, retries failures, notifies.
import { DiscoError } from '../../errors.js'
import type { JobReport, Notifier } from '../notify/index.js'
import { isDue, parseTimeDelta, type TimeDelta } from './schedule.js'
import { formatStamp, type RuleState, type StateDir } from './state-dir.js'
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
  /** The state directory: the pause switch, and the rules' state unless `ruleState` is given. */
  state: StateDir
  /**
   * Where the rules' leases, dates and run journals live (default: `state`). A daemon on a cluster
   * store passes the job store's (StoreRuleState), so daemons on several machines share them.
   */
  ruleState?: RuleState
  /**
   * Runs one rule to its outcome; a throw counts as `failed`. `journal` is the rule's run journal
   * (in the rule state): hand it to runRule (RunOptions.journal) so a killed run is resumed.
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
  private readonly rs: RuleState
  /** The other owner last seen holding each rule (logged once per holder). */
  private readonly heldBy = new Map<string, string>()
  private sweeping = false
  /** The sweep in progress (stop() waits for it before waiting for the runs it launched). */
  private current: Promise<unknown> = Promise.resolve()

  constructor(private readonly opts: DaemonOptions) {
    this.rs = opts.ruleState ?? opts.state
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
  async shouldRun(rule: Rule): Promise<boolean> {
    const s = this.rs
    const name = daemonRuleName(rule)
    const now = this.now()
    const lease = await s.readLease(name)
    if (lease !== null && Date.parse(lease.expires) > now.getTime()) {
      if (lease.owner !== s.owner && this.heldBy.get(name) !== lease.owner) {
        this.heldBy.set(name, lease.owner)
        this.log(`${name}: held by another daemon (${lease.owner}, since ${lease.started}); not started here`)
      }
      return false
    }
    this.heldBy.delete(name)
    // A lease left behind expired: its run was killed. Run again now, not at the next slot.
    if (lease !== null) return true
    const retryAt = await s.readDate(name, 'next_retry')
    if (retryAt && retryAt.getTime() <= now.getTime()) return true
    const last = (await s.readDate(name, 'last_run')) ?? new Date(0)
    return isDue(this.schedules.get(rule) ?? parseTimeDelta(rule.timeDelta, name), last, now)
  }

  /**
   * One sweep: launches every due rule not yet running here; resolves to the launched runs (none
   * while an earlier sweep is still looking at the rules' state).
   */
  sweep(): Promise<Promise<DaemonOutcome | null>[]> {
    if (this.stopping || this.paused || this.sweeping) return Promise.resolve([])
    this.sweeping = true
    const p = this.sweepRules()
    this.current = p
    return p
  }

  private async sweepRules(): Promise<Promise<DaemonOutcome | null>[]> {
    const launched: Promise<DaemonOutcome | null>[] = []
    try {
      for (const rule of this.rules) {
        if (this.stopping) break
        const name = daemonRuleName(rule)
        if (!rule.run || this.inflight.has(name) || !(await this.shouldRun(rule)) || this.stopping) continue
        const p = this.runOnce(rule).finally(() => this.inflight.delete(name))
        this.inflight.set(name, p)
        launched.push(p)
      }
    } finally {
      this.sweeping = false
    }
    return launched
  }

  /** Starts sweeping. */
  start(): void {
    if (this.timer) return
    const tick = () => {
      this.sweep().catch((e: unknown) => this.log(`sweep failed: ${(e as Error).message}`, 'error'))
    }
    tick()
    this.timer = setInterval(tick, this.opts.sweepMs ?? 1000)
  }

  /** Stops launching and resolves when the running jobs have finished. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.current.catch(() => {})
    if (this.inflight.size > 0) this.log(`stopping: waiting for ${this.running().join(', ')}`)
    await Promise.allSettled([...this.inflight.values()])
  }

  /**
   * Runs one rule now under its lease and records the outcome; `null` when someone else holds the
   * lease. The lease is renewed while the job runs and released afterwards.
   */
  async runOnce(rule: Rule): Promise<DaemonOutcome | null> {
    const name = daemonRuleName(rule)
    const s = this.rs
    const stale = await s.readLease(name)
    if (!(await s.acquire(name, this.leaseMs))) return null
    if (stale !== null && stale.owner !== s.owner) {
      this.log(`${name}: restarting: the run started ${stale.started} by ${stale.owner} ended without finishing (its lease expired ${stale.expires})`)
    }
    const heartbeat = setInterval(() => {
      Promise.resolve(s.renew(name, this.leaseMs)).then((mine) => {
        if (!mine) this.log(`${name}: lost its lease (renewed too late?); another daemon may start the rule`, 'warn')
      }, (e: unknown) => this.log(`${name}: renewing the lease failed: ${(e as Error).message}`, 'warn'))
    }, Math.max(10, this.leaseMs / 3))
    heartbeat.unref()
    const started = this.now()
    let out: DaemonOutcome
    try {
      await s.writeDate(name, 'last_run', started)
      this.log(`${name}: started`)
      out = await this.opts.execute(rule, s.journal(name))
    } catch (e) {
      out = { status: 'failed', message: e instanceof DiscoError ? `${e.code}: ${e.message}` : ((e as Error)?.stack ?? String(e)) }
    } finally {
      clearInterval(heartbeat)
    }
    try {
      await this.record(rule, out, started)
    } finally {
      await s.release(name)
    }
    return out
  }

  private async record(rule: Rule, out: DaemonOutcome, started: Date): Promise<void> {
    const name = daemonRuleName(rule)
    const s = this.rs
    const secs = ((this.now().getTime() - started.getTime()) / 1000).toFixed(1)
    const job = out.job ?? `${name}@${formatStamp(started)}`
    if (out.status === 'done') {
      await s.writeDate(name, 'last_complete')
      for (const k of ['retry_count', 'next_retry', 'failed'] as const) await s.remove(name, k)
      this.log(`${name}: done in ${secs}s`)
      await this.notify({ rule: name, job, status: 'done', message: out.message ?? 'done' }, rule)
      return
    }
    if (out.status === 'skipped') {
      // Q13: its own outcome: no failure, no retry, no notification. A pending retry is consumed.
      await s.writeDate(name, 'last_skipped', this.now(), out.message ?? '')
      await s.remove(name, 'next_retry')
      this.log(`${name}: skipped: ${out.message ?? 'not enough blobs'}`, 'warn')
      return
    }
    let retryInHours: number | undefined
    let count = await s.retryCount(name)
    if (rule.retry) {
      const limit = rule.retryLimit
      const delay = rule.retryDelay
      if (count < limit) {
        await s.writeDate(name, 'next_retry', new Date(this.now().getTime() + delay * 3_600_000))
        await s.setRetryCount(name, ++count)
        retryInHours = delay
      } else {
        await s.writeDate(name, 'failed', this.now(), out.message ?? '')
        await s.remove(name, 'next_retry')
      }
    }
    const retryNote = retryInHours !== undefined ? `; retry ${count}/${rule.retryLimit} in ${retryInHours} h` : ''
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
