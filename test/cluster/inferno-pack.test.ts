// How an Inferno job's code reaches a worker: the job functions and built-in rules are this
// package's own code (`disco-self:`, never packed: the worker imports its own copy), a user's rule
// module named in the spec's `modules` is packed with its relative imports, and the worker turns
// both back into importable `file:` URLs. A spec's `modules` reach the task as `ctx.modules`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { LocalBlobStore } from '#src/ddfs/index.js'
import { normalizeSpec } from '#src/disco/plan.js'
import { packSpec, unpackSpec, SELF_SCHEME } from '#src/cluster/pack.js'
import { DiscoError } from '#src/errors.js'

const FUNCTIONS = import.meta.resolve('#src/inferno/keyset/disco-job-functions.js')

test('job functions travel as disco-self:, a rule module in `modules` as a pack of its files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-pack-'))
  try {
    mkdirSync(join(dir, 'rules', 'lib'), { recursive: true })
    writeFileSync(join(dir, 'rules', 'r.js'), "import { x } from './lib/x.js'\nexport const rules = [x]\n")
    writeFileSync(join(dir, 'rules', 'lib', 'x.js'), 'export const x = 1\n')
    const data = new LocalBlobStore(join(dir, 'data'))
    const spec = normalizeSpec({
      inputs: ['raw://a'], map: { module: FUNCTIONS, export: 'map' }, reduce: { module: FUNCTIONS, export: 'reduce' },
      modules: { rule: join(dir, 'rules', 'r.js') },
    }, dir)
    assert.equal(spec.modules!.rule, pathToFileURL(join(dir, 'rules', 'r.js')).href)
    const { spec: shipped, packs } = await packSpec(data, spec, new Map())
    assert.ok(shipped.map!.module.startsWith(SELF_SCHEME), shipped.map!.module)
    assert.ok(!shipped.map!.module.includes(dir))
    assert.equal(Object.keys(packs).length, 1, 'one pack: the rule module (not the package code)')
    assert.match(shipped.modules!.rule!, /^disco-pack:[0-9a-f]{32}\/r\.js$/)
    const cache = join(dir, 'cache')
    const local = await unpackSpec(data, shipped, packs, cache)
    assert.equal(local.map!.module, FUNCTIONS, 'the worker imports its own copy of the package code')
    const rule = fileURLToPath(local.modules!.rule!)
    assert.ok(rule.startsWith(cache))
    assert.equal(readFileSync(join(rule, '..', 'lib', 'x.js'), 'utf8'), 'export const x = 1\n')
    // A module reference naming no pack of the task is refused.
    await assert.rejects(unpackSpec(data, { ...shipped, modules: { rule: 'disco-pack:0123/r.js' } }, packs, cache),
      (e: unknown) => e instanceof DiscoError && e.code === 'DISCO_FN_NOT_FOUND')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('spec modules: names and paths are checked', () => {
  assert.throws(() => normalizeSpec({ inputs: ['raw://a'], map: { module: './m.js' }, modules: { 'a.b': './x.js' } }, '/x'), { code: 'DISCO_BAD_SPEC' })
  assert.throws(() => normalizeSpec({ inputs: ['raw://a'], map: { module: './m.js' }, modules: { a: '' } }, '/x'), { code: 'DISCO_BAD_SPEC' })
  assert.throws(() => normalizeSpec({ inputs: ['raw://a'], map: { module: './m.js' }, modules: [] as unknown as Record<string, string> }, '/x'), { code: 'DISCO_BAD_SPEC' })
  assert.equal(normalizeSpec({ inputs: ['raw://a'], map: { module: './m.js' } }, '/x').modules, undefined, 'absent unless given')
})
