// Feedback for rule and job authors (issue 12): load errors name file:line:column with their own
// codes, `.ts` modules load through esbuild (inferno and disco alike), misspelt keywords are errors
// that name the nearest valid keyword.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prettyLine } from '#src/util/log.js'
import { defineKeyset, defineRule, findRules, inlineEngine, MemoryStore, openStore, runRule } from 'disco-inferno'

const here = dirname(fileURLToPath(import.meta.url))
const INFERNO = fileURLToPath(new URL('../../../dist/cli/inferno.js', import.meta.url))
const DISCO = fileURLToPath(new URL('../../../dist/cli/disco.js', import.meta.url))

/** A temp dir inside the package (so rule modules resolve `disco-inferno` by name), removed after the test. */
function tempRules(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(here, 'feedback-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function run(bin: string, args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, DISCO_STORE: join(cwd, 'store') } })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

const RULE = "import { defineRule } from 'disco-inferno'\n"

test('load errors: syntax errors in .ts and .js name file:line:column; throws and missing imports have their own codes', async (t) => {
  const dir = tempRules(t)
  mkdirSync(join(dir, 'rules'))
  const put = (name: string, text: string) => writeFileSync(join(dir, 'rules', name), text)
  put('tsbad.ts', `${RULE}export const rules = [defineRule({ name: 'x', keyParts: ['a'] valueParts: ['b'] })]\n`)
  put('jsbad.js', `${RULE}export const rules = [\n  defineRule({ name: 'x' }) defineRule({})]\n`)
  put('deep.js', `${RULE}import './helper.js'\nexport const rules = []\n`)
  put('helper.js', 'export const a = 1\nexport const b = (\n')
  put('throws.js', `${RULE}const limit = 3\nif (limit > 2) throw new Error('limit too high')\n`)
  put('missing.js', `${RULE}import './not-there.js'\nexport const rules = []\n`)
  const cases: [string, string, RegExp][] = [
    ['tsbad', 'MODULE_SYNTAX', /tsbad\.ts:2:63: Expected "\}" but found "valueParts"/],
    ['jsbad', 'MODULE_SYNTAX', /jsbad\.js:3:29: Expected "\]" but found "defineRule"/],
    ['deep', 'MODULE_SYNTAX', /helper\.js:3:1: Unexpected end of file/],
    ['throws', 'MODULE_LOAD_FAILED', /throws\.js:3:22: limit too high/],
    ['missing', 'MODULE_NOT_FOUND', /not-there\.js/],
  ]
  for (const [mod, code, where] of cases) {
    await assert.rejects(findRules(join(dir, 'rules'), mod), (e: Error & { code?: string }) => {
      assert.equal(e.code, code, `${mod}: ${e.message}`)
      assert.match(e.message, where)
      return true
    })
    // The CLI: one line, exit 1, never an empty CSV with exit 0.
    const r = run(INFERNO, ['-y', 'rules', '-i', mod], dir)
    assert.equal(r.status, 1, r.err)
    assert.equal(r.out, '')
    assert.match(r.err, new RegExp(`^inferno: error ${code}: [^\\n]*\\n$`))
  }
})

test('disco run loads .ts job modules; a broken job module is MODULE_SYNTAX, not DISCO_FN_NOT_FOUND', (t) => {
  const dir = tempRules(t)
  writeFileSync(join(dir, 'words.txt'), 'a b a\nc a\n')
  writeFileSync(join(dir, 'job.ts'), [
    'type Emit = (key: string, value: number) => void',
    'export function map(line: string, _params: unknown, emit: Emit): void { for (const w of line.split(" ")) emit(w, 1) }',
    'export function reduce(key: string, values: Iterable<number>, _params: unknown, emit: Emit): void { let n = 0; for (const v of values) n += v; emit(key, n) }',
    '',
  ].join('\n'))
  const ok = run(DISCO, ['run', './job.ts', '-i', './words.txt'], dir)
  assert.equal(ok.status, 0, ok.err)
  const res = run(DISCO, ['results', '@'], dir)
  assert.deepEqual(res.out.trim().split('\n').map((l) => JSON.parse(l)).sort(), [['a', 3], ['b', 1], ['c', 1]])
  writeFileSync(join(dir, 'bad.ts'), 'export function map(line: string) {\n  return (\n}\n')
  const bad = run(DISCO, ['run', './bad.ts', '-i', './words.txt'], dir)
  assert.equal(bad.status, 1)
  assert.match(bad.err, /^disco: error MODULE_SYNTAX: \S*bad\.ts:3:1: [^\n]+\n$/)
})

test('misspelt keywords are errors naming the nearest valid one; user parameters only under params', () => {
  const cases: [object, RegExp][] = [
    [{ name: 'r', keyparts: ['a'] }, /unknown keyword keyparts \(did you mean keyParts\?\)/],
    [{ name: 'r', mapInputstrem: 'json' }, /unknown keyword mapInputstrem \(did you mean mapInputStream\?\)/],
    [{ name: 'r', fieldTransform: {} }, /unknown keyword fieldTransform \(did you mean fieldTransforms\?\)/],
    [{ name: 'r', geo_codes: ['CA'] }, /unknown keyword geo_codes; user parameters go under params/],
    [{ name: 'r', keysets: { k: { keyParts: ['a'], valuesParts: ['n'] } } }, /rule r, keyset k: unknown keyword valuesParts \(did you mean valueParts\?\)/],
  ]
  for (const [opts, msg] of cases) {
    assert.throws(() => defineRule(opts as never), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'INFERNO_RULE_INVALID')
      assert.match(e.message, msg)
      return true
    })
  }
  assert.throws(() => defineKeyset({ keyPart: ['a'] } as never), { code: 'INFERNO_RULE_INVALID', message: /did you mean keyParts\?/ })
  assert.deepEqual(defineRule({ name: 'r', params: { geo_codes: ['CA'] } }).params, { geo_codes: ['CA'] })
})

