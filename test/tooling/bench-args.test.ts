// The bench scripts' command line (bench/args.ts), on a real script (bench/roaring.js, whose only
// option is --json) and a real parse: --help prints the usage from the script's top comment, and
// a mistake is one coded line with exit status 2 (a near miss names the option meant), not a
// stack trace and not an option silently ignored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readdirSync, readFileSync } from 'node:fs'
import { BENCH_HELPERS, scriptUsage } from '../../bench/args.js'

const BENCH = fileURLToPath(new URL('../../bench/', import.meta.url))

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [BENCH + script, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

test('--help prints the script\'s usage (its top comment) and exits 0', () => {
  const r = run('roaring.js', ['--help'])
  assert.equal(r.status, 0)
  assert.match(r.out, /^The query workload of the shared dataset evaluated with Roaring bitmaps/)
  assert.match(r.out, /node build\/bench\/roaring\.js \[--json\]/)
  assert.equal(r.err, '')
})

test('an unknown option is a coded usage error naming the option meant', () => {
  const r = run('roaring.js', ['--jsno'])
  assert.equal(r.status, 2)
  assert.equal(r.err, 'bench/roaring: error CLI_USAGE: unknown option --jsno (did you mean --json?) (--help lists the options)\n')
  assert.equal(r.out, '')
})

test('a value given to a flag, or a missing value, is a usage error too', () => {
  const r = run('roaring.js', ['--json=yes'])
  assert.equal(r.status, 2)
  assert.match(r.err, /^bench\/roaring: error CLI_USAGE: .*--json.*\n$/)
  const s = run('read.js', ['--runs'])
  assert.equal(s.status, 2)
  assert.match(s.err, /^bench\/read: error CLI_USAGE: .*--runs.*argument missing/)
})

test('every bench script with options parses them through benchArgs', () => {
  // A script reading process.argv by hand ignores a misspelled option: each one goes through args.ts.
  for (const f of readdirSync(BENCH).filter((f) => f.endsWith('.js') && !BENCH_HELPERS.has(f))) {
    const text = readFileSync(BENCH + f, 'utf8')
    assert.match(text, /benchArgs\(import\.meta\.url/, `${f} parses its options with benchArgs`)
    assert.ok(scriptUsage(BENCH + f).trim().length > 0, `${f} starts with a usage comment`)
  }
})
