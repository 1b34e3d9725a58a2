// The distributed executor end to end with the real binaries: a word count run through
// `disco run --store nats://…` on `disco worker` processes gives the same results as the embedded
// run; a worker killed with SIGKILL in the middle of a map or of a reduce task (a hook makes it die
// exactly there) loses nothing: the task is redelivered to another worker and the results are identical.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNats, type ServerProcess } from './servers.js'
import { Bench, DDFS, DISCO, FIXTURES, embeddedWordCount, ok, stopWorker, wordInputs, type Run } from './workers.js'

const dir = mkdtempSync(join(tmpdir(), 'cluster-exec-'))
const b = new Bench(dir)
const cli = (bin: string, args: string[], env?: NodeJS.ProcessEnv): Run => b.cli(bin, args, env)
const worker = b.worker.bind(b)

let nats: ServerProcess | undefined
let inputs: string[] = []
let embedded = ''
before(async () => {
  nats = await startNats()
  inputs = wordInputs(dir)
  embedded = embeddedWordCount(b, inputs)
  assert.ok(embedded.split('\n').length > 15)
})
after(async () => {
  b.killAll()
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

for (const [phase, at] of [['map', 'map:1'], ['reduce', 'reduce:1']] as const) {
  test(`kill -9 of a worker in the middle of a ${phase} task: redelivered, identical results`, async () => {
    const store = `${nats!.url}?prefix=kill-${phase}`
    ok(cli(DDFS, ['--store', store, 'push', 'data:wc', ...inputs]))
    // The only worker at first: it runs every task before ${at}, then dies (SIGKILL) as it starts it.
    const doomed = await worker(store, ['--ack-wait', '2'], { DISCO_WORKER_DIE_AT: at })
    const name = ok(cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:jobs.wordcount`, '-i', 'data:wc', '-p', '3'])).trim()
    assert.deepEqual(await doomed.exited, { code: null, signal: 'SIGKILL' })
    const rescuer = await worker(store, ['--ack-wait', '2'])
    try {
      assert.equal(ok(cli(DISCO, ['--store', store, 'wait', name, '--timeout', '90'])).trim(), `${name} ready`)
      assert.equal(ok(cli(DISCO, ['--store', store, 'results', name])), embedded)
      const events = ok(cli(DISCO, ['--store', store, 'events', name]))
      assert.match(events, new RegExp(`${at}: delivery 2 to worker \\S+ \\(worker \\S+ did not finish delivery 1\\)`))
    } finally {
      assert.deepEqual(await stopWorker(rescuer), { code: 0, signal: null })
    }
  })
}

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

test('SIGTERM to a worker holding a task past --grace hands it back; another worker finishes the job', async () => {
  const store = `${nats!.url}?prefix=term`
  const release = join(dir, 'release-term')
  const first = await worker(store, ['--grace', '1'])
  const name = ok(cli(DISCO, ['--store', store, 'run', '-d', `${FIXTURES}:blockMap`, '-i', 'raw://block', '-P', JSON.stringify({ release })])).trim()
  // Wait (bounded) until the task is delivered to the only worker, which blocks on it.
  for (let i = 0; i < 300; i++) {
    const s = JSON.parse(ok(cli(DISCO, ['--store', store, 'cluster', '--json']))) as { tasks: { running: number } }
    if (s.tasks.running > 0) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.deepEqual(await stopWorker(first), { code: 0, signal: null })
  writeFileSync(release, '')
  const second = await worker(store)
  try {
    assert.equal(ok(cli(DISCO, ['--store', store, 'wait', name, '--timeout', '90'])).trim(), `${name} ready`)
    assert.equal(ok(cli(DISCO, ['--store', store, 'results', name])), '["block",1]\n')
    assert.match(ok(cli(DISCO, ['--store', store, 'events', name])), /map:0: delivery 2 to worker \S+ \(worker \S+ did not finish delivery 1\)/)
  } finally {
    assert.deepEqual(await stopWorker(second), { code: 0, signal: null })
  }
})