test('a misspelt keyword in a rule module fails the run at the defineRule call', (t) => {
  const dir = tempRules(t)
  mkdirSync(join(dir, 'rules'))
  writeFileSync(join(dir, 'rules', 'typo.js'), `${RULE}export const rules = [\n  defineRule({ name: 'x', keyparts: ['a'] }),\n]\n`)
  const r = run(INFERNO, ['-y', 'rules', '-i', 'typo'], dir)
  assert.equal(r.status, 1)
  assert.match(r.err, /^inferno: error INFERNO_RULE_INVALID: \S*typo\.js:3:3: defineRule x: unknown keyword keyparts \(did you mean keyParts\?\)/)
})

test('counters: bad, skipped (no {), invalid UTF-8, missing key part, non-numeric, per blob; readable keys in reduce errors', async () => {
  const store = new MemoryStore()
  const a = await store.putLines('a', ['{"k":"x","n":1}', 'garbage', '', '{bad json}', '{"k":"x","n":"many"}', '{"n":2}'])
  const b = await store.putLines('b', ['{"k":"y\uFFFD","n":1}', '{"k":"y","n":3}', '[1,2]'])
  await store.append('t', [a, b])
  const rule = defineRule({
    name: 'c', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['k'], valueParts: ['n'],
    partsPostprocess: [(key) => { if (key[1] === 'y') throw new Error('no y') ; return undefined }],
  })
  const r = await runRule(rule, { store, engine: inlineEngine, out: () => {} })
  assert.equal(r.status, 'done')
  const { read, map } = r.stats
  assert.deepEqual([read.lines, read.records, read.badLines, read.skippedLines, read.invalidUtf8Lines], [9, 4, 1, 3, 1])
  assert.deepEqual([map.recordsIn, map.missingKeyParts, map.nonNumericValues], [4, 1, 1])
  const perBlob = Object.fromEntries(r.stats.blobs.map((s) => [s.blob.replace(/\$.*/, '').replace('mem://blob/', ''), [s.lines, s.badLines, s.skippedLines, s.invalidUtf8Lines, s.missingKeyParts, s.nonNumericValues]]))
  assert.deepEqual(perBlob, { a: [6, 1, 2, 0, 1, 1], b: [3, 0, 1, 1, 0, 0] })
  assert.equal(r.reduceErrors.errors, 1)
  assert.equal(r.reduceErrors.errorSample[0], 'reduce error in rule c for key ["_default","y"]: no y')
  assert.ok(!r.reduceErrors.errorSample[0]!.includes('\u0000'))
})

test('warnings: every line bad, pre-processors drop everything, N records in / 0 rows out; --strict fails, --json carries them', async (t) => {
  const dir = tempRules(t)
  mkdirSync(join(dir, 'rules'))
  writeFileSync(join(dir, 'rules', 'w.js'), `${RULE}export const rules = [
  defineRule({ name: 'allbad', sourceTags: ['w:bad'], mapInputStream: 'json', keyParts: ['k'] }),
  defineRule({ name: 'dropall', sourceTags: ['w:good'], mapInputStream: 'json', keyParts: ['k'], partsPreprocess: [() => null] }),
  defineRule({ name: 'nokey', sourceTags: ['w:good'], mapInputStream: 'json', keyParts: ['missing'] }),
  defineRule({ name: 'fine', sourceTags: ['w:good'], mapInputStream: 'json', keyParts: ['k'], valueParts: ['n'] }),
]\n`)
  const store = openStore(join(dir, 'store'))
  writeFileSync(join(dir, 'bad.ndjson'), '{oops}\n{"k":\n')
  writeFileSync(join(dir, 'good.ndjson'), '{"k":"a","n":1}\n{"k":"b","n":"two"}\n')
  await store.chunk('w:bad', [join(dir, 'bad.ndjson')])
  await store.chunk('w:good', [join(dir, 'good.ndjson')])
  const cases: [string, RegExp | null][] = [
    ['allbad', /warning: w\.allbad: no line gave a record: 2 lines, 2 bad/],
    ['dropall', /warning: w\.dropall: the pre-processors dropped every record \(2 in, 0 out\)/],
    ['nokey', /warning: w\.nokey: read 2 records but wrote 0 rows \(2 dropped for a missing key part\)/],
    ['fine', null],
  ]
  for (const [name, warning] of cases) {
    const plain = run(INFERNO, ['-y', 'rules', '--store', 'store', '-i', `w.${name}`], dir)
    assert.equal(plain.status, 0, plain.err)
    const strict = run(INFERNO, ['-y', 'rules', '--store', 'store', '-i', `w.${name}`, '--strict', '--json'], dir)
    const summary = JSON.parse(strict.err.trim().split('\n').at(-1)!) as Record<string, unknown>
    if (warning) {
      assert.match(plain.err, warning)
      assert.equal(strict.status, 1, strict.err)
      assert.equal((summary.warnings as string[]).length, 1)
    } else {
      assert.doesNotMatch(plain.err, /warning/)
      assert.equal(strict.status, 0, strict.err)
      assert.deepEqual([summary.records, summary.nonNumericValues, summary.rowsOut], [2, 1, 2])
      assert.equal((summary.perBlob as unknown[]).length, 1)
    }
  }
})

