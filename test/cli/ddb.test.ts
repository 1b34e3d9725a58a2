// Drives the real `ddb` binary (dist/cli/ddb.js) as a child process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DiscoDB } from 'disco-inferno'
import { compatDir, dec, loadVectors } from '../discodb/vectors.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/ddb.js'))

interface Run { code: number | null; out: Buffer; text: string; err: string }

function setup(t: { after: (fn: () => void) => void }): { dir: string; ddb: (args: string[], input?: string | Buffer) => Run } {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const ddb = (args: string[], input?: string | Buffer): Run => {
    const r = spawnSync(process.execPath, [bin, ...args], { input: input ?? '', cwd: dir, maxBuffer: 1 << 28 })
    return { code: r.status, out: r.stdout, text: r.stdout.toString(), err: r.stderr.toString() }
  }
  return { dir, ddb }
}

function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`)
  assert.equal(r.err, '')
  return r.text
}

function failsWith(r: Run, code: string, status = 1): void {
  assert.equal(r.code, status, r.err)
  assert.match(r.err, new RegExp(`^ddb: error ${code}: .+\\n$`))
}

const TSV = 'mammals\tcow\nmammals\tdog\npets\tdog\npets\tcat\naquatic\twhale\nnew york\tbig apple\nempty\npets\thamster\r\n\n'

test('create from stdin, then keys, values, unique-values, get, items, query, info', (t) => {
  const { dir, ddb } = setup(t)
  ok(ddb(['create', 'a.ddb'], TSV))
  const db = DiscoDB.load(join(dir, 'a.ddb'))
  assert.deepEqual(db.get('pets')!.toStrings(), ['dog', 'cat', 'hamster'])
  assert.equal(ok(ddb(['keys', 'a.ddb'])), 'mammals\npets\naquatic\nnew york\nempty\n')
  assert.equal(ok(ddb(['values', 'a.ddb'])), 'cow\ndog\ndog\ncat\nhamster\nwhale\nbig apple\n')
  assert.equal(ok(ddb(['unique-values', 'a.ddb'])), 'cow\ndog\ncat\nwhale\nbig apple\nhamster\n')
  assert.equal(ok(ddb(['get', 'a.ddb', 'pets'])), 'dog\ncat\nhamster\n')
  assert.equal(ok(ddb(['get', 'a.ddb', 'empty'])), '')
  assert.equal(ok(ddb(['get', 'a.ddb', 'pets', '--json'])), '"dog"\n"cat"\n"hamster"\n')
  assert.equal(ok(ddb(['items', 'a.ddb'])), 'mammals\tcow\nmammals\tdog\npets\tdog\npets\tcat\npets\thamster\naquatic\twhale\nnew york\tbig apple\nempty\n')
  assert.equal(ok(ddb(['query', 'a.ddb', 'pets & ~mammals'])), 'cat\nhamster\n')
  assert.equal(ok(ddb(['query', 'a.ddb', '  new york | aquatic '])), 'whale\nbig apple\n')
  assert.equal(ok(ddb(['query', 'a.ddb', 'pets | mammals', '--count'])), '4\n')
  writeFileSync(join(dir, 'view.txt'), 'cat\ncow\nnot-there\n')
  assert.equal(ok(ddb(['query', 'a.ddb', 'pets | mammals', '--view', 'view.txt'])), 'cow\ncat\n')
  const info = JSON.parse(ok(ddb(['info', 'a.ddb', '--json'])))
  assert.equal(info.numKeys, 5)
  assert.equal(info.numUniqueValues, 6)
  assert.equal(info.numValues, 7)
  assert.equal(info.hashed, false)
  assert.equal(info.size, readFileSync(join(dir, 'a.ddb')).length)
  assert.match(ok(ddb(['info', 'a.ddb'])), /^size: \d+\nnumKeys: 5\n/)
})

test('items --json feeds create --json; binary data through --encoding base64 and hex', (t) => {
  const { dir, ddb } = setup(t)
  const key = Buffer.from([0, 255, 10, 9, 13])
  const vals = [Buffer.from([]), Buffer.from([200, 10]), Buffer.from('x\ty')]
  const lines = [JSON.stringify([key.toString('base64'), vals.map((v) => v.toString('base64'))]), JSON.stringify([Buffer.from('k').toString('base64'), []])]
  ok(ddb(['create', '--json', '--encoding', 'base64', 'b.ddb', '-'], lines.join('\n')))
  const db = DiscoDB.load(join(dir, 'b.ddb'))
  assert.deepEqual(db.get(key)!.toArray().map((v) => Buffer.from(v).toString('hex')), vals.map((v) => v.toString('hex')))
  assert.equal(ok(ddb(['get', 'b.ddb', key.toString('hex'), '--encoding', 'hex'])), vals.map((v) => v.toString('hex') + '\n').join(''))
  const items = ok(ddb(['items', 'b.ddb', '--json', '--encoding', 'base64']))
  assert.equal(items, lines.join('\n') + '\n')
  ok(ddb(['create', '--json', '--encoding', 'base64', 'c.ddb', '-'], items))
  assert.deepEqual(readFileSync(join(dir, 'c.ddb')), readFileSync(join(dir, 'b.ddb')))
  // Raw output keeps bytes as they are.
  assert.deepEqual(ddb(['unique-values', 'b.ddb']).out, Buffer.concat(vals.flatMap((v) => [v, Buffer.from('\n')])))
})

test('create reproduces the original byte for byte (animals vector as TSV)', (t) => {
  const v = loadVectors().find((x) => x.name === 'animals')
  assert.ok(v, `animals vector in ${compatDir}`)
  const { dir, ddb } = setup(t)
  const build = (v as unknown as { build: { input: [string, string[]][] } }).build
  const tsv = build.input.map(([k, vs]) => (vs.length ? vs.map((x) => `${k}\t${x}\n`).join('') : `${k}\n`)).join('')
  writeFileSync(join(dir, 'animals.tsv'), tsv)
  ok(ddb(['create', 'animals.ddb', 'animals.tsv']))
  assert.equal(createHash('sha256').update(readFileSync(join(dir, 'animals.ddb'))).digest('hex'), v.sha256)
  assert.deepEqual(Buffer.from(readFileSync(join(dir, 'animals.ddb'))), Buffer.from(readFileSync(v.ddb)))
  void dec
})

test('metaquery on the deref vector; --unique-items', (t) => {
  const { ddb } = setup(t)
  ok(ddb(['create', 'd.ddb'], 'A\tB\nA\tC\nB\tD\nC\tE\nD\tF\nE\tG\n'))
  // The literal order inside an expanded query is not specified: compare them sorted.
  const norm = (line: string): string => line.split('\t')[0]!.split(' | ').sort().join(' | ') + '\t' + line.split('\t')[1]
  const lines = ok(ddb(['metaquery', 'd.ddb', '*A | B'])).trim().split('\n').map(norm).sort()
  assert.deepEqual(lines, ['B\tD', 'B | C\tD', 'B | C\tE'])
  assert.equal(ok(ddb(['query', 'd.ddb', '**A | *B'])), 'F\nG\n')
  const multi = ddb(['create', 'm.ddb'], 'k\tv\nk\tv\n')
  assert.equal(multi.code, 0)
  assert.match(multi.err, /^ddb: note: m\.ddb is a multiset/)
  ok(ddb(['create', '--unique-items', 'u.ddb'], 'k\tv\nk\tv\n'))
  assert.equal(JSON.parse(ok(ddb(['info', 'm.ddb', '--json']))).multiset, true)
  assert.equal(JSON.parse(ok(ddb(['info', 'u.ddb', '--json']))).multiset, false)
  failsWith(ddb(['query', 'm.ddb', 'k']), 'DDB_MULTISET_QUERY')
  assert.equal(ok(ddb(['get', 'm.ddb', 'k'])), 'v\nv\n')
})

test('compression: on by default at ≥ 5 MiB of unique values, off with --no-compress', (t) => {
  const { dir, ddb } = setup(t)
  const lines: string[] = []
  for (let i = 0; i < 120000; i++) lines.push(`key${i % 4000}\tvalue number ${i} of the compression test run`)
  writeFileSync(join(dir, 'big.tsv'), lines.join('\n'))
  ok(ddb(['create', 'z.ddb', 'big.tsv']))
  ok(ddb(['create', '--no-compress', 'n.ddb', 'big.tsv']))
  const z = JSON.parse(ok(ddb(['info', 'z.ddb', '--json'])))
  const n = JSON.parse(ok(ddb(['info', 'n.ddb', '--json'])))
  assert.equal(z.compressed, true)
  assert.equal(n.compressed, false)
  assert.equal(z.hashed, true)
  assert.ok(z.size < n.size, `compressed ${z.size} < raw ${n.size}`)
  assert.equal(ok(ddb(['get', 'z.ddb', 'key7'])), ok(ddb(['get', 'n.ddb', 'key7'])))
})

test('errors: one coded line, non-zero exit, no partial output file', (t) => {
  const { dir, ddb } = setup(t)
  ok(ddb(['create', 'a.ddb'], TSV))
  failsWith(ddb(['get', 'a.ddb', 'nope']), 'CLI_KEY_NOT_FOUND')
  failsWith(ddb(['query', 'a.ddb', 'pets &']), 'DDB_QUERY_SYNTAX')
  failsWith(ddb(['keys', 'missing.ddb']), 'IO_ENOENT')
  failsWith(ddb(['create', 'x.ddb', 'missing.tsv']), 'IO_ENOENT')
  writeFileSync(join(dir, 'junk.ddb'), Buffer.alloc(100, 7))
  failsWith(ddb(['info', 'junk.ddb']), 'DDB_BAD_MAGIC')
  failsWith(ddb(['create', '--json', 'j.ddb'], '["a", ["b"]]\n{"not": "an array"}\n'), 'CLI_BAD_INPUT')
  assert.equal(existsSync(join(dir, 'j.ddb')), false, 'nothing written on a bad input line')
  failsWith(ddb(['get', 'a.ddb', 'zz', '--encoding', 'hex']), 'CLI_USAGE', 2)
  failsWith(ddb(['create']), 'CLI_USAGE', 2)
  failsWith(ddb(['get', 'a.ddb', 'pets', '--encoding', 'latin9']), 'CLI_USAGE', 2)
})

test('--help on every command', (t) => {
  const { ddb } = setup(t)
  assert.match(ok(ddb(['--help'])), /Usage: ddb/)
  for (const cmd of ['create', 'info', 'keys', 'values', 'unique-values', 'get', 'query', 'metaquery', 'items']) {
    const text = ok(ddb([cmd, '--help']))
    assert.match(text, new RegExp(`Usage: ddb ${cmd}`))
    assert.match(text, /Example:/)
  }
})

test('parser mistakes (unknown command, unknown option, missing argument) exit 2 with CLI_USAGE', (t) => {
  const { ddb } = setup(t)
  const unknown = ddb(['frobnicate'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.err, /^ddb: error CLI_USAGE: unknown command 'frobnicate'/)
  const badOption = ddb(['keys', 'a.ddb', '--no-such-flag'])
  assert.equal(badOption.code, 2)
  assert.match(badOption.err, /^ddb: error CLI_USAGE: unknown option '--no-such-flag'/)
  const missing = ddb(['get', 'a.ddb'])
  assert.equal(missing.code, 2)
  assert.match(missing.err, /^ddb: error CLI_USAGE: missing required argument 'key'/)
})
