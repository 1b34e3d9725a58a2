// One product, five commands (issues 12, 14): --version, no arguments, exit statuses, size units, bare
// file names, progress that never mixes with results, ddb multisets, inferno --format, disco
// jobs --json / events --follow. Runs the built binaries as child processes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from 'disco-inferno'
import { parseSize, Progress, writeOut } from '#src/cli/common.js'

const bin = (name: string) => fileURLToPath(import.meta.resolve(`#src/cli/${name}.js`))
const JOBS = fileURLToPath(new URL('../disco/fixtures/jobs.js', import.meta.url))
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'conventions-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function run(tool: string, args: string[], cwd = tmpdir(), input = '') {
  const r = spawnSync(process.execPath, [bin(tool), ...args], {
    cwd, input, encoding: 'utf8', env: { ...process.env, DISCO_STORE: join(cwd, 'store') },
  })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

const TOOLS = ['ddb', 'ddfs', 'disco', 'inferno', 'analytics']

test('every tool: --version is the package version, no arguments is help with exit 2, a usage mistake exits 2', () => {
  for (const tool of TOOLS) {
    const v = run(tool, ['--version'])
    assert.deepEqual([v.status, v.out], [0, `${VERSION}\n`], tool)
    const none = run(tool, [])
    assert.equal(none.status, 2, tool)
    assert.equal(none.out, '', tool)
    assert.match(none.err, new RegExp(`Usage: ${tool}`), tool)
    const bad = run(tool, ['--no-such-flag'])
    assert.equal(bad.status, 2, tool)
    assert.match(bad.err, new RegExp(`^${tool}: error CLI_USAGE: `), tool)
  }
})

test('one size parser: KB/MB/GB are 1000^n, KiB/MiB/GiB 1024^n, a plain number in the given unit', () => {
  assert.equal(parseSize('64MB', '-S'), 64e6)
  assert.equal(parseSize('64MiB', '-S'), 64 * 1024 ** 2)
  assert.equal(parseSize('1.5gb', '-S'), 1.5e9)
  assert.equal(parseSize('512KiB', '-S'), 512 * 1024)
  assert.equal(parseSize('100B', '-S'), 100)
  assert.equal(parseSize('64', '-S'), 64 * 1024 ** 2)
  assert.equal(parseSize('300', '--size', 'MB'), 300e6)
  assert.throws(() => parseSize('64 parsecs', '-S'), { code: 'CLI_USAGE', message: /KB\/MB\/GB = 1000\^n, KiB\/MiB\/GiB = 1024\^n/ })
})

test('progress: fits the width, stays below 100 % until done, and is cleared before results are written', () => {
  assert.equal(Progress.format('x', 10, 10, '', 1, 80).includes('99%'), true)
  assert.equal(Progress.format('x', 10, 10, '', 1, 80).includes('100%'), false)
  const long = Progress.format('label', 5, 10, 'y'.repeat(200), 1, 40)
  assert.ok(long.length <= 39, long)
  const writes: string[] = []
  const stderr = process.stderr.write
  const stdout = process.stdout.write
  process.stderr.write = ((s: string) => { writes.push(`err:${s}`); return true }) as typeof process.stderr.write
  process.stdout.write = ((s: string) => { writes.push(`out:${s}`); return true }) as typeof process.stdout.write
  try {
    const p = new Progress('job', true)
    p.update(1, 4, 'working')
    writeOut('result\n')
    p.done()
  } finally {
    process.stderr.write = stderr
    process.stdout.write = stdout
  }
  assert.equal(writes.length, 3, JSON.stringify(writes))
  assert.match(writes[0]!, /^err:\r\x1b\[2Kjob \[/)
  assert.deepEqual(writes.slice(1), ['err:\r\x1b[2K', 'out:result\n'])
})

test('bare file names: the same hint in every verb that takes tags', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'app.ndjson'), '{"a":1}\n')
  const chunk = run('ddfs', ['chunk', 't:x', 'app.ndjson'], dir)
  assert.equal(chunk.status, 1)
  assert.match(chunk.err, /^ddfs: error CLI_BARE_FILE_NAME: app\.ndjson is read as a tag name, and there is no such tag; write \.\/app\.ndjson to read the file\n$/)
  const disco = run('disco', ['run', `${JOBS}:jobs.wordcount`, '-i', 'app.ndjson'], dir)
  assert.equal(disco.status, 1)
  assert.match(disco.err, /^disco: error CLI_BARE_FILE_NAME: .*write \.\/app\.ndjson/)
  // With ./ it is the file; a bare name that is a tag stays the tag.
  assert.equal(run('ddfs', ['chunk', 't:x', './app.ndjson'], dir).status, 0)
  writeFileSync(join(dir, 'logs'), '{"a":1}\n')
  assert.match(run('ddfs', ['chunk', 't:y', 'logs'], dir).err, /CLI_BARE_FILE_NAME: logs is read as a tag name/)
  await openStore(join(dir, 'store')).tag('logs', [])
  assert.equal(run('ddfs', ['chunk', 't:y', 'logs'], dir).status, 0)
})

