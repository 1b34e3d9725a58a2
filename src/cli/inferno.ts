#!/usr/bin/env node
// `inferno`: run rules now (-i), as a daemon (--daemon), re-process results, write example rules.
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { DiscoError } from '../errors.js'
// Loaded up front: what parsing the command line and starting an `-i` run's worker pool need. The
// rest (rules, stores, the engine, the daemon) is imported where it is used, after the pool's
// threads have started booting (or never, for `--version`, `--help` and `--pause`).
import { isClusterUrl } from '../cluster/url.js'
import type { OpenedInfernoStore } from '../cluster/index.js'
import { WorkerPoolExecutor } from '../disco/executor.js'
import type { RunOptions, RunProgress, RunResult } from '../inferno/api.js'
import { discoJobModules } from '../inferno/keyset/job-modules.js'
import { blobHasProblems } from '../inferno/results/stats.js'
import { autorunRules, findRuleByName, findRules, loadRuleModule, ruleModuleFiles } from '../inferno/rules/lookup.js'
import { runSummary } from '../inferno/results/summary.js'
import { runOptionsOfSettings, type InfernoSettings } from '../inferno/rules/settings.js'
import { createLogger, type LogLevel } from '../util/log.js'
import { Progress, reportError, runCli, usageError, writeOut } from './common.js'
import { buildInfernoProgram, settingsFromOptions, toInfernoOptions, type InfernoOptions } from './inferno-args.js'

/** The rule runner, loaded on first use. */
const runner = () => import('../inferno/runner.js')

let opened: Promise<OpenedInfernoStore> | undefined

/**
 * The Inferno store over `ddfs_root` (default $DISCO_STORE or ./.disco), opened once per process:
 * a directory comes with its Disco stores (module rules run as Disco jobs on local worker
 * threads); a cluster URL with the engine that runs rules on its `disco worker` processes.
 */
function storeOf(settings: InfernoSettings, io?: InfernoIo): Promise<OpenedInfernoStore> {
  if (!opened) {
    opened = import('../cluster/index.js').then(({ openInfernoStore }) =>
      openInfernoStore(settings.ddfs_root ?? undefined, io ? { warn: (m) => io.err(`inferno: warning: ${m}\n`) } : {}))
    opened.catch(() => { opened = undefined })
  }
  return opened
}

/** Closes the store the command opened (its cluster connection, if any). */
async function closeStore(): Promise<void> {
  const s = opened
  opened = undefined
  await s?.then((x) => x.close(), () => {})
}

/** Where the command writes: results to `out` (stdout), everything else to `err` (stderr). */
export interface InfernoIo {
  out: (text: string) => void
  err: (text: string) => void
  /** Draw the live progress line (default: stderr is a TTY). */
  tty: boolean
}

const defaultIo = (): InfernoIo => ({
  out: (t) => void writeOut(t),
  err: (t) => void process.stderr.write(t),
  tty: Boolean(process.stderr.isTTY),
})

type Log = (msg: string, level?: 'info' | 'warn' | 'error') => void

/** Structured logs (pino): JSON lines on stderr, readable lines on a terminal, from `--log-level` up. */
function logger(io: InfernoIo, level: LogLevel = 'info'): Log {
  // Made on the first entry: an `-i` run usually logs nothing.
  let log: ReturnType<typeof createLogger> | undefined
  return (msg, lvl = 'info') => (log ??= createLogger({ name: 'inferno', level, pretty: io.tty, write: io.err }))[lvl](msg)
}

/** Formats a rate such as `1.2M`. */
function human(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}

