// Drives the real `disco` binary (dist/cli/disco.js) against a temporary store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FIXTURES, sorted, tempDir, wordFiles } from './helpers.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/disco.js'))
const SEED = Number(process.env.DISCO_TEST_SEED ?? 99)

interface Run { code: number | null; out: string; err: string }

function setup(t: { after(fn: () => void): void }): { dir: string; disco: (args: string[]) => Run } {
  const dir = tempDir(t, 'disco-cli')
  const disco = (args: string[]): Run => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, DISCO_STORE: join(dir, 'store') }, cwd: dir, maxBuffer: 1 << 26, timeout: 120_000 })
    return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
  }
  return { dir, disco }
}

function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`)
  return r.out
}

function failsWith(r: Run, code: string, status = 1): void {
  assert.equal(r.code, status, r.err)
  assert.match(r.err, new RegExp(`^disco: error ${code}: [^\\n]+\\n$`))
}

test('disco run / jobs / status / events / results / purge with @', (t) => {
  const { dir, disco } = setup(t)
  const words = wordFiles(dir, SEED, 2, 200)
  const run = disco(['run', `${FIXTURES}:jobs.wordcount`, '--input', ...words.paths, '--partitions', '7', '--params', '{"x":1}'])
  const name = ok(run).trim()
  assert.match(name, /^jobs@[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$/)
  assert.equal(run.err, '', 'no progress line when stderr is not a TTY')
  const results = ok(disco(['results', '@'])).trim().split('\n').map((l) => JSON.parse(l) as [string, number])
  assert.deepEqual(results, sorted(words.ref), `seed=${SEED}`)
  assert.match(ok(disco(['jobs'])), new RegExp(`^\\S+ ready ${name}\\n$`))
  const status = ok(disco(['status', '@']))
  assert.match(status, /status {3}ready/)
  assert.match(status, /tasks {4}9\/9 done \(2 map, 7 reduce\)/)
  assert.equal(JSON.parse(ok(disco(['status', '--json', name]))).spec.params.x, 1)
  assert.match(ok(disco(['events', '@'])), /READY: Job done in/)
  assert.equal(ok(disco(['wait', '@'])), `${name} ready\n`)
  ok(disco(['purge', '@']))
  assert.equal(ok(disco(['jobs'])), '')
  failsWith(disco(['status', '@']), 'DISCO_JOB_NOT_FOUND')
})

test('disco run with raw:// and --save, chained on the saved tag; failures exit 1 with the code', (t) => {
  const { disco } = setup(t)
  const name = ok(disco(['run', `${FIXTURES}:wcMap`, '-i', 'raw://b a b', '--save', 'out:words', '-w', '1'])).trim()
  assert.deepEqual(ok(disco(['results', name])).trim().split('\n'), ['["a",1]', '["b",1]', '["b",1]'])
  assert.match(ok(disco(['status', name])), /saved {4}tag:\/\/out:words/)
  ok(disco(['run', `${FIXTURES}:reduceOnly`, '-i', 'out:words', '--prefix', 'again', '-w', '1']))
  assert.deepEqual(ok(disco(['results', '@?again'])).trim().split('\n'), ['["a",1]', '["b",2]'])
  const dead = disco(['run', `${FIXTURES}:alwaysFails`, '-i', 'raw://x', '--attempts', '1', '-w', '1'])
  failsWith(dead, 'DISCO_TASK_FAILED')
  assert.match(dead.out, /^jobs@/)
  assert.match(ok(disco(['status', '@'])), /error {4}DISCO_TASK_FAILED: map:0 \(raw:\/\/x\) failed 1 times: line 1: boom in map/)
  failsWith(disco(['wait', '@']), 'DISCO_TASK_FAILED')
  failsWith(disco(['results', '@']), 'DISCO_JOB_NOT_READY')
  failsWith(disco(['run', `${FIXTURES}:wcMap`, '-i', 'raw://x', '--params', '{nope']), 'CLI_USAGE', 2)
  failsWith(disco(['run', `${FIXTURES}:nothing`, '-i', 'raw://x']), 'DISCO_FN_NOT_FOUND')
  failsWith(disco(['run', `${FIXTURES}:wcMap`, '-i', 'no:such:tag']), 'DDFS_TAG_NOT_FOUND')
  failsWith(disco(['status', 'nope@1:2:3']), 'DISCO_JOB_NOT_FOUND')
})

test('disco run -d (the short form) detaches exactly once, then kill from another process: the job ends dead', (t) => {
  const { disco } = setup(t)
  const inputs = Array.from({ length: 100 }, (_, i) => `raw://line${i}`)
  const name = ok(disco(['run', '-d', `${FIXTURES}:slowMap`, '-i', ...inputs, '-w', '1'])).trim()
  assert.match(name, /^jobs@/)
  const jobs = ok(disco(['jobs']))
  assert.equal(jobs.trim().split('\n').length, 1, `one job, not a chain of detached runners: ${jobs}`)
  assert.match(jobs, new RegExp(`active ${name}`))
  assert.equal(ok(disco(['kill', name])), `${name} dead\n`)
  assert.match(ok(disco(['status', name])), /error {4}DISCO_JOB_KILLED/)
  failsWith(disco(['wait', name]), 'DISCO_JOB_KILLED')
  assert.match(ok(disco(['events', name])), /DEAD: DISCO_JOB_KILLED/)
})

