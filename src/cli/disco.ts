#!/usr/bin/env node
// `disco`: run map/reduce jobs on the embedded engine and control them (jobs, status, events,
// results, wait, kill, resume, purge), over the store in --store, $DISCO_STORE or ./.disco.
import { Command } from 'commander'
import { spawn } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { DiscoError } from '../errors.js'
import { DEFAULT_STORE_DIR } from '../ddfs/index.js'
import {
  jobEvents, jobInfo, jobResultBatches, killJob, listJobs, purgeJob, resolveJob, resumeJob, runJob, waitJob, WorkerPoolExecutor,
  type DiscoStores, type Executor, type FnRef, type JobEvent, type JobHandle, type JobInfo, type JobProgress, type JobSpec,
} from '../disco/index.js'
import { importModule } from '../util/modules.js'
import { isClusterUrl, openDiscoStores, type OpenedDiscoStores } from '../cluster/index.js'
import { addStoreOptions, type StoreFlags } from './store.js'
import { addClusterCommands } from './disco-cluster.js'
import { checkBareName, parseSize, productProgram, Progress, runCli, usageError, writeOut } from './common.js'

interface RunOpts {
  input: string[]
  partitions?: string
  params?: string
  save?: string | boolean
  prefix?: string
  sort: boolean
  memory?: string
  workers?: string
  attempts?: string
  detach?: boolean
}

function out(line: string): void {
  writeOut(line + '\n')
}

/** Writes honouring back-pressure. */
function write(text: string): Promise<void> | void {
  if (!writeOut(text)) return new Promise((res) => process.stdout.once('drain', () => res()))
}

function int(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined
  if (!/^\d+$/.test(s)) throw usageError(`${what}: expected a positive integer, found ${JSON.stringify(s)}`)
  return Number(s)
}

function size(s: string | undefined, what: string): number | undefined {
  return s === undefined ? undefined : parseSize(s, what)
}

/** An input argument: a URL or absolute path as it is, anything else names a tag. */
function inputUrl(s: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('/')) return s
  if (s.startsWith('./') || s.startsWith('../')) return pathToFileURL(resolve(s)).href
  return `tag://${s}`
}

const ROLES = { map: ['map'], reduce: ['reduce'], combiner: ['combiner', 'combine'], partitioner: ['partitioner', 'partition'] } as const

/**
 * The functions of `MODULE[:EXPORT]`: without EXPORT the module's named exports `map`, `reduce`,
 * `combiner`/`combine`, `partitioner`/`partition`; with EXPORT, the same properties of that export
 * (a function export is the map). The job object may also set `partitions`, `params`, `mapForm`.
 */
async function jobFromModule(target: string): Promise<Partial<JobSpec>> {
  const i = target.lastIndexOf(':')
  const [modPath, exp] = i > 1 ? [target.slice(0, i), target.slice(i + 1)] : [target, undefined]
  const url = modPath.startsWith('file:') ? modPath : pathToFileURL(resolve(modPath)).href
  const mod = await importModule(url, 'job module')
  let obj: unknown = mod
  let base = ''
  if (exp) {
    obj = exp.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), mod)
    base = `${exp}.`
    if (typeof obj === 'function') return { map: { module: url, export: exp } }
    if (!obj || typeof obj !== 'object') throw new DiscoError('DISCO_FN_NOT_FOUND', `expected a job object or function at export ${exp} of ${modPath}, found ${obj === undefined ? 'nothing' : typeof obj}`)
  }
  const o = obj as Record<string, unknown>
  const spec: Partial<JobSpec> = {}
  for (const [role, names] of Object.entries(ROLES)) {
    const name = names.find((n) => typeof o[n] === 'function')
    if (name) (spec as Record<string, FnRef>)[role] = { module: url, export: base + name }
  }
  if (!spec.map && !spec.reduce) throw new DiscoError('DISCO_FN_NOT_FOUND', `expected a map or reduce function in ${target}, found exports ${Object.keys(o).join(', ') || 'none'}`)
  if (typeof o.partitions === 'number') spec.partitions = o.partitions
  if (o.params !== undefined) spec.params = o.params
  if (o.mapForm === 'stream' || o.mapForm === 'record' || o.mapForm === 'bytes') spec.mapForm = o.mapForm
  return spec
}

