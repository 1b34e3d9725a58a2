// What `npm test` runs: the *.test.js files only, so its summary line counts tests and nothing else
// (helper modules, fixtures and child scripts under test/ used to be run as files and counted as 26
// passing tests). The other side of that choice: a test written in a file not named *.test.ts
// would never run, so no such file may define one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Every .ts file under `dir` (declaration files left out). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return tsFiles(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

/** The names a file imports from node:test. */
function nodeTestImports(text: string): string[] {
  return [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'node:test'/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim().split(/\s+as\s+/)[0]!)).filter(Boolean)
}

test('npm test runs the *.test.js files, not every file under build/test', () => {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.test!
  assert.match(script, /node --test .*find build\/test -name '\*\.test\.js'/)
  assert.doesNotMatch(script, /build\/test\/(\s|"|$)/, 'a bare directory makes node --test run helper files as tests')
})

test('no file under test/ but a *.test.ts defines tests (it would never run)', () => {
  const helpers = tsFiles(join(ROOT, 'test')).filter((f) => !f.endsWith('.test.ts'))
  assert.ok(helpers.length >= 20, `expected the helper modules and fixtures, found ${helpers.length}`)
  const defining = helpers.filter((f) => nodeTestImports(readFileSync(f, 'utf8')).some((n) => ['test', 'it', 'describe', 'suite'].includes(n)))
  assert.deepEqual(defining.map((f) => relative(ROOT, f)), [])
  // The check itself sees a defining file for what it is.
  assert.deepEqual(nodeTestImports("import { test, after as later } from 'node:test'"), ['test', 'after'])
})
