// Helpers of the distributed-executor tests: the real `disco`/`ddfs` binaries, `disco worker`
// processes (started until their ready line, stopped by PID), word-count inputs and their
// embedded results to compare with.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
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