test('too-long lines: counted per blob and in total, in the run summary and in --json (--max-record)', async (t) => {
  const dir = tempRules(t)
  mkdirSync(join(dir, 'rules'))
  writeFileSync(join(dir, 'rules', 'long.js'), `${RULE}export const rules = [
  defineRule({ name: 'count', sourceTags: ['long:in'], mapInputStream: 'json', keyParts: ['k'] }),
]\n`)
  const store = openStore(join(dir, 'store'))
  writeFileSync(join(dir, 'a.ndjson'), `{"k":"a"}\n{"k":"${'x'.repeat(2000)}"}\n{"k":"b"}\n`)
  writeFileSync(join(dir, 'b.ndjson'), '{"k":"c"}\n')
  await store.chunk('long:in:a', [join(dir, 'a.ndjson')])
  await store.chunk('long:in:b', [join(dir, 'b.ndjson')])
  const args = ['-y', 'rules', '--store', 'store', '-i', 'long.count', '--max-record', '1KB', '--no-progress']
  const json = run(INFERNO, [...args, '--json'], dir)
  assert.equal(json.status, 0, json.err)
  const summary = JSON.parse(json.err.trim().split('\n').at(-1)!) as { tooLongLines: number; badLines: number; records: number; perBlob: { lines: number; badLines: number; tooLongLines: number }[] }
  assert.deepEqual([summary.tooLongLines, summary.badLines, summary.records], [1, 1, 3])
  assert.deepEqual(summary.perBlob.map((b) => [b.lines, b.badLines, b.tooLongLines]).sort(), [[1, 0, 0], [3, 1, 1]])
  const plain = run(INFERNO, args, dir)
  assert.equal(plain.status, 0, plain.err)
  assert.match(plain.err, /3 records, 1 bad lines, 1 of the bad lines too long/)
  assert.match(plain.err, /: 3 lines, 1 bad \(1 too long\), 0 skipped/)
  assert.equal(run(INFERNO, [...args.slice(0, -3), '--max-record', 'lots'], dir).status, 2)
})

test('logs: pino JSON lines with real levels; --log-level filters; readable lines on a terminal', (t) => {
  const dir = tempRules(t)
  mkdirSync(join(dir, 'rules'))
  writeFileSync(join(dir, 'rules', 'l.js'), `${RULE}export const rules = [
  defineRule({ name: 'boom', sourceUrls: ['raw://{"k":"a"}'], mapInputStream: 'json', keyParts: ['k'], ruleInitFunction: () => { throw new Error('init broke') } }),
  defineRule({ name: 'none', sourceTags: ['nothing:here'], keyParts: ['k'] }),
]\n`)
  const entries = (err: string) => err.split('\n').filter((l) => l.startsWith('{"level"')).map((l) => JSON.parse(l) as { level: number; name: string; msg: string })
  const failed = run(INFERNO, ['-y', 'rules', '--store', 'store', '-i', 'l.boom'], dir)
  assert.equal(failed.status, 1)
  const e = entries(failed.err).find((x) => /rule boom failed: init broke/.test(x.msg))
  assert.deepEqual([e?.level, e?.name], [50, 'inferno'], failed.err)
  const skipped = run(INFERNO, ['-y', 'rules', '--store', 'store', '-i', 'l.none'], dir)
  assert.ok(entries(skipped.err).some((x) => x.level === 40 && /Skipping job none/.test(x.msg)), skipped.err)
  const quiet = run(INFERNO, ['-y', 'rules', '--store', 'store', '-i', 'l.none', '--log-level', 'error'], dir)
  assert.deepEqual(entries(quiet.err), [])
  assert.equal(run(INFERNO, ['-y', 'rules', '-i', 'l.none', '--log-level', 'loud'], dir).status, 2)
  assert.equal(prettyLine('{"level":50,"time":0,"pid":1,"name":"inferno","msg":"boom","rule":"m.r"}'), '00:00:00.000 ERROR inferno: boom {"rule":"m.r"}')
})
