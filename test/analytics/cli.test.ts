// Drives the real `analytics` binary (dist/cli/analytics.js): build with worker threads and a
// progress-free pipe, every question with --json / --csv / tables, usage and coded errors, serve.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore, Model, funnel, retention, trends } from '#src/index.js'
import { tempDir, writeEvents, T0 } from './seed.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/analytics.js'))
const ddfsBin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))

interface Run { code: number | null; out: string; err: string }

test('analytics command line', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const run = (args: string[], cli = bin): Run => {
    const r = spawnSync(process.execPath, [cli, '--store', store, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 })
    return { code: r.status, out: r.stdout, err: r.stderr }
  }
  const ok = (r: Run): string => {
    assert.equal(r.code, 0, r.err)
    return r.out
  }
  const files = writeEvents(dir, 'ev', { seed: 3, users: 50, files: 2, perFile: 800, start: T0, days: 30 })
  ok(run(['push', 'events:cli', ...files], ddfsBin))

  await t.test('build (worker threads) and --help on every verb', () => {
    const out = ok(run(['build', '-i', 'events:cli', '--shards', '2']))
    assert.match(out, /^analytics:model: batch 0, \d+ events of 50 users in 2 shard indexes .*invalid skipped/)
    for (const verb of ['build', 'funnel', 'retention', 'trends', 'segment', 'serve']) {
      assert.match(ok(run([verb, '--help'])), new RegExp(`Usage: analytics ${verb}`))
    }
  })

  await t.test('questions: --json equals the library, --csv and tables', async () => {
    const model = await Model.open(openStore(store), 'analytics:model')
    const f = JSON.parse(ok(run(['funnel', 'signup', 'view', 'purchase', '--mode', 'strict', '-w', '2d', '--json'])))
    assert.deepEqual(f, await funnel(model, { steps: ['signup', 'view', 'purchase'], mode: 'strict', window: '2d' }))
    const csv = ok(run(['funnel', 'signup', 'view', '--csv'])).trim().split('\n')
    assert.equal(csv[0], 'segment,group,step,event,users,conversion,step_conversion,drop_off,median_ms,mean_ms')
    assert.equal(csv.length, 3)
    assert.match(ok(run(['funnel', 'signup', 'view'])), /^segment\s+group\s+step\s+event\s+users/)
    const r = JSON.parse(ok(run(['retention', '--start', 'view', '--return', 'purchase', '--period', 'day', '--last', '5', '--mode', 'on-or-after', '--json'])))
    assert.deepEqual(r, await retention(model, { start: 'view', return: 'purchase', period: 'day', last: 5, mode: 'on-or-after' }))
    assert.match(ok(run(['retention', '--start', 'view', '--mode', 'bitdeli'])), /\+10/)
    const tr = JSON.parse(ok(run(['trends', '--measure', 'total,unique', '--measure', 'mau', '--period', 'week', '--last', '3', '--json'])))
    assert.deepEqual(tr, await trends(model, { measures: ['total', 'unique', 'mau'], period: 'week', last: 3 }))
    const tcsv = ok(run(['trends', '-e', 'view', '--last', '4', '--csv'])).trim().split('\n')
    assert.deepEqual(tcsv[0], 'period,all:total,all:unique')
    assert.equal(tcsv.length, 5)
  })

  await t.test('segments: size, save, list, use', () => {
    const size = Number(ok(run(['segment', 'signup & ~purchase'])).split(' ')[0])
    assert.ok(size >= 0)
    assert.match(ok(run(['segment', '-r', 'signup', '-r', 'NOT purchase', '--save', 'nobuy', '--label', 'no purchase'])), new RegExp(`^nobuy: ${size} users`))
    assert.match(ok(run(['segment', '--list'])), /nobuy\s+\d+\s+no purchase/)
    const f = JSON.parse(ok(run(['funnel', 'signup', 'purchase', '-s', 'nobuy', '--json'])))
    assert.equal(f.results[1].steps[1].users, 0)
  })

  await t.test('errors: one coded line, exit 1 (failure) or 2 (usage)', () => {
    const cases: [string[], string, number][] = [
      [['funnel', 'a', '--mode', 'sideways'], 'CLI_USAGE', 2],
      [['funnel', 'a', '--from', '2026-02-30'], 'ANALYTICS_BAD_PARAM', 1],
      [['funnel', 'a', '-w', 'later'], 'ANALYTICS_BAD_PARAM', 1],
      [['retention'], 'CLI_USAGE', 2],
      [['trends', '--measure', 'dau'], 'ANALYTICS_BAD_PARAM', 1],
      [['segment', 'a & ('], 'ANALYTICS_BAD_SEGMENT', 1],
      [['segment'], 'CLI_USAGE', 2],
      [['funnel', 'a', '-s', 'ghost'], 'ANALYTICS_NO_SEGMENT', 1],
      [['-m', 'analytics:none', 'funnel', 'a'], 'ANALYTICS_NO_MODEL', 1],
      [['build', '-i', 'events:none'], 'ANALYTICS_NO_INPUT', 1],
      [['build', '-i', 'events:cli', '--shards', '3'], 'ANALYTICS_BAD_PARAM', 1],
      [['serve', '--host', '0.0.0.0'], 'CLI_USAGE', 2],
    ]
    for (const [args, code, status] of cases) {
      const r = run(args)
      assert.equal(r.code, status, `${args.join(' ')}: ${r.err}`)
      assert.match(r.err.split('\n')[0]!, new RegExp(`^analytics: error ${code}: `), args.join(' '))
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace')
    }
  })

  await t.test('serve binds 127.0.0.1, prints its URL and answers', async () => {
    const child = spawn(process.execPath, [bin, '--store', store, 'serve', '--port', '0', '--token', 'tok'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => { if (child.exitCode === null) child.kill('SIGTERM') })
    const url = await new Promise<string>((res, rej) => {
      let buf = ''
      const timer = setTimeout(() => rej(new Error('serve did not start in 30 s: ' + buf)), 30_000)
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString()
        const m = /serving analytics:model on (http:\/\/127\.0\.0\.1:\d+\/)#token=tok/.exec(buf)
        if (m) { clearTimeout(timer); res(m[1]!) }
      })
    })
    assert.equal((await fetch(url + 'api/info')).status, 401)
    const info = await (await fetch(url + 'api/info', { headers: { authorization: 'Bearer tok' } })).json() as { users: number }
    assert.equal(info.users, 50)
    child.kill('SIGTERM')
    await new Promise((res) => child.once('exit', res))
  })
})