function parseParams(s: string | undefined): unknown {
  if (s === undefined) return undefined
  try {
    return JSON.parse(s)
  } catch (e) {
    throw usageError(`--params: expected JSON, found ${JSON.stringify(s.slice(0, 60))} (${(e as Error).message})`)
  }
}

function summary(j: JobInfo): string {
  const lines = [
    `job      ${j.name}`,
    `status   ${j.status}`,
    `created  ${j.created}`,
    `tasks    ${j.tasks.done}/${j.tasks.map + j.tasks.reduce} done (${j.tasks.map} map, ${j.tasks.reduce} reduce), ${j.tasks.failed} failed attempts`,
    `records  ${j.records}`,
  ]
  if (j.savedTag) lines.push(`saved    tag://${j.savedTag}`)
  if (j.error) lines.push(`error    ${j.error.code}: ${j.error.message}`)
  return lines.join('\n')
}

/**
 * `events --follow`: prints a job's events after `after` as they are appended (the job store's
 * follow, which wakes on each new event) until the job is no longer active (waitJob watches its
 * record and its runner's heartbeat), then the rest of the log once.
 */
export async function followJobEvents(stores: DiscoStores, name: string, after: number, print: (e: JobEvent) => void): Promise<void> {
  const ac = new AbortController()
  const ended = waitJob(stores, name).then(() => {}, () => {}).finally(() => ac.abort())
  try {
    for await (const e of stores.jobs.follow(name, after, ac.signal)) {
      print(e)
      after = e.seq
    }
  } finally {
    ac.abort()
  }
  await ended
  for (const e of (await jobEvents(stores, name, after)).events) print(e)
}

/** Set in the environment of a detached child: it runs the job itself, whatever its arguments say. */
const DETACHED_ENV = 'DISCO_DETACHED'

/**
 * Re-runs this command in a detached child and prints the job name it reports. The child gets
 * the same arguments and DISCO_DETACHED=1, so it never detaches again however the flag was
 * spelled (`-d`, `--detach`, `--detach=true`, combined short flags).
 */
async function detach(argv: string[]): Promise<void> {
  const args = argv.slice(2)
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [DETACHED_ENV]: '1' },
  })
  let buf = ''
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const name = await new Promise<string | undefined>((res) => {
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) res(buf.slice(0, nl))
    })
    child.on('exit', () => res(undefined))
  })
  if (name === undefined) {
    process.stderr.write(err)
    process.exitCode = child.exitCode ?? 1
    return
  }
  out(name)
  child.stdout!.destroy()
  child.stderr!.destroy()
  child.unref()
}

/**
 * Spells `--detach=VALUE` the way the parser knows: `--detach` for true/1/yes/on, nothing for
 * false/0/no/off (a boolean flag takes no value; `-d` and `--detach` pass unchanged).
 *
 * @example
 * detachSpelling(['node', 'disco', 'run', '--detach=true', 'm.js']) // ['node', 'disco', 'run', '--detach', 'm.js']
 */
export function detachSpelling(argv: readonly string[]): string[] {
  const out: string[] = []
  for (const [i, a] of argv.entries()) {
    const m = i >= 2 && a !== '--' && argv.slice(2, i).indexOf('--') === -1 ? /^--detach=(.*)$/i.exec(a) : null
    if (!m) out.push(a)
    else if (/^(true|1|yes|on)$/i.test(m[1]!)) out.push('--detach')
    else if (!/^(false|0|no|off)$/i.test(m[1]!)) throw usageError(`--detach: expected true or false, found ${JSON.stringify(m[1])}`)
  }
  return out
}

/** Stores the commands opened (closed when the command ends, so a cluster connection never keeps it alive). */
const openedStores: Promise<OpenedDiscoStores>[] = []

/** Closes every store a command opened. */
export async function closeDiscoStores(): Promise<void> {
  const all = openedStores.splice(0)
  await Promise.all(all.map((p) => p.then((s) => s.close(), () => {})))
}

