// The distributed executor end to end with the real binaries: a word count run through
// `disco run --store nats://…` on `disco worker` processes gives the same results as the embedded
// run; a worker killed with SIGKILL in the middle of a map task (a hook makes it die exactly there)
// loses nothing: the task is redelivered to another worker and the results are identical.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNats, type ServerProcess } from './servers.js'

const DISCO = fileURLToPath(import.meta.resolve('#src/cli/disco.js'))
const DDFS = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
const FIXTURES = fileURLToPath(new URL('../disco/fixtures/jobs.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'cluster-exec-'))
const children = new Set<ChildProcess>()

interface Run { code: number | null, out: string, err: string }
const CACHE = join(dir, 'packs')
function cli(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, DISCO_STORE: '', DISCO_PACK_CACHE: CACHE, ...env }, cwd: dir, timeout: 120_000 })
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
}
function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`)
  return r.out
}

/** Starts `disco worker` and waits (bounded) for its ready line. */
async function worker(store: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildProcess & { exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }> {
  const child = spawn(process.execPath, [DISCO, '--store', store, 'worker', ...args], { env: { ...process.env, DISCO_STORE: '', DISCO_PACK_CACHE: CACHE, ...env }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => { children.delete(child); res({ code, signal }) }))
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

/** SIGTERM, then (bounded) SIGKILL. */
async function stopWorker(w: ChildProcess & { exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  w.kill('SIGTERM')
  const t = setTimeout(() => w.kill('SIGKILL'), 30_000)
  const r = await w.exited
  clearTimeout(t)
  return r
}

let nats: ServerProcess | undefined
const inputs: string[] = []
let embedded = ''
before(async () => {
  nats = await startNats()
  const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta']
  for (let f = 0; f < 5; f++) {
    const lines: string[] = []
    for (let i = 0; i < 300; i++) lines.push(`${words[(i * (f + 1)) % 7]} ${words[(i + f) % 7]} w${i % 13}`)
    const p = join(dir, `in${f}.txt`)
    writeFileSync(p, lines.join('\n') + '\n')
    inputs.push(p)
  }
  const local = join(dir, 'embedded')
  ok(cli(DDFS, ['--store', local, 'push', 'data:wc', ...inputs]))
  ok(cli(DISCO, ['--store', local, 'run', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3', '-w', '2']))
  embedded = ok(cli(DISCO, ['--store', local, 'results', '@']))
  assert.ok(embedded.split('\n').length > 15)
})
after(async () => {
  for (const c of children) c.kill('SIGKILL')
  await nats?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('word count on 2 worker processes gives the embedded results; disco cluster shows them', async () => {
  const store = `${nats!.url}?prefix=wc`
  ok(cli(DDFS, ['--store', store, 'push', 'data:wc', ...inputs]))
  const w1 = await worker(store, ['--concurrency', '2'])
  const w2 = await worker(store)
  try {
    const status = JSON.parse(ok(cli(DISCO, ['--store', store, 'cluster', '--json']))) as { workers: { id: string, heartbeatAgeMs: number }[], stream: { name: string } }
    assert.equal(status.workers.length, 2)
    assert.ok(status.workers.every((w) => w.heartbeatAgeMs >= 0))
    assert.equal(status.stream.name, 'wc-tasks')
    ok(cli(DISCO, ['--store', store, 'run', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3']))
    assert.equal(ok(cli(DISCO, ['--store', store, 'results', '@'])), embedded)
    const after = JSON.parse(ok(cli(DISCO, ['--store', store, 'cluster', '--json']))) as { tasks: { queued: number, running: number }, jobs: unknown[] }
    assert.deepEqual([after.tasks.queued, after.tasks.running, after.jobs.length], [0, 0, 0])
  } finally {
    // SIGTERM is a graceful stop: exit status 0.
    assert.deepEqual(await stopWorker(w1), { code: 0, signal: null })
    assert.deepEqual(await stopWorker(w2), { code: 0, signal: null })
  }
})

test('kill -9 of a worker in the middle of a map task: redelivered, identical results', async () => {
  const store = `${nats!.url}?prefix=kill`
  ok(cli(DDFS, ['--store', store, 'push', 'data:wc', ...inputs]))
  // The only worker at first: it takes map:0, then dies (SIGKILL) as it starts map:1.
  const doomed = await worker(store, ['--ack-wait', '2'], { DISCO_WORKER_DIE_AT: 'map:1' })
  const name = ok(cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3'])).trim()
  assert.deepEqual(await doomed.exited, { code: null, signal: 'SIGKILL' })
  const rescuer = await worker(store, ['--ack-wait', '2'])
  try {
    assert.equal(ok(cli(DISCO, ['--store', store, 'wait', name, '--timeout', '90'])).trim(), `${name} ready`)
    assert.equal(ok(cli(DISCO, ['--store', store, 'results', name])), embedded)
    const events = ok(cli(DISCO, ['--store', store, 'events', name]))
    assert.match(events, /map:1: delivery 2 to worker \S+ \(worker \S+ did not finish delivery 1\)/)
  } finally {
    assert.deepEqual(await stopWorker(rescuer), { code: 0, signal: null })
  }
})

test('a task whose every delivery kills its worker ends the job with DISCO_TASK_LOST after max_deliver', async () => {
  const store = `${nats!.url}?prefix=lost`
  ok(cli(DDFS, ['--store', store, 'push', 'data:wc', ...inputs]))
  const opts = ['--ack-wait', '2', '--max-deliver', '2']
  const first = await worker(store, opts, { DISCO_WORKER_DIE_AT: 'map:0*' })
  const name = ok(cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3'])).trim()
  assert.equal((await first.exited).signal, 'SIGKILL')
  const second = await worker(store, opts, { DISCO_WORKER_DIE_AT: 'map:0*' })
  assert.equal((await second.exited).signal, 'SIGKILL')
  // The server gives up on a message (and says so) when a worker next asks for work.
  const healthy = await worker(store, opts)
  const waited = cli(DISCO, ['--store', store, 'wait', name, '--timeout', '90'])
  assert.deepEqual(await stopWorker(healthy), { code: 0, signal: null })
  assert.equal(waited.code, 1, waited.err)
  const info = JSON.parse(ok(cli(DISCO, ['--store', store, 'status', name, '--json']))) as { status: string, error: { code: string, message: string } }
  assert.equal(info.status, 'dead')
  assert.equal(info.error.code, 'DISCO_TASK_LOST')
  assert.match(info.error.message, /task map:0 of job \S+ was delivered 2 times \(max_deliver\) without finishing; last error: worker \S+ stopped during delivery 2/)
})

test('job pack: the module and its relative imports reach the worker through the store, not its path', async () => {
  const store = `${nats!.url}?prefix=pack`
  ok(cli(DDFS, ['--store', store, 'push', 'data:wc', ...inputs]))
  const src = join(dir, 'userjob')
  mkdirSync(join(src, 'lib'), { recursive: true })
  writeFileSync(join(src, 'package.json'), '{"type":"module"}')
  writeFileSync(join(src, 'lib', 'split.js'), "export const words = (line) => line.split(/\\s+/).filter(Boolean)\n")
  writeFileSync(join(src, 'wc.js'), [
    "import { words } from './lib/split.js'",
    'export function map(line, _p, emit) { for (const w of words(line)) emit(w, 1) }',
    'export function reduce(key, values, _p, emit) { let n = 0; for (const v of values) n += v; emit(key, n) }',
    'export const combiner = (_k, a, b) => a + b',
  ].join('\n'))
  const cache = join(dir, 'pack-cache')
  const name = ok(cli(DISCO, ['--store', store, 'run', '-d', join(src, 'wc.js'), '-i', 'data:wc', '-p', '3'])).trim()
  // Once the first task is queued its pack is stored: move the sources away before any worker runs.
  for (let i = 0; i < 300; i++) {
    const s = JSON.parse(ok(cli(DISCO, ['--store', store, 'cluster', '--json']))) as { stream: { messages?: number } }
    if ((s.stream.messages ?? 0) > 0) break
    await new Promise((r) => setTimeout(r, 100))
  }
  renameSync(src, join(dir, 'userjob-moved'))
  const w = await worker(store, ['--concurrency', '2'], { DISCO_PACK_CACHE: cache })
  try {
    assert.equal(ok(cli(DISCO, ['--store', store, 'wait', name, '--timeout', '90'])).trim(), `${name} ready`)
    assert.equal(ok(cli(DISCO, ['--store', store, 'results', name])), embedded)
    const packs = readdirSync(cache).filter((d) => /^[0-9a-f]{32}$/.test(d))
    assert.equal(packs.length, 1)
    assert.ok(existsSync(join(cache, packs[0]!, 'wc.js')) && existsSync(join(cache, packs[0]!, 'lib', 'split.js')))
  } finally {
    assert.deepEqual(await stopWorker(w), { code: 0, signal: null })
  }
})
