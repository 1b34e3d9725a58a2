// The daemon's per-rule state in the job store, so that every daemon of a cluster shares it: the
// lease (the registry's lease `inferno-rule:<rule>`, compare-and-set with an expiry), the schedule
// dates and retry count, and the run journal. Daemons on several machines then never run one rule
// at once, a dead daemon's lease expires and another takes over, and that one finishes the dead
// one's run from its journal. Keys (JobRegistry's layout): `lease.<inferno-rule:rule>`,
// `inferno.<rule>.<kind>` and `inferno.<rule>.run`, the rule name encoded by keyToken.
import { DiscoError } from '../../errors.js'
import { keyToken, type JobRegistry, type Lease as StoreLease } from '../../disco/index.js'
import type { JournalEntry, RunJournal } from '../runner.js'
import { formatStamp, parseStamp, type Lease, type RuleState, type StateFileKind } from './state-dir.js'

const KINDS: readonly string[] = ['last_run', 'last_complete', 'retry_count', 'next_retry', 'failed', 'last_skipped']

/**
 * Rule state in a job store (a cluster's KV bucket, or the embedded `<store>/jobs`).
 *
 * @example
 * const state = new StoreRuleState(stores.jobs)
 * await state.acquire('names.count', 60_000) // a Lease, or null while another daemon holds it
 */
export class StoreRuleState implements RuleState {
  /** A unique id for this process's claims (host:pid:random, as the state directory's). */
  readonly owner: string

  constructor(private readonly jobs: JobRegistry, owner?: string) {
    this.owner = owner ?? `${jobs.host}:${process.pid}:${Math.random().toString(16).slice(2, 10)}`
  }

  private static leaseName(rule: string): string {
    return `inferno-rule:${rule}`
  }

  private key(rule: string, kind: string): string {
    if (!KINDS.includes(kind) && kind !== 'run') throw new DiscoError('INFERNO_RULE_INVALID', `expected a state kind, found ${kind}`)
    return `inferno.${keyToken(rule)}.${kind}`
  }

  private view(rule: string, l: StoreLease): Lease {
    const [host = '', pid = '0'] = l.owner.split(':')
    return { owner: l.owner, pid: Number(pid) || 0, host, rule, started: new Date(l.acquired).toISOString(), expires: new Date(l.expires).toISOString() }
  }

  async readLease(rule: string): Promise<Lease | null> {
    const l = await this.jobs.lease(StoreRuleState.leaseName(rule), true)
    return l ? this.view(rule, l) : null
  }

  async acquire(rule: string, ttlMs: number): Promise<Lease | null> {
    // A lease of ours that is still live is another run of this process: refuse, as the files do.
    const held = await this.jobs.lease(StoreRuleState.leaseName(rule))
    if (held) return null
    const l = await this.jobs.acquire(StoreRuleState.leaseName(rule), this.owner, ttlMs)
    return l ? this.view(rule, l) : null
  }

  async renew(rule: string, ttlMs: number): Promise<boolean> {
    return (await this.jobs.renew(StoreRuleState.leaseName(rule), this.owner, ttlMs)) !== undefined
  }

  async release(rule: string): Promise<void> {
    await this.jobs.release(StoreRuleState.leaseName(rule), this.owner)
  }

  private async text(rule: string, kind: string): Promise<string | undefined> {
    return (await this.jobs.store.get(this.key(rule, kind)))?.value
  }

  async readDate(rule: string, kind: StateFileKind): Promise<Date | null> {
    const t = await this.text(rule, kind)
    return t === undefined ? null : parseStamp(t.split('\n')[0] ?? '')
  }

  async writeDate(rule: string, kind: StateFileKind, when: Date = new Date(this.jobs.now()), note = ''): Promise<void> {
    await this.jobs.store.put(this.key(rule, kind), formatStamp(when) + (note ? `\n${note}` : ''))
  }

  async remove(rule: string, kind: StateFileKind): Promise<void> {
    await this.jobs.store.put(this.key(rule, kind), null)
  }

  async retryCount(rule: string): Promise<number> {
    const n = Number.parseInt((await this.text(rule, 'retry_count')) ?? '', 10)
    return Number.isFinite(n) && n > 0 ? n : 0
  }

  async setRetryCount(rule: string, n: number): Promise<void> {
    await this.jobs.store.put(this.key(rule, 'retry_count'), String(n))
  }

  journal(rule: string): RunJournal {
    const key = this.key(rule, 'run')
    return {
      read: async () => {
        const t = (await this.jobs.store.get(key))?.value
        if (t === undefined) return undefined
        try {
          return JSON.parse(t) as JournalEntry
        } catch {
          return undefined
        }
      },
      write: async (_name, entry) => { await this.jobs.store.put(key, JSON.stringify(entry)) },
      clear: async () => { await this.jobs.store.put(key, null) },
    }
  }
}
