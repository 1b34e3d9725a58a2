// The daemon's per-rule state in a directory (spec §11, Q7): an expiring lease instead of a pid file,
// plus the last-run / last-complete / retry date files of the original.
import { mkdirSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, readdirSync, existsSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DiscoError } from '../../errors.js'
import type { JournalEntry, RunJournal } from '../runner.js'
import { writeFileAtomicSync } from '../../util/atomic.js'

/** Formats a date the way the original's date files do: `YYYY-MM-DD HH:MM:SS` (UTC). */
export function formatStamp(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ')
}

/** Parses a `YYYY-MM-DD HH:MM:SS` stamp (UTC); anything else is `null`. */
export function parseStamp(text: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?Z?$/.exec(text.trim())
  if (!m) return null
  const d = new Date(`${m[1]}T${m[2]}${m[3] ?? ''}Z`)
  return Number.isNaN(d.getTime()) ? null : d
}

/** The contents of a lease file: who runs the rule and until when the claim holds without renewal. */
export interface Lease {
  owner: string
  pid: number
  host: string
  rule: string
  started: string
  expires: string
}

/** The state files of one rule: `<name>.lease`, `.last_run`, `.last_complete`, `.retry_count`, `.next_retry`, `.failed`, `.last_skipped`. */
export type StateFileKind = 'last_run' | 'last_complete' | 'retry_count' | 'next_retry' | 'failed' | 'last_skipped'

const SAFE = /^[A-Za-z0-9_.@-]+$/

/** A value now (the state directory) or later (a job store). */
export type MaybePromise<T> = T | Promise<T>

/**
 * Where the daemon keeps each rule's lease, schedule dates, retry count and run journal: a
 * {@link StateDir} (one machine), or the job store (`StoreRuleState`, shared by every daemon of a
 * cluster). Rule names are qualified (`module.rule`).
 */
export interface RuleState {
  /** A unique id of this process's claims. */
  readonly owner: string
  /** The rule's lease, live or expired (its holder died), or null. */
  readLease(rule: string): MaybePromise<Lease | null>
  /** Claims the rule for `ttlMs` (taking over an expired lease); null while anyone holds it. */
  acquire(rule: string, ttlMs: number): MaybePromise<Lease | null>
  /** Extends our lease; false when it is no longer ours. */
  renew(rule: string, ttlMs: number): MaybePromise<boolean>
  /** Gives up our lease (someone else's is left alone). */
  release(rule: string): MaybePromise<void>
  readDate(rule: string, kind: StateFileKind): MaybePromise<Date | null>
  writeDate(rule: string, kind: StateFileKind, when?: Date, note?: string): MaybePromise<void>
  remove(rule: string, kind: StateFileKind): MaybePromise<void>
  retryCount(rule: string): MaybePromise<number>
  setRetryCount(rule: string, n: number): MaybePromise<void>
  /** The rule's run journal (RunOptions.journal). */
  journal(rule: string): RunJournal
}

/**
 * A state directory. Files are keyed by the rule's qualified name (`module.rule`), so equal rule
 * names in different modules no longer collide.
 *
 * @example
 * const s = new StateDir('/tmp/state'); s.acquire('names.count', 60_000) // a Lease, or null if held
 */
export class StateDir implements RuleState {
  /** A unique id for this process's claims. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`

  constructor(readonly dir: string, private readonly now: () => Date = () => new Date()) {}

  private file(rule: string, kind: string): string {
    if (!SAFE.test(rule)) throw new DiscoError('INFERNO_RULE_INVALID', `expected a rule name of [A-Za-z0-9_.@-], found "${rule}"`)
    return join(this.dir, `${rule}.${kind}`)
  }

  /** Creates the directory when missing. */
  ensure(): void {
    mkdirSync(this.dir, { recursive: true })
  }

  /** Reads a date file, or `null` when it is absent or unreadable. */
  readDate(rule: string, kind: StateFileKind): Date | null {
    try {
      return parseStamp(readFileSync(this.file(rule, kind), 'utf8'))
    } catch {
      return null
    }
  }

  /** Writes a date file (default: now), atomically. */
  writeDate(rule: string, kind: StateFileKind, when: Date = this.now(), note = ''): void {
    this.atomicWrite(this.file(rule, kind), formatStamp(when) + (note ? `\n${note}` : '') + '\n')
  }

  /** The `retry_count` file as a number (0 when absent). */
  retryCount(rule: string): number {
    try {
      const n = Number.parseInt(readFileSync(this.file(rule, 'retry_count'), 'utf8'), 10)
      return Number.isFinite(n) && n > 0 ? n : 0
    } catch {
      return 0
    }
  }

  /** Sets the `retry_count` file. */
  setRetryCount(rule: string, n: number): void {
    this.atomicWrite(this.file(rule, 'retry_count'), `${n}\n`)
  }

