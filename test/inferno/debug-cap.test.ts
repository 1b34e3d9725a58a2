// -D (disco_debug) on a big input: each task keeps its first debug lines and notes how many more it
// dropped, so the job's log and the process stay bounded; the results are those of a run without -D.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from 'disco-inferno'

const BIN = fileURLToPath(new URL('../../../dist/cli/inferno.js', import.meta.url))
const RECORDS = 200_000
const CAP = 1000 // DEBUG_LINES_PER_TASK
let dir = ''

function inferno(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--store', join(dir, 'store'), '-y', join(dir, 'rules'), ...args], {
    encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 300_000,
    env: { ...process.env, HOME: dir, XDG_STATE_HOME: join(dir, 'state') },
  })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inferno-debug-cap-'))
  const w = spawnSync(process.execPath, [BIN, '--example-rules', join(dir, 'rules')], { encoding: 'utf8' })
  assert.equal(w.status, 0, w.stderr)
  const lines: string[] = []
  for (let i = 0; i < RECORDS; i++) lines.push(JSON.stringify({ first: `F${i % 50}`, last: `L${i % 7}` }))
  const file = join(dir, 'people.json')
  writeFileSync(file, lines.join('\n') + '\n')
  await openStore(join(dir, 'store')).chunk('example:chunk:users', [file])
})

after(() => rmSync(dir, { recursive: true, force: true }))

test('-D on 200k records: debug lines capped per task with a note, results unchanged', () => {
  const plain = inferno(['-i', 'names.last_names_json'])
  assert.equal(plain.status, 0, plain.err)
  const debug = inferno(['-i', 'names.last_names_json', '-D'])
  assert.equal(debug.status, 0, debug.err)
  assert.equal(debug.out, plain.out)
  assert.match(plain.out, /^last,count\r\nL0,/)
  const err = debug.err.split('\n')
  const inputs = err.filter((l) => l.includes(' input: {')).length
  const emits = err.filter((l) => l.includes(' emit: [')).length
  const reduces = err.filter((l) => l.includes(' reduce: [')).length
  // One map task over this blob: its first CAP lines (input, emit, ...), not one per record.
  assert.ok(inputs > 0 && emits > 0 && reduces > 0, debug.err.slice(0, 2000))
  assert.ok(inputs + emits <= CAP, `${inputs} input and ${emits} emit lines`)
  assert.ok(err.length < 10 * CAP, `${err.length} stderr lines`)
  const notes = err.map((l) => /… (\d+) more debug lines suppressed \(-D keeps the first 1000 per task\)/.exec(l)).filter((m) => m !== null)
  assert.ok(notes.length >= 1, 'a note of the suppressed lines')
  // Every record was logged or counted: the map task's shown plus suppressed lines cover them.
  const dropped = notes.reduce((n, m) => n + Number(m[1]), 0)
  assert.ok(dropped + inputs >= RECORDS, `${dropped} dropped`)
  assert.ok(err.some((l) => l.includes('debug line limit reached (1000 per task)')))
})
