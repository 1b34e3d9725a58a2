// Two `inferno --daemon --store nats://…` processes on one cluster (state directories of their
// own): the per-rule lease, schedule and run journal live in the job store, so only one daemon
// runs a rule at a time; when the holder is killed with SIGKILL in the middle of a run, its lease
// expires and the other daemon takes over and finishes that run from the journal (same inputs),
// with the embedded run's CSV and one archiving.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNats, type ServerProcess } from './servers.js'
import { Bench, DDFS, ok, stopWorker, type WorkerProcess } from './workers.js'
import { INFERNO, inferno, salesLines, writeRules } from './inferno-fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'cluster-inferno-daemon-'))
const b = new Bench(dir)
const embedded = join(dir, 'embedded')
const tallyLog = join(dir, 'tally.log')
let nats: ServerProcess | undefined
let worker: WorkerProcess | undefined
let rules = ''

const TALLY = `// An autorun rule whose result processor notes when it starts and ends, and holds (never ends)
// in a daemon started with TALLY_HOLD.
import { appendFileSync } from 'node:fs'
import { defineRule, keysetResult } from 'disco-inferno'

export async function noted(rows, ctx) {
  const log = process.env.TALLY_LOG
  if (log) appendFileSync(log, 'start ' + process.pid + '\\n')
  if (process.env.TALLY_HOLD) for (;;) await new Promise((r) => setTimeout(r, 100))
  await keysetResult(rows, ctx)
  if (log) appendFileSync(log, 'end ' + process.pid + '\\n')
}

export const autorun = true
export const rules = [
  defineRule({
    name: 'tally',
    sourceTags: ['incoming:tally'],
    mapInputStream: 'json',
    archive: true,
    partitions: 2,
    timeDelta: { seconds: 1 },
    keyParts: ['region'],
    valueParts: ['amount'],
    resultProcessor: noted,
  }),
]
`

before(async () => {
  nats = await startNats()
  rules = writeRules(dir)
  writeFileSync(join(rules, 'tally.js'), TALLY)
  // Only tally runs in the daemons: the other autorun modules are moved away.
  for (const m of ['clicks.js', 'sales.js']) rmSync(join(rules, m))
  for (const store of [embedded, nats.url]) {
    for (const k of [0, 1]) {
      const f = join(dir, `tally-${k}.json`)
      writeFileSync(f, salesLines('2026-11-20', k, 300).join('\n') + '\n')
      ok(b.cli(DDFS, ['--store', store, 'push', 'incoming:tally', f]))
    }
  }
  worker = await b.worker(nats.url)
})

after(async () => {
  if (worker && worker.exitCode === null) await stopWorker(worker)
  b.killAll()
  await nats?.stop()
  rmSync(dir, { recursive: true, force: true })
})

interface Daemon { child: ChildProcess; out(): string; err(): string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function daemon(name: string, env: NodeJS.ProcessEnv = {}): Daemon {
  const state = join(dir, `state-${name}`)
  mkdirSync(state, { recursive: true })
  const settings = join(dir, `settings-${name}.yaml`)
  writeFileSync(settings, `pid_dir: ${state}\nrules_directory: ${rules}\ndaemon_lease_seconds: 3\n`)
  const child = spawn(process.execPath, [INFERNO, '--store', nats!.url, '-e', settings, '--daemon'], {
    cwd: dir, env: { ...process.env, DISCO_STORE: '', DISCO_PACK_CACHE: join(dir, 'packs'), TALLY_LOG: tallyLog, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  b.children.add(child)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => { b.children.delete(child); res({ code, signal }) }))
  return { child, out: () => out, err: () => err, exited }
}

/** Waits (bounded) until `cond` holds. */
async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const logLines = (): string[] => (existsSync(tallyLog) ? readFileSync(tallyLog, 'utf8').trim().split('\n') : [])

test('two daemons on one cluster: one runs the rule; after kill -9 of it, the other finishes its run', async () => {
  const want = inferno(b, embedded, rules, ['-i', 'tally.tally'])
  assert.equal(want.code, 0, want.err)
  rmSync(tallyLog, { force: true })
  const a = daemon('a', { TALLY_HOLD: '1' })
  await until('daemon a to start processing', () => logLines().includes(`start ${a.child.pid}`))
  const bd = daemon('b')
  try {
    // b sees a's lease in the job store and leaves the rule alone.
    await until('daemon b to see the lease of a', () => /tally\.tally: held by another daemon/.test(bd.err()), 60_000)
    assert.deepEqual(logLines(), [`start ${a.child.pid}`], 'b did not start the rule while a held it')
    a.child.kill('SIGKILL')
    assert.equal((await a.exited).signal, 'SIGKILL')
    await until('daemon b to finish the run', () => logLines().includes(`end ${bd.child.pid}`), 90_000)
    assert.deepEqual(logLines(), [`start ${a.child.pid}`, `start ${bd.child.pid}`, `end ${bd.child.pid}`])
    assert.match(bd.err(), /tally\.tally: restarting: the run started .* ended without finishing/)
    assert.match(bd.err(), /resuming run tally@\S+ over the 2 blob\(s\) it had selected/)
    assert.equal(bd.out(), want.out, 'the embedded CSV')
    // Archived once, as embedded: every input blob under the archive tag.
    const archived = (store: string) => ok(b.cli(DDFS, ['--store', store, 'ls', 'processed:'])).split('\n').filter(Boolean).sort()
    assert.deepEqual(archived(nats!.url), archived(embedded))
    const blobs = (store: string, tag: string) => ok(b.cli(DDFS, ['--store', store, 'blobs', tag])).split('\n').filter(Boolean).length
    const tag = archived(embedded)[0]!
    assert.equal(blobs(nats!.url, tag), blobs(embedded, tag))
  } finally {
    bd.child.kill('SIGTERM')
    const end = await bd.exited
    assert.deepEqual(end, { code: 0, signal: null }, bd.err())
  }
})