  /** True when the file exists. */
  has(rule: string, kind: StateFileKind | 'lease'): boolean {
    return existsSync(this.file(rule, kind))
  }

  /** Removes a state file; absent is fine. */
  remove(rule: string, kind: StateFileKind): void {
    rmSync(this.file(rule, kind), { force: true })
  }

  /** True when a date file is older than `ms` (an absent file counts as written at the epoch). */
  olderThan(rule: string, kind: StateFileKind, ms: number): boolean {
    const d = this.readDate(rule, kind) ?? new Date(0)
    return this.now().getTime() - d.getTime() > ms
  }

  /** The current lease of a rule, expired or not, or `null`. */
  readLease(rule: string): Lease | null {
    try {
      return JSON.parse(readFileSync(this.file(rule, 'lease'), 'utf8')) as Lease
    } catch {
      return null
    }
  }

  /** True when someone holds an unexpired lease on the rule. */
  isLeased(rule: string): boolean {
    const l = this.readLease(rule)
    return l !== null && Date.parse(l.expires) > this.now().getTime()
  }

  /**
   * Claims the rule for `ttlMs`. Creation is exclusive (`wx`); an expired lease (its holder died
   * without releasing: kill -9, power loss) is broken and taken over, so no stale lock blocks a
   * rule forever (Q7). Returns the lease, or `null` while someone else holds it.
   */
  acquire(rule: string, ttlMs: number): Lease | null {
    this.ensure()
    const path = this.file(rule, 'lease')
    for (let attempt = 0; attempt < 2; attempt++) {
      const lease = this.makeLease(rule, ttlMs)
      try {
        const fd = openSync(path, 'wx')
        try {
          writeSync(fd, JSON.stringify(lease) + '\n')
        } finally {
          closeSync(fd)
        }
        return lease
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      }
      const held = this.readLease(rule)
      if (held && Date.parse(held.expires) > this.now().getTime()) return null
      // Expired or unreadable: break it by renaming it aside (only one breaker wins the rename).
      const aside = `${path}.broken-${randomBytes(4).toString('hex')}`
      try {
        renameSync(path, aside)
        rmSync(aside, { force: true })
      } catch {
        return null
      }
    }
    return null
  }

  /** Extends our lease by `ttlMs`; false when it is no longer ours (then stop renewing). */
  renew(rule: string, ttlMs: number): boolean {
    const held = this.readLease(rule)
    if (!held || held.owner !== this.owner) return false
    this.atomicWrite(this.file(rule, 'lease'), JSON.stringify({ ...held, expires: new Date(this.now().getTime() + ttlMs).toISOString() }) + '\n')
    return true
  }

  /** Releases our lease (a lease held by someone else is left alone). */
  release(rule: string): void {
    const held = this.readLease(rule)
    if (held && held.owner === this.owner) rmSync(this.file(rule, 'lease'), { force: true })
  }

  /** Unexpired leases in the directory: what is running now, where, since when. */
  running(): Lease[] {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch {
      return []
    }
    const out: Lease[] = []
    for (const n of names) {
      if (!n.endsWith('.lease')) continue
      const rule = n.slice(0, -'.lease'.length)
      const l = this.readLease(rule)
      if (l && Date.parse(l.expires) > this.now().getTime()) out.push(l)
    }
    return out.sort((a, b) => a.rule.localeCompare(b.rule))
  }

  /**
   * The run journal of one rule (see RunOptions.journal): a `<rule>.run` JSON file, written
   * atomically, so a run killed before archiving is resumed over the same inputs.
   */
  journal(rule: string): RunJournal {
    const path = this.file(rule, 'run')
    return {
      read: async () => {
        try {
          return JSON.parse(readFileSync(path, 'utf8')) as JournalEntry
        } catch {
          return undefined
        }
      },
      write: async (_name, entry) => { this.atomicWrite(path, JSON.stringify(entry) + '\n') },
      clear: async () => { rmSync(path, { force: true }) },
    }
  }

  /** The daemon-wide pause switch: a `paused` file in the directory. */
  get paused(): boolean {
    return existsSync(join(this.dir, 'paused'))
  }

  set paused(on: boolean) {
    if (on) {
      this.ensure()
      writeFileSync(join(this.dir, 'paused'), formatStamp(this.now()) + '\n')
    } else rmSync(join(this.dir, 'paused'), { force: true })
  }

  private makeLease(rule: string, ttlMs: number): Lease {
    const now = this.now()
    return { owner: this.owner, pid: process.pid, host: hostname(), rule, started: now.toISOString(), expires: new Date(now.getTime() + ttlMs).toISOString() }
  }

  private atomicWrite(path: string, text: string): void {
    this.ensure()
    writeFileAtomicSync(path, text)
  }
}
