// Rule construction (RL-02) and rule lookup (RL-01), including TypeScript rule modules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { autorunRules, defineKeyset, defineRule, findRules, loadRules, ruleModuleFiles, type Rule } from 'disco-inferno'
import { count, crlf, D1_JSON, runCapture, storeWith } from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const FAKE = join(here, 'fixtures', 'fake_rules')
const keysetNames = (rules: Rule[]) => rules.map((r) => Object.keys(r.keysets))

test('RL-02 rule construction', () => {
  const r = defineRule({ name: 'r', keyParts: ['id'], valueParts: ['count'], table: 'tbl', columnMappings: { id: 'ident' } })
  assert.deepEqual(Object.keys(r.keysets), ['_default'])
  const ks = r.keysets._default!
  assert.deepEqual({ keyParts: ks.keyParts, valueParts: ks.valueParts, columnMappings: ks.columnMappings, table: ks.table,
    partsPreprocess: ks.partsPreprocess, partsPostprocess: ks.partsPostprocess },
  { keyParts: ['_keyset', 'id'], valueParts: ['count'], columnMappings: { id: 'ident' }, table: 'tbl', partsPreprocess: [], partsPostprocess: [] })
  const two = defineRule({ keysets: { a: defineKeyset({ keyParts: ['x'] }), b: { keyParts: ['y'], valueParts: ['v'] } } })
  assert.deepEqual(Object.entries(two.keysets).map(([n, k]) => [n, k.keyParts]), [['a', ['_keyset', 'x']], ['b', ['_keyset', 'y']]])
  assert.deepEqual(defineRule({ sourceTags: 'tag1' }).sourceTags, ['tag1'])
  assert.deepEqual(defineRule({}).sourceTags, [])
  // User parameters live under params only; an unknown keyword is an error (see feedback.test.ts).
  assert.deepEqual(defineRule({ name: 'x', params: { geo_codes: ['CA'] } }).params, { geo_codes: ['CA'] })
  assert.equal(String(defineRule({ name: 'named' })), '<InfernoRule: named>')
  assert.equal(defineRule({}).name, '_unnamed_')
  // Defaults of section 3; `nuke` is recorded and never acted on (Q6).
  const d = defineRule({ nuke: true })
  assert.deepEqual([d.run, d.minBlobs, d.maxBlobs, d.partitions, d.newestFirst, d.archive, d.archiveTagPrefix, d.sort,
    d.sortedResults, d.mapInputStream, d.resultTagSuffix, d.retryLimit, d.retryDelay, d.nuke, d.timeDelta],
  [true, 1, undefined, 200, true, false, 'processed', true, true, 'csv', true, 2, 1, true, { minutes: 5 }])
  assert.ok(Object.isFrozen(d))
  for (const bad of [{ name: 'a b' }, { partitions: 0 }, { mapInputStream: 'xml' }, { keyParts: 'a' }, { csvDialect: 'unix' },
    { delimiter: '||' }, { resultTagSuffix: 'week' }, { fieldTransforms: { a: 1 } }, { dayStart: '2012-02-30' }, { keysets: {} },
    { sourceTags: [1] }, { partsPreprocess: [1] }]) {
    assert.throws(() => defineRule(bad as never), { code: 'INFERNO_RULE_INVALID' }, JSON.stringify(bad))
  }
})

test('RL-01 rule lookup by address, autorun, dot files ignored', async () => {
  const dot = join(FAKE, '.some_dot_file.js')
  writeFileSync(dot, 'throw new Error("dot files are not rule modules")\n')
  try {
    assert.deepEqual([...ruleModuleFiles(FAKE).keys()], ['automatic', 'manual', 'more_automatic', 'more_manual'])
    for (const immediate of [true, false]) {
      for (const addr of ['', 'unknown', 'automatic.nope', 'automatic.automatic_rule_1.nope']) {
        assert.deepEqual(await findRules(FAKE, addr, { immediate }), [], addr)
      }
      const auto = await findRules(FAKE, 'automatic', { immediate })
      assert.deepEqual(auto.map((r) => r.name), ['automatic_rule_1', 'automatic_rule_2', 'automatic_rule_3'])
      assert.deepEqual(keysetNames(auto), [['keyset_1', 'keyset_2'], ['keyset_1', 'keyset_2'], ['_default']])
      assert.deepEqual(keysetNames(await findRules(FAKE, 'automatic.automatic_rule_1.keyset_2', { immediate })), [['keyset_2']])
      assert.deepEqual((await findRules(FAKE, 'manual.manual_rule_2', { immediate })).map((r) => r.name), immediate ? ['manual_rule_2'] : [])
      assert.equal((await findRules(FAKE, 'manual', { immediate })).length, immediate ? 3 : 0)
    }
    const [one] = await findRules(FAKE, 'automatic.automatic_rule_1')
    assert.equal(one!.qualifiedName, 'automatic.automatic_rule_1')
    assert.equal(one!.modulePath, join(FAKE, 'automatic.js'))
    assert.deepEqual((await autorunRules(FAKE)).map((r) => r.name), ['automatic_rule_1', 'automatic_rule_2', 'automatic_rule_3', 'automatic_rule_4'])
    assert.deepEqual((await loadRules(FAKE)).map((m) => [m.name, m.autorun]),
      [['automatic', true], ['manual', false], ['more_automatic', true], ['more_manual', false]])
    const warnings: string[] = []
    await findRules(FAKE, 'automatic.nope', { warn: (m) => warnings.push(m) })
    assert.deepEqual(warnings, ['no rule nope in module automatic'])
  } finally {
    rmSync(dot, { force: true })
  }
  await assert.rejects(loadRules(join(FAKE, 'missing')), { code: 'INFERNO_RULES_DIR' })
})

test('TypeScript rule modules load on Node 20 (transpiled), with relative .js imports of .ts files', async () => {
  const dir = mkdtempSync(join(here, 'ts-rules-'))
  try {
    writeFileSync(join(dir, 'lib.ts'), 'export const field: string = "last"\n')
    writeFileSync(join(dir, 'names.ts'), [
      "import { defineRule, type Parts } from 'disco-inferno'",
      "import { field } from './lib.js'",
      'const count = (p: Parts): Parts => ({ ...p, count: 1 })',
      'export const autorun = true',
      "export const rules = [defineRule({ name: 'last_names_json', sourceTags: ['example:chunk:users'], mapInputStream: 'json', partsPreprocess: [count], keyParts: [field], valueParts: ['count'] })]",
      '',
    ].join('\n'))
    writeFileSync(join(dir, 'broken.ts'), 'export const rules = 42\n')
    const [rule] = await findRules(dir, 'names.last_names_json')
    assert.ok(rule)
    const { out } = await runCapture(rule, { store: await storeWith('example:chunk:users', D1_JSON) })
    assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,5', 'Términos,1'))
    await assert.rejects(findRules(dir, 'broken'), { code: 'INFERNO_RULE_INVALID' })
    void count
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
