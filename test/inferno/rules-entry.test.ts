// `disco-inferno/rules`, the rule-module entry: the same objects as the package entry, and rule
// modules importing it run through `inferno -i` (whose worker pool starts early and preloads the
// rule module) exactly like modules importing the package entry, `scheduler.maxCores` included.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as full from 'disco-inferno'
import * as light from 'disco-inferno/rules'

const here = dirname(fileURLToPath(import.meta.url))
const INFERNO = fileURLToPath(new URL('../../../dist/cli/inferno.js', import.meta.url))

test('every value the rule entry exports is the package entry\'s own', () => {
  const names = Object.keys(light)
  for (const n of ['defineRule', 'defineKeyset', 'utcDay', 'localDay', 'dayMinus', 'DiscoError', 'FatalTaskError', 'keyText']) assert.ok(names.includes(n), n)
  for (const n of names) assert.equal((light as Record<string, unknown>)[n], (full as Record<string, unknown>)[n], n)
})

test('inferno -i: rule modules on the rule entry and on the package entry give the same CSV (maxCores 1 too)', async (t) => {
  // Inside the package, so that the modules resolve `disco-inferno` by name.
  const dir = mkdtempSync(join(here, 'rules-entry-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const rules = join(dir, 'rules')
  mkdirSync(rules)
  const body = (name: string, extra: string) => [
    'const count = (p) => { p.n = 1; return p }',
    `export const rules = [defineRule({ name: '${name}', sourceTags: ['t:events'], mapInputStream: 'json', partsPreprocess: [count], ${extra}`,
    "  keysets: { by_day: defineKeyset({ keyParts: ['day'], valueParts: ['n', 'v'] }) } })]",
    '',
  ].join('\n')
  writeFileSync(join(rules, 'viafull.js'), `import { defineKeyset, defineRule } from 'disco-inferno'\n${body('r', '')}`)
  writeFileSync(join(rules, 'vialight.js'), `import { defineKeyset, defineRule } from 'disco-inferno/rules'\n${body('r', '')}`)
  writeFileSync(join(rules, 'onecore.js'), `import { defineKeyset, defineRule } from 'disco-inferno/rules'\n${body('r', 'scheduler: { maxCores: 1 },')}`)
  const data = join(dir, 'events.ndjson')
  const lines: string[] = []
  for (let i = 0; i < 300; i++) lines.push(JSON.stringify({ day: `2026-11-${10 + (i % 7)}`, v: i }))
  writeFileSync(data, lines.join('\n') + '\n')
  const store = join(dir, 'store')
  const ddfs = full.openStore(store)
  // Three blobs: more tasks than threads.
  for (let b = 0; b < 3; b++) await ddfs.chunk('t:events', [data])
  const run = (mod: string) => spawnSync(process.execPath, [INFERNO, '--store', store, '-y', rules, '-i', `${mod}.r`], { encoding: 'utf8' })
  const a = run('viafull')
  assert.equal(a.status, 0, a.stderr)
  assert.match(a.stdout, /^day,n,v\r\n2026-11-10,129,/)
  for (const mod of ['vialight', 'onecore']) {
    const b = run(mod)
    assert.equal(b.status, 0, b.stderr)
    assert.equal(b.stdout, a.stdout, mod)
  }
})

test('inferno -i mistakes after the worker pool started: one coded line, exit 1, and the process ends', (t) => {
  const dir = mkdtempSync(join(here, 'rules-entry-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const rules = join(dir, 'rules')
  mkdirSync(rules)
  writeFileSync(join(rules, 'm.js'), "import { defineRule } from 'disco-inferno/rules'\nexport const rules = [defineRule({ name: 'r', sourceTags: ['t:x'], keyParts: ['a'] })]\n")
  const run = (args: string[]) => spawnSync(process.execPath, [INFERNO, '-y', rules, ...args], { encoding: 'utf8', timeout: 60_000 })
  // The module exists (so the pool starts and preloads it), the rule does not.
  const noRule = run(['--store', join(dir, 'store'), '-i', 'm.nope'])
  assert.equal(noRule.status, 1, noRule.stderr)
  assert.match(noRule.stderr, /^inferno: error INFERNO_RULE_NOT_FOUND: expected a rule at m\.nope[^\n]*\n$/)
  // No inputs: a skip, exit 1 (Q13), the pool closed.
  const skip = run(['--store', join(dir, 'store'), '-i', 'm.r'])
  assert.equal(skip.status, 1, skip.stderr)
  assert.match(skip.stderr, /m\.r skipped/)
})