test('ddb create with a repeated pair explains multisets; DDB_MULTISET_QUERY says how to avoid them', (t) => {
  const dir = tempDir(t)
  const made = run('ddb', ['create', 'm.ddb'], dir, 'k\tv\nk\tv\n')
  assert.equal(made.status, 0)
  assert.match(made.err, /m\.ddb is a multiset: .*--unique-items/)
  const q = run('ddb', ['query', 'm.ddb', 'k'], dir)
  assert.equal(q.status, 1)
  assert.match(q.err, /^ddb: error DDB_MULTISET_QUERY: .*ddb create --unique-items/)
  const unique = run('ddb', ['create', '--unique-items', 'u.ddb'], dir, 'k\tv\nk\tv\n')
  assert.deepEqual([unique.status, unique.err], [0, ''])
  assert.equal(run('ddb', ['query', 'u.ddb', 'k'], dir).out, 'v\n')
})

test('inferno --format csv|tsv|json', async (t) => {
  const dir = tempDir(t)
  assert.equal(run('inferno', ['--example-rules', 'rules'], dir).status, 0)
  await openStore(join(dir, 'store')).chunk('example:chunk:users', [join(dir, 'rules', 'names.json')])
  const args = ['--store', 'store', '-y', 'rules', '-i', 'names.last_names_json', '--no-progress']
  const csv = run('inferno', args, dir)
  assert.equal(csv.out.split('\r\n')[0], 'last,count', csv.err)
  assert.equal(run('inferno', [...args, '--format', 'csv'], dir).out, csv.out)
  const tsv = run('inferno', [...args, '--format', 'tsv'], dir)
  assert.equal(tsv.out, csv.out.replaceAll(',', '\t'))
  const json = run('inferno', [...args, '--format', 'json'], dir)
  const recs = json.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(recs[0], { _keyset: 'last_name_keyset', last: 'Nahasapeemapetilon', count: 6 })
  assert.equal(recs.length, csv.out.trim().split('\r\n').length - 1)
  assert.equal(run('inferno', [...args, '--format', 'xml'], dir).status, 2)
})

test('disco jobs --json and events --follow (waits for a detached job to finish)', (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'words.txt'), 'a b\nb c\n')
  const detached = run('disco', ['run', '-d', `${JOBS}:jobs.wordcount`, '-i', './words.txt'], dir)
  assert.equal(detached.status, 0, detached.err)
  const name = detached.out.trim()
  const follow = run('disco', ['events', '--follow', name], dir)
  assert.equal(follow.status, 0, follow.err)
  assert.match(follow.out.trim().split('\n').at(-1)!, /READY: Job done/)
  const jobs = run('disco', ['jobs', '--json'], dir).out.trim().split('\n').map((l) => JSON.parse(l) as { name: string; status: string })
  assert.deepEqual(jobs.map((j) => [j.name, j.status]), [[name, 'ready']])
  const events = run('disco', ['events', '--json', name], dir).out.trim().split('\n').map((l) => JSON.parse(l) as unknown[])
  assert.ok(events.every((e) => typeof (e as { message?: unknown }).message === 'string'))
})

test('no arguments: help with exit 2, except where a command runs on its defaults (npm run demo)', async () => {
  const { Command } = await import('commander')
  const { runCli } = await import('#src/cli/common.js')
  const saved = process.exitCode
  const stderr = process.stderr.write
  try {
    let ran = 0
    const make = () => new Command('t').option('--size <n>', 'size', '1').action(() => { ran++ })
    process.stderr.write = (() => true) as typeof process.stderr.write
    process.exitCode = undefined
    await runCli('t', make(), ['node', 't'])
    assert.equal(ran, 0, 'the default shows help instead of running')
    assert.equal(process.exitCode, 2)
    process.exitCode = undefined
    await runCli('t', make(), ['node', 't'], { helpWhenEmpty: false })
    assert.equal(ran, 1, 'helpWhenEmpty: false runs the action on its defaults')
    assert.notEqual(process.exitCode, 2)
  } finally {
    process.stderr.write = stderr
    process.exitCode = saved
  }
})
