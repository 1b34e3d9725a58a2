// Helpers of the distributed-executor tests: the real `disco`/`ddfs` binaries, `disco worker`
// processes (started until their ready line, stopped by PID), word-count inputs and their
// embedded results to compare with.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import type { DiscoStores } from 'disco-inferno'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DISCO = fileURLToPath(import.meta.resolve('#src/cli/disco.js'))
export const DDFS = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
export const FIXTURES = fileURLToPath(new URL('../disco/fixtures/jobs.js', import.meta.url))

export interface Run { code: number | null, out: string, err: string }
export type Exit = { code: number | null, signal: NodeJS.Signals | null }
export type WorkerProcess = ChildProcess & { exited: Promise<Exit> }

/** Runs CLIs and workers in `dir` with packs cached in `<dir>/packs`. */
export class Bench {
  readonly children = new Set<ChildProcess>()
  constructor(readonly dir: string) {}

  private env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...process.env, DISCO_STORE: '', DISCO_PACK_CACHE: join(this.dir, 'packs'), ...extra }
  }

  cli(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
    const r = spawnSync(process.execPath, [bin, ...args], { env: this.env(env), cwd: this.dir, timeout: 120_000 })
    return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
  }

  /** Starts `disco worker` and waits (bounded) for its ready line. */
  async worker(store: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [DISCO, '--store', store, 'worker', ...args], { env: this.env(env), cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.add(child)
    const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => { this.children.delete(child); res({ code, signal }) }))
    let err = ''
    child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    await new Promise<void>((res, rej) => {
      let out = ''
      const t = setTimeout(() => rej(new Error(`worker not ready after 30 s: ${err}`)), 30_000)
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (/ ready\n/.test(out)) { clearTimeout(t); res() }
      })
      void exited.then(() => { clearTimeout(t); rej(new Error(`worker exited before ready: ${err}`)) })
    })
    return Object.assign(child, { exited })
  }

  /** Kills whatever is still running (test teardown). */
  killAll(): void {
    for (const c of this.children) c.kill('SIGKILL')
  }
}

export function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`)
  return r.out
}

/** SIGTERM, then (bounded) SIGKILL. */
export async function stopWorker(w: WorkerProcess): Promise<Exit> {
  w.kill('SIGTERM')
  const t = setTimeout(() => w.kill('SIGKILL'), 30_000)
  const r = await w.exited
  clearTimeout(t)
  return r
}

/** Writes 5 word-count inputs into `dir`; returns their paths. */
export function wordInputs(dir: string): string[] {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta']
  const out: string[] = []
  for (let f = 0; f < 5; f++) {
    const lines: string[] = []
    for (let i = 0; i < 300; i++) lines.push(`${words[(i * (f + 1)) % 7]} ${words[(i + f) % 7]} w${i % 13}`)
    const p = join(dir, `in${f}.txt`)
    writeFileSync(p, lines.join('\n') + '\n')
    out.push(p)
  }
  return out
}

/** The word count of `inputs` on the embedded store (NDJSON results). */
export function embeddedWordCount(b: Bench, inputs: string[]): string {
  const local = join(b.dir, 'embedded')
  ok(b.cli(DDFS, ['--store', local, 'push', 'data:wc', ...inputs]))
  ok(b.cli(DISCO, ['--store', local, 'run', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3', '-w', '2']))
  return ok(b.cli(DISCO, ['--store', local, 'results', '@']))
}

/**
 * `disco run -d` arguments of the gated job: the word inputs (tag data:wc, 5 map tasks) and
 * `raw://block` (map:5), whose map waits (up to 20 s) for the file `release` (fixture blockMap);
 * map only, 3 partitions. A test stops the world at a known point: after "map:0-4 done".
 */
export function gatedJob(release: string): string[] {
  return ['run', '-d', `${FIXTURES}:blockMap`, '-i', 'data:wc', 'raw://block', '-p', '3', '-P', JSON.stringify({ release })]
}

/** The results of the gated job run uninterrupted on an embedded store in `b.dir`. */
export function embeddedGatedJob(b: Bench, inputs: string[]): string {
  const local = join(b.dir, 'uninterrupted')
  const open = join(b.dir, 'open')
  writeFileSync(open, '')
  ok(b.cli(DDFS, ['--store', local, 'push', 'data:wc', ...inputs]))
  const name = ok(b.cli(DISCO, ['--store', local, ...gatedJob(open)])).trim()
  ok(b.cli(DISCO, ['--store', local, 'wait', name, '--timeout', '60']))
  const out = ok(b.cli(DISCO, ['--store', local, 'results', name]))
  assert.ok(out.split('\n').length > 4000)
  return out
}

/** Resolves once the job's event log holds `n` events matching `re` (watching the log; at most 60 s). */
export async function eventsSeen(stores: DiscoStores, name: string, re: RegExp, n: number): Promise<void> {
  const ac = new AbortController()
  const t = setTimeout(() => ac.abort(), 60_000)
  let seen = 0
  try {
    for await (const e of stores.jobs.follow(name, 0, ac.signal)) if (re.test(e.message) && ++seen === n) return
  } finally {
    clearTimeout(t)
    ac.abort()
  }
  assert.fail(`expected ${n} events matching ${re} of job ${name}, saw ${seen} in 60 s`)
}