/** Formats a byte count such as `12.3 MB` (1000ⁿ, as the size units the commands accept). */
function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`
  return `${n} B`
}

/**
 * How far a run is, as `[done, total]` for the bar: the input bytes read when the store knows the
 * inputs' sizes (so one big input moves too), else the blobs mapped; whichever is further.
 */
export function progressFraction(p: RunProgress): [number, number] {
  const blobs = p.blobsTotal > 0 ? p.blobsDone / p.blobsTotal : 0
  const bytes = p.bytesTotal !== undefined && p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0
  return [Math.round(Math.max(blobs, bytes) * 10_000), 10_000]
}

/** A progress callback drawing `rule [####....] 40% 3/8 blobs · 1.2/3.0 GB · 1.2M rec · 950k rec/s · 2 bad` on a TTY. */
export function progressLine(label: string, enabled: boolean): { onProgress: (p: RunProgress) => void; done: () => void } {
  const bar = new Progress(label, enabled)
  const t0 = Date.now()
  return {
    onProgress: (p) => {
      const secs = Math.max(0.001, (Date.now() - t0) / 1000)
      const [done, total] = progressFraction(p)
      const bytes = p.bytesTotal !== undefined && p.bytesTotal > 0 ? ` · ${bytesText(p.bytesDone)}/${bytesText(p.bytesTotal)}` : ''
      bar.update(done, total, `${p.blobsDone}/${p.blobsTotal} blobs${bytes} · ${human(p.records)} rec · ${human(p.records / secs)} rec/s · ${p.badLines} bad · ${p.stage}`)
    },
    done: () => bar.done(),
  }
}

/** Wall time per run stage (`-p`): `select 0.01s · map 2.31s · process 0.02s`. */
export function stageTimer(now: () => number = () => performance.now()): { note: (stage: string) => void; report: () => string } {
  const spans: [string, number][] = []
  let current: [string, number] | null = null
  const close = () => {
    if (current) spans.push([current[0], now() - current[1]])
    current = null
  }
  return {
    note: (stage) => {
      if (current?.[0] === stage) return
      close()
      current = [stage, now()]
    },
    report: () => {
      close()
      return spans.filter(([s]) => s !== 'done').map(([s, ms]) => `${s} ${(ms / 1000).toFixed(2)}s`).join(' · ') || '(no stages)'
    },
  }
}

/** The run options a command line implies for one rule. */
export function runOptionsFor(settings: InfernoSettings, opts: InfernoOptions, opened: Pick<OpenedInfernoStore, 'store' | 'engine'>, io: InfernoIo): RunOptions {
  return {
    ...runOptionsOfSettings(settings),
    store: opened.store,
    ...(opened.engine ? { engine: opened.engine } : {}),
    // -i keeps only the saved results (for --process-results); the Disco job itself is purged.
    keepSavedResults: opts.immediate_rule !== null,
    format: opts.format,
    out: io.out,
    log: logger(io, opts.log_level),
  }
}

/** Prints what `-q` found: prefixes, tag → blobs, total. */
function printQuery(r: RunResult, io: InfernoIo): void {
  io.out(`prefixes: ${r.prefixes.join(', ') || '(none)'}\n`)
  for (const [tag, blobs] of r.tags) {
    io.out(`${tag}: ${blobs.length} blob(s)\n`)
    for (const b of blobs) io.out(`  ${b.join(' ')}\n`)
  }
  if (r.urls.length > 0) io.out(`urls: ${r.urls.join(', ')}\n`)
  io.out(`total blobs: ${r.blobs}\n`)
}

/** The summary on stderr after a run: one line of totals, then any per-blob problems, samples and warnings. */
function summarise(qname: string, r: RunResult, io: InfernoIo): void {
  const { read, map, blobs } = r.stats
  const rate = r.ms > 0 ? ` (${human((r.records * 1000) / r.ms)} records/s)` : ''
  const extra = [
    read.skippedLines ? `${read.skippedLines} skipped (no {)` : '', read.invalidUtf8Lines ? `${read.invalidUtf8Lines} invalid UTF-8` : '',
    read.tooLongLines ? `${read.tooLongLines} of the bad lines too long` : '',
    map.missingKeyParts ? `${map.missingKeyParts} dropped for a missing key part` : '', map.nonNumericValues ? `${map.nonNumericValues} non-numeric values` : '',
  ].filter(Boolean)
  io.err(`inferno: ${qname} ${r.status} (job ${r.jobName}): ${r.blobs} blob(s), ${r.records} records, ${r.badLines} bad lines${extra.length ? `, ${extra.join(', ')}` : ''} in ${(r.ms / 1000).toFixed(2)}s${rate}\n`)
  const noisy = blobs.filter(blobHasProblems)
  if (noisy.length > 1 || (noisy.length === 1 && blobs.length > 1)) {
    for (const b of noisy.slice(0, 5)) {
      io.err(`inferno:   ${b.blob}: ${b.lines} lines, ${b.badLines} bad (${b.tooLongLines} too long), ${b.skippedLines} skipped, ${b.invalidUtf8Lines} invalid UTF-8, ${b.missingKeyParts} missing key part, ${b.nonNumericValues} non-numeric\n`)
    }
    if (noisy.length > 5) io.err(`inferno:   … and ${noisy.length - 5} more blob(s) with problems (--json lists all)\n`)
  }
  for (const l of r.badSample.slice(0, 3)) io.err(`inferno:   bad line: ${l.length > 200 ? l.slice(0, 200) + '…' : l}\n`)
  const errs = r.mapErrors.errors + r.reduceErrors.errors
  if (errs > 0) io.err(`inferno:   ${r.mapErrors.errors} map and ${r.reduceErrors.errors} reduce errors; first: ${r.mapErrors.errorSample[0] ?? r.reduceErrors.errorSample[0] ?? ''}\n`)
  for (const w of r.warnings) io.err(`inferno: warning: ${qname}: ${w}\n`)
}

/**
 * Immediate mode (`-i module[.rule[.keyset]]`): runs the rules now, CSV on stdout. Returns the exit
 * status: 0 done (or `-q`), 1 when a rule failed or was skipped for lack of blobs (Q13 keeps 1 here).
 */
export async function runImmediate(settings: InfernoSettings, opts: InfernoOptions, io: InfernoIo = defaultIo(), started?: WorkerPoolExecutor): Promise<number> {
  const address = opts.immediate_rule!
  const pool = earlyPool(settings, opts, started)
  try {
    return await runRules(settings, opts, io, address, pool)
  } finally {
    await pool?.close()
  }
}

/**
 * The worker pool of an `-i` run on an embedded store, started first (or `started` by the
 * executable before the command loaded, see inferno-bin.ts): its threads boot and import the job
 * functions and the rule module while this thread loads the rules and selects the inputs. None
 * for `-q`, a cluster store, or a module that is not there (the run reports it); a `started` pool
 * is closed then.
 */
function earlyPool(settings: InfernoSettings, opts: InfernoOptions, started?: WorkerPoolExecutor): WorkerPoolExecutor | undefined {
  const path = poolRuleModule(settings, opts)
  if (path === undefined) {
    void started?.close().catch(() => {})
    return undefined
  }
  const pool = started ?? new WorkerPoolExecutor().start()
  pool.preload(discoJobModules(path))
  return pool
}

/** The rule module an `-i` run's worker pool imports, or undefined when the run has no pool. */
function poolRuleModule(settings: InfernoSettings, opts: InfernoOptions): string | undefined {
  if (opts.just_query) return undefined
  const where = settings.ddfs_root ?? process.env.DISCO_STORE
  if (where && isClusterUrl(where)) return undefined
  try {
    return ruleModuleFiles(settings.rules_directory).get(opts.immediate_rule!.split('.')[0]!)
  } catch {
    return undefined // an unreadable rules directory: findRules says why
  }
}

/** The rules at `address`, run one after the other (on `pool` when given). */
async function runRules(settings: InfernoSettings, opts: InfernoOptions, io: InfernoIo, address: string, pool: WorkerPoolExecutor | undefined): Promise<number> {
  const warnings: string[] = []
  // The runner, the rule module and the store's modules load side by side (their file reads
  // overlap); the store itself is opened once the rules are found.
  const finding = findRules(settings.rules_directory, address, { immediate: true, warn: (m) => warnings.push(m) })
  finding.catch(() => {})
  import('../cluster/index.js').catch(() => {})
  const { runRule } = await runner()
  const rules = await finding
  if (rules.length === 0) {
    throw new DiscoError('INFERNO_RULE_NOT_FOUND', `expected a rule at ${address} in ${settings.rules_directory}, found none${warnings.length ? ` (${warnings.join('; ')})` : ''}`)
  }
  const store = await storeOf(settings, io)
  let status = 0
  for (const [i, rule] of rules.entries()) {
    const qname = rule.qualifiedName ?? rule.name
    // After the last rule's job the pool's threads end while its results are processed and purged
    // (a rule with sub-rules reaches that stage once per sub-rule first: its pool stays to the end).
    const last = i === rules.length - 1 && rule.subRules.length === 0
    const onStage = pool && last ? (stage: string) => { if (stage === 'job') void pool.close().catch(() => {}) } : undefined
    const bar = progressLine(qname, io.tty && opts.progress !== false && !opts.just_query)
    const stages = stageTimer()
    let r: RunResult
    try {
      r = await runRule(rule, { ...runOptionsFor(settings, opts, store, io), ...(pool ? { pool } : {}), ...(onStage ? { onStage } : {}), onProgress: (p) => (stages.note(p.stage), bar.onProgress(p)) })
    } finally {
      bar.done()
    }
    if (settings.profile === true) io.err(`inferno: ${qname} profile: ${stages.report()}\n`)
    if (opts.just_query) {
      printQuery(r, io)
      continue
    }
    if (opts.json) io.err(JSON.stringify(runSummary(qname, r)) + '\n')
    else if (r.status !== 'skipped') summarise(qname, r, io)
    if (opts.strict && r.warnings.length > 0) status = 1
    if (r.status === 'skipped') {
      io.err(`inferno: ${qname} skipped: ${r.reason ?? 'not enough blobs'}\n`)
      status = 1
    } else if (r.status === 'failed') {
      reportError('inferno', r.error ?? new DiscoError('INFERNO_JOB_FAILED', r.reason ?? 'failed'))
      status = 1
    }
  }
  return status
}

/**
 * Daemon mode: every rule of the autorun modules on its schedule until SIGTERM/SIGINT, which stop
 * launching and wait for running jobs (a second signal exits at once).
 */
export async function runDaemonMode(settings: InfernoSettings, opts: InfernoOptions, io: InfernoIo = defaultIo()): Promise<number> {
  const { runRule } = await runner()
  const { InfernoDaemon, StateDir, StoreRuleState, daemonRuleName, runOutcome } = await import('../inferno/daemon/index.js')
  const { StandardNotifier } = await import('../inferno/notify/index.js')
  const rules = await autorunRules(settings.rules_directory)
  const store = await storeOf(settings, io)
  const log = logger(io, opts.log_level)
  // On a cluster the rules' leases, schedule and run journals live in the job store, shared by
  // every daemon of the cluster; the state directory keeps the pause switch.
  const shared = store.cluster ? new StoreRuleState(store.stores.jobs) : undefined
  const leaseSeconds = settings.daemon_lease_seconds
  if (leaseSeconds !== undefined && (typeof leaseSeconds !== 'number' || !(leaseSeconds > 0))) {
    throw new DiscoError('INFERNO_SETTINGS_INVALID', `daemon_lease_seconds: expected a number of seconds > 0, found ${JSON.stringify(leaseSeconds)}`)
  }
  const daemon = new InfernoDaemon({
    rules,
    state: new StateDir(settings.pid_dir),
    ...(shared ? { ruleState: shared } : {}),
    ...(leaseSeconds !== undefined ? { leaseMs: leaseSeconds * 1000 } : {}),
    notifier: new StandardNotifier({ ...settings, pagerduty_api_key: (settings.pagerduty_api_key as string | undefined) ?? null, log }),
    startPaused: opts.start_paused,
    log: (l, level) => log(`daemon: ${l}`, level),
    execute: async (rule, journal) => runOutcome(await runRule(rule, { ...runOptionsFor(settings, opts, store, io), journal })),
  })
  log(`daemon: ${rules.length} autorun rule(s) from ${settings.rules_directory}: ${rules.map(daemonRuleName).join(', ') || '(none)'}; state in ${shared ? `the cluster's job store (pause switch in ${settings.pid_dir})` : settings.pid_dir}${daemon.paused ? ' (paused)' : ''}`)
  daemon.start()
  await new Promise<void>((resolve) => {
    let stopping = false
    const onSignal = (sig: string) => {
      if (stopping) {
        log(`daemon: second ${sig}, exiting now`)
        process.exit(1)
      }
      stopping = true
      log(`daemon: ${sig}: no new jobs; waiting for running jobs to finish`)
      void daemon.stop().then(resolve)
    }
    process.on('SIGTERM', () => onSignal('SIGTERM'))
    process.on('SIGINT', () => onSignal('SIGINT'))
  })
  log('daemon: stopped')
  return 0
}

/**
 * `--process-results module.rule@jobid`: re-runs `ruleInitFunction` and the result processor over
 * the saved results of an earlier job (`disco:results:<job>`; kept when the job saved its results
 * and was not purged).
 */
export async function processResults(settings: InfernoSettings, spec: string, io: InfernoIo = defaultIo()): Promise<number> {
  const m = /^([^.@]+)\.([^.@]+)@(.+)$/.exec(spec)
  if (!m) throw usageError(`--process-results: expected module.rule@jobid, found "${spec}"`)
  const [, modName, ruleName, job] = m as unknown as [string, string, string, string]
  const { processSavedResults } = await import('../inferno/results/saved.js')
  const path = ruleModuleFiles(settings.rules_directory).get(modName)
  const rule = path ? findRuleByName((await loadRuleModule(path, modName)).rules, ruleName) : undefined
  if (!rule) throw new DiscoError('INFERNO_RULE_NOT_FOUND', `expected rule ${modName}.${ruleName} in ${settings.rules_directory}, found none`)
  await processSavedResults(rule, (await storeOf(settings)).store, job, { params: settings, out: io.out })
  return 0
}

/**
 * Runs the command line; resolves to the exit status. `started`: a worker pool the executable
 * started for an `-i` run (used or closed by it; the caller closes it too).
 */
export async function inferno(opts: InfernoOptions, io: InfernoIo = defaultIo(), help: () => string = () => '', started?: WorkerPoolExecutor): Promise<number> {
  const { settings, warnings } = settingsFromOptions(opts)
  for (const w of warnings) io.err(`inferno: warning: ${w}\n`)
  if (opts.pause || opts.resume) {
    if (opts.pause && opts.resume) throw usageError('--pause and --resume exclude each other')
    const { StateDir } = await import('../inferno/daemon/index.js')
    new StateDir(settings.pid_dir).paused = opts.pause
    io.err(`inferno: daemon ${opts.pause ? 'paused' : 'resumed'} (state ${settings.pid_dir})\n`)
    return 0
  }
  if (opts.example_rules) {
    const { writeExampleRules } = await import('../inferno/examples/write.js')
    for (const f of writeExampleRules(opts.example_rules)) io.err(`inferno: wrote ${f}\n`)
    return 0
  }
  if (opts.process_results) return processResults(settings, opts.process_results, io)
  if (opts.daemon) return runDaemonMode(settings, opts, io)
  if (opts.immediate_rule) return runImmediate(settings, opts, io, started)
  // No mode given: the help, as for a command line without arguments (exit 2).
  io.err(help())
  return 2
}

/** The `inferno` command (`started`: a worker pool inferno-bin.ts started for an `-i` run; closed here whatever the command did). */
export async function main(argv: string[] = process.argv, started?: WorkerPoolExecutor): Promise<void> {
  const program = buildInfernoProgram()
  program.action(async () => {
    process.exitCode = await inferno(toInfernoOptions(program.opts()), defaultIo(), () => program.helpInformation(), started)
  })
  try {
    await runCli('inferno', program, argv)
  } finally {
    await started?.close()
  }
  await closeStore()
}

const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : ''
if (import.meta.url === invoked) await main()
