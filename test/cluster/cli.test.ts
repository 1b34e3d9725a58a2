// The real `ddfs` binary against a NATS store: --store nats://… and $DISCO_STORE, and one coded
// error line (no hang, no stack) for an unreachable cluster, a wrong password, no JetStream.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts, startNats, type ServerProcess } from './servers.js'
import { Bench, stopWorker } from './workers.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
const dir = mkdtempSync(join(tmpdir(), 'cluster-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))

interface Run { code: number | null, out: string, err: string }
function ddfs(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, DISCO_STORE: '', ...env }, cwd: dir, timeout: 60_000 })
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
}
function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`)
  return r.out
}
function failsWith(r: Run, code: string): void {
  assert.equal(r.code, 1, r.err)
  assert.match(r.err, new RegExp(`^ddfs: error ${code}: [^\\n]+\\n$`))
}

let nats: ServerProcess | undefined
let locked: ServerProcess | undefined
let nojs: ServerProcess | undefined
before(async () => {
  ;[nats, locked, nojs] = await Promise.all([startNats(), startNats({ config: 'authorization { user: u, password: right }' }), startNats({ jetstream: false })])
})
after(async () => { await Promise.all([nats?.stop(), locked?.stop(), nojs?.stop()]) })

test('ddfs push / ls / cat / tag / blobs through --store nats://… and $DISCO_STORE', () => {
  const file = join(dir, 'hello.txt')
  writeFileSync(file, 'hello cluster\n')
  const url = nats!.url
  ok(ddfs(['--store', url, 'push', 'data:one', file]))
  assert.equal(ok(ddfs(['--store', url, 'ls'])), 'data:one\n')
  assert.equal(ok(ddfs(['--store', url, 'cat', 'data:one'])), 'hello cluster\n')
  ok(ddfs(['tag', 'data:two', 'tag://data:one'], { DISCO_STORE: url }))
  assert.equal(ok(ddfs(['xcat', 'data:two'], { DISCO_STORE: url })), 'hello cluster\n')
  assert.match(ok(ddfs(['--store', url, 'blobs', 'data:two'])), /^nats-obj:\/\/disco-blobs\/hello_txt\$[^\n]+\n$/)
})

test('cluster connection problems are one coded line with exit 1', async () => {
  const [port] = await freePorts(1)
  failsWith(ddfs(['--store', `nats://127.0.0.1:${port}?timeout=1000`, 'ls']), 'CLUSTER_UNREACHABLE')
  failsWith(ddfs(['--store', `nats://u:wrong@127.0.0.1:${locked!.port}`, 'ls']), 'CLUSTER_AUTH')
  assert.equal(ok(ddfs(['--store', `nats://u:right@127.0.0.1:${locked!.port}`, 'ls'])), '')
  failsWith(ddfs(['--store', nojs!.url, 'ls']), 'CLUSTER_NO_JETSTREAM')
  failsWith(ddfs(['--store', 'nats://nohostport', 'ls']), 'CLUSTER_BAD_URL')
  failsWith(ddfs(['--store', nats!.url, '--creds', join(dir, 'none.creds'), 'ls']), 'CLUSTER_AUTH')
})

const inferno = fileURLToPath(import.meta.resolve('#src/cli/inferno.js'))
function run(cli: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, DISCO_STORE: '', ...env }, cwd: dir, timeout: 120_000 })
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
}

test('inferno -i over a nats:// store (map and reduce on a disco worker) prints the same CSV as over the embedded store', async () => {
  ok(run(inferno, ['--example-rules', join(dir, 'rules')]))
  const events = ['view', 'signup', 'purchase']
  const lines: string[] = []
  for (let i = 0; i < 500; i++) {
    lines.push(JSON.stringify({ ts: Date.UTC(2026, 10, 20, i % 24), event: events[i % 3], country: ['fi', 'se', 'us'][i % 7 % 3], device: i % 2 ? 'mobile' : 'desktop', referrer: `r${i % 5}`, amount: i % 3 === 2 ? i % 50 : 0 }))
  }
  writeFileSync(join(dir, 'clicks.json'), lines.join('\n') + '\n')
  const csv: string[] = []
  // On a cluster store the rule's tasks run on `disco worker` processes.
  const bench = new Bench(dir)
  const worker = await bench.worker(nats!.url)
  try {
    for (const store of [nats!.url, join(dir, 'embedded')]) {
      ok(run(bin, ['--store', store, 'chunk', '-S', '4KB', 'incoming:clicks:2026-11-20', './clicks.json']))
      csv.push(ok(run(inferno, ['--store', store, '-y', join(dir, 'rules'), '-i', 'clicks.traffic', '-S', '2026-11-20', '-R', '1', '--no-progress'])))
    }
  } finally {
    await stopWorker(worker)
  }
  assert.ok(csv[0]!.split('\n').length > 10, csv[0])
  assert.equal(csv[0], csv[1])
})