/** Builds the `disco` program (exported for tests). */
export function buildProgram(argv: string[] = process.argv): Command {
  const program = productProgram(new Command('disco'))
    .description('Disco: map/reduce jobs on the embedded worker pool or a NATS cluster')
  addStoreOptions(program)
  let opened: Promise<OpenedDiscoStores> | undefined
  /** The stores of --store (a directory, or nats://… for a cluster), opened once per command. */
  const open = (): Promise<OpenedDiscoStores> => {
    if (!opened) {
      const g = program.opts<StoreFlags>()
      const where = g.store ?? process.env.DISCO_STORE ?? DEFAULT_STORE_DIR
      opened = openDiscoStores(isClusterUrl(where) ? where : resolve(where), { ...(g.creds ? { creds: g.creds } : {}), ...(g.tlsCa ? { tlsCa: g.tlsCa } : {}) })
      openedStores.push(opened)
    }
    return opened
  }
  const stores = async (): Promise<DiscoStores> => (await open()).stores
  const job = async (ref: string): Promise<string> => resolveJob(await stores(), ref)

  /**
   * Starts a job with the executor of the store (the cluster's workers, or a worker pool of
   * `workers` threads), prints its name, shows progress and waits; Ctrl-C kills the job.
   */
  const runWith = async (
    workers: number | undefined,
    begin: (store: DiscoStores, executor: Executor, onProgress: (p: JobProgress) => void) => Promise<JobHandle>,
  ): Promise<void> => {
    const where = await open()
    const executor: Executor = where.cluster
      ? await (await import('../cluster/executor.js')).ClusterExecutor.open(where.cluster, where.stores)
      : new WorkerPoolExecutor(workers ? { size: workers } : {})
    if (where.cluster && !(await where.stores.jobs.heartbeats('worker')).some((h) => h.alive)) {
      process.stderr.write('disco: no live workers: the tasks wait in the queue until a `disco worker` starts\n')
    }
    const progress = new Progress('disco')
    // Ctrl-C kills the job (recorded dead, DISCO_JOB_KILLED); a second one exits at once.
    let handle: JobHandle | undefined
    let interrupts = 0
    const onInterrupt = (): void => {
      if (++interrupts > 1 || !handle) process.exit(130)
      void handle.kill()
    }
    process.on('SIGINT', onInterrupt)
    try {
      handle = await begin(where.stores, executor, (p) => {
        const secs = Math.max(p.elapsedMs / 1000, 0.001)
        progress.update(p.done, p.total, `${p.phase} ${p.done}/${p.total} tasks, ${p.records} records, ${Math.round(p.records / secs)} rec/s`)
      })
      out(handle.name)
      await handle.wait()
    } finally {
      process.off('SIGINT', onInterrupt)
      progress.done()
      await executor.close()
    }
  }

  program.command('run').argument('<module>', 'MODULE[:EXPORT] holding map/reduce/combiner/partitioner')
    .description('run a job, print its name, wait for it (exit 1 when it dies)')
    .requiredOption('-i, --input <input...>', 'inputs: tag names, tag://, raw://, file:// URLs or paths')
    .option('-p, --partitions <n>', 'number of partitions (default 1)')
    .option('-P, --params <json>', 'JSON params handed to every task')
    .option('-s, --save [tag]', 'save results under a tag (default disco:results:<job>)')
    .option('-n, --prefix <name>', 'job name prefix (default: the module file name)')
    .option('--no-sort', 'do not sort results by key')
    .option('-m, --memory <size>', 'memory budget per task before spilling (default 256MB)')
    .option('-w, --workers <n>', 'worker threads (default: number of cores)')
    .option('-a, --attempts <n>', 'tries per task (default 3)')
    .option('-d, --detach', 'run in the background; print the job name and return')
    .action(async (target: string, o: RunOpts) => {
      if (o.detach && process.env[DETACHED_ENV] !== '1') return detach(argv)
      const fromModule = await jobFromModule(target)
      const base = target.replace(/:[^/\\]*$/, '').split(/[/\\]/).pop()!.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]/g, '_') || 'job'
      for (const i of o.input) await checkBareName(i, async (t) => (await stores()).ddfs.exists(t))
      const spec: JobSpec = { ...fromModule, prefix: o.prefix ?? base, inputs: o.input.map(inputUrl), sort: o.sort }
      const partitions = int(o.partitions, '--partitions')
      if (partitions !== undefined) spec.partitions = partitions
      const params = parseParams(o.params)
      if (params !== undefined) spec.params = params
      if (o.save !== undefined) spec.save = o.save
      const memory = size(o.memory, '--memory')
      if (memory !== undefined) spec.memoryBudgetBytes = memory
      const attempts = int(o.attempts, '--attempts')
      if (attempts !== undefined) spec.maxAttempts = attempts
      await runWith(int(o.workers, '--workers'), (store, executor, onProgress) => runJob(spec, { store, executor, onProgress }))
    })

  program.command('resume').argument('<job>', 'job name, @ (the newest) or @?text')
    .description('finish a job whose runner died (kill -9, lost host): reuses the finished tasks, runs the rest, waits (exit 1 when it dies)')
    .option('-w, --workers <n>', 'worker threads (default: number of cores; a cluster store uses its workers)')
    .option('-d, --detach', 'run in the background; print the job name and return')
    .action(async (ref: string, o: { workers?: string; detach?: boolean }) => {
      if (o.detach && process.env[DETACHED_ENV] !== '1') return detach(argv)
      const workers = int(o.workers, '--workers')
      const name = await job(ref)
      await runWith(workers, (store, executor, onProgress) => resumeJob(name, { store, executor, onProgress }))
    })

  program.command('jobs').description('list jobs, newest first: created, status, name')
    .option('--json', 'one JSON object per job (NDJSON)')
    .action(async (o: { json?: boolean }) => {
      for (const j of await listJobs(await stores())) out(o.json ? JSON.stringify(j) : `${j.created} ${j.status} ${j.name}`)
    })

  program.command('status').argument('<job>', 'job name, @ (the newest) or @?text').option('--json', 'the whole job record as JSON')
    .description('status, task counts and error of a job')
    .action(async (ref: string, o: { json?: boolean }) => {
      const j = await jobInfo(await stores(), await job(ref))
      out(o.json ? JSON.stringify(j, null, 2) : summary(j))
    })

  program.command('events').argument('<job>').option('--after <position>', 'only events after this log position (see --positions)')
    .option('--positions', 'start each line with the event\'s log position')
    .option('-f, --follow', 'keep printing new events until the job is ready or dead')
    .option('--json', 'one JSON object per event (NDJSON)')
    .description('the job\'s event log: timestamp host message')
    .action(async (ref: string, o: { after?: string; positions?: boolean; follow?: boolean; json?: boolean }) => {
      const name = await job(ref)
      const print = (e: JobEvent): void => out(o.json ? JSON.stringify(e) : `${o.positions ? `${e.seq} ` : ''}${e.ts} ${e.host} ${e.message}`)
      const after = int(o.after, '--after') ?? 0
      if (o.follow) await followJobEvents(await stores(), name, after, print)
      else for (const e of (await jobEvents(await stores(), name, after)).events) print(e)
    })

  program.command('results').argument('<job>')
    .description('the results as NDJSON [key, value] lines, in key order')
    .action(async (ref: string) => {
      for await (const batch of jobResultBatches(await stores(), await job(ref))) {
        let text = ''
        for (const pair of batch) text += JSON.stringify(pair) + '\n'
        const w = write(text)
        if (w) await w
      }
    })

  program.command('wait').argument('<job>').option('-t, --timeout <seconds>', 'give up after this many seconds')
    .description('wait until the job is ready (exit 0) or dead (exit 1)')
    .action(async (ref: string, o: { timeout?: string }) => {
      const t = int(o.timeout, '--timeout')
      const j = await waitJob(await stores(), await job(ref), t === undefined ? {} : { timeoutMs: t * 1000 })
      out(`${j.name} ${j.status}`)
    })

  program.command('kill').argument('<job>').option('-t, --timeout <seconds>', 'how long to wait for the job to stop (default 10)')
    .description('stop a running job (status dead); exit 1 with DISCO_KILL_TIMEOUT if its live runner does not stop it')
    .action(async (ref: string, o: { timeout?: string }) => {
      const t = int(o.timeout, '--timeout')
      const j = await killJob(await stores(), await job(ref), t === undefined ? {} : { timeoutMs: t * 1000 })
      out(`${j.name} ${j.status}`)
    })

  program.command('purge').argument('<job...>').description('delete all data and records of jobs')
    .action(async (refs: string[]) => { for (const r of refs) await purgeJob(await stores(), await job(r)) })

  addClusterCommands(program, open)
  return program
}

/** True when this file is the process entry (also through an npm bin symlink). */
function isMain(): boolean {
  try { return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href } catch { return false }
}

if (isMain()) {
  let argv: string[] | undefined
  try {
    argv = detachSpelling(process.argv)
  } catch (e) {
    process.stderr.write(`disco: error CLI_USAGE: ${(e as Error).message}\n`)
    process.exitCode = 2
  }
  if (argv) {
    await runCli('disco', buildProgram(argv), argv)
    await closeDiscoStores()
  }
}