test('disco run --detach=true detaches once too; --detach=false runs in the foreground; a bad value is a usage error', (t) => {
  const { disco } = setup(t)
  const name = ok(disco(['run', '--detach=true', `${FIXTURES}:wcMap`, '-i', 'raw://a b a', '-w', '1'])).trim()
  assert.equal(ok(disco(['wait', name])), `${name} ready\n`)
  const fg = ok(disco(['run', '--detach=false', `${FIXTURES}:wcMap`, '-i', 'raw://c', '-w', '1'])).trim()
  assert.match(ok(disco(['status', fg])), /status {3}ready/, 'the foreground run waited for its job')
  assert.equal(ok(disco(['jobs'])).trim().split('\n').length, 2)
  failsWith(disco(['run', '--detach=maybe', `${FIXTURES}:wcMap`, '-i', 'raw://c']), 'CLI_USAGE', 2)
})

/** Starts `disco run` in the background and resolves with the job name it prints (bounded). */
function startRun(dir: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; name: string }> {
  const child = spawn(process.execPath, [bin, 'run', ...args], { env: { ...process.env, DISCO_STORE: join(dir, 'store'), ...env }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('no job name within 20 s')) }, 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve({ child, name: buf.slice(0, nl) }) }
    })
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`disco run exited before printing a job name: ${buf}`)) })
  })
}

function exited(child: ChildProcess): Promise<{ code: number | null; err: string }> {
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, err })))
}

test('Ctrl-C on disco run records the job as killed', async (t) => {
  const { dir, disco } = setup(t)
  const inputs = Array.from({ length: 100 }, (_, i) => `raw://line${i}`)
  const { child, name } = await startRun(dir, [`${FIXTURES}:slowMap`, '-i', ...inputs, '-w', '1'])
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const done = exited(child)
  assert.match(ok(disco(['status', name])), /status {3}active/)
  child.kill('SIGINT')
  const { code, err } = await done
  assert.equal(code, 1)
  assert.match(err, /^disco: error DISCO_JOB_KILLED: /m)
  assert.match(ok(disco(['status', name])), /status {3}dead\n[\s\S]*error {4}DISCO_JOB_KILLED/)
  assert.match(ok(disco(['events', name])), /DEAD: DISCO_JOB_KILLED/)
})

test('a runner killed with SIGKILL: its job turns dead when the heartbeat expires; wait returns, kill records it', async (t) => {
  const { dir, disco } = setup(t)
  const inputs = Array.from({ length: 100 }, (_, i) => `raw://line${i}`)
  const { child, name } = await startRun(dir, [`${FIXTURES}:slowMap`, '-i', ...inputs, '-w', '1'], { DISCO_HEARTBEAT_MS: '400' })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const done = exited(child)
  child.kill('SIGKILL')
  await done
  // `wait` returns on its own once the last heartbeat (400 ms) has expired.
  failsWith(disco(['wait', name, '--timeout', '60']), 'DISCO_RUNNER_LOST')
  assert.match(ok(disco(['jobs'])), new RegExp(`dead ${name}`))
  assert.equal(ok(disco(['kill', name])), `${name} dead\n`)
  assert.match(ok(disco(['events', name])), /DEAD: DISCO_RUNNER_LOST/)
})
