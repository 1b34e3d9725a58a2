// scripts/check-layers.mjs on small trees written here: upward imports and import cycles (type-only
// imports included) fail with the offending path named; a clean tree passes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('../../../scripts/check-layers.mjs', import.meta.url))

/** Writes `files` (path under the root → text) into a temp src/ tree and runs the check on it. */
function check(files: Record<string, string>, t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'check-layers-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true })
    writeFileSync(join(root, p), text)
  }
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

test('a tree without upward imports or cycles passes', (t) => {
  const r = check({
    'errors.ts': 'export class E {}\n',
    'util/a.ts': "import { E } from '../errors.js'\nexport const a = new E()\n",
    'inferno/run.ts': "import { a } from '../util/a.js'\nimport { b } from './keyset/b.js'\nexport const r = [a, b]\n",
    'inferno/keyset/b.ts': "export const b = 1\n",
    'index.ts': "export * from './inferno/run.js'\n",
  }, t)
  assert.equal(r.status, 0, r.err)
  assert.match(r.out, /layer check: ok/)
})

test('an import cycle fails with its path, type-only imports included', (t) => {
  const r = check({
    'inferno/runner.ts': "import { inline } from './keyset/inline.js'\nexport const run = () => inline\n",
    'inferno/keyset/inline.ts': "import { job } from './job.js'\nexport const inline = job\n",
    // Only a type import closes the loop: it still counts.
    'inferno/keyset/job.ts': "import type { run } from '../runner.js'\nexport const job: typeof run | undefined = undefined\n",
  }, t)
  assert.equal(r.status, 1)
  assert.match(r.err, /import cycle: src\/inferno\/keyset\/inline\.ts -> src\/inferno\/keyset\/job\.ts -> src\/inferno\/runner\.ts -> src\/inferno\/keyset\/inline\.ts/)
  assert.equal(r.err.match(/import cycle/g)?.length, 1, 'the cycle is reported once, not once per member')
})

test('two files importing each other and an upward import are both reported', (t) => {
  const r = check({
    'ddfs/tags.ts': "import { w } from './blobs.js'\nexport const db = w\n",
    'ddfs/blobs.ts': "export { db } from './tags.js'\nexport const w = 1\n",
    'util/x.ts': "import { db } from '../ddfs/tags.js'\nexport const x = db\n",
  }, t)
  assert.equal(r.status, 1)
  assert.match(r.err, /import cycle: src\/ddfs\/blobs\.ts -> src\/ddfs\/tags\.ts -> src\/ddfs\/blobs\.ts/)
  assert.match(r.err, /src\/util\/x\.ts \(layer util\) imports higher layer: \.\.\/ddfs\/tags\.js/)
})

test('an unknown argument is a usage error (exit 2)', () => {
  const r = spawnSync(process.execPath, [SCRIPT, '--bogus'], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(r.status, 2)
  assert.match(r.stderr, /check-layers: error USAGE: unknown argument --bogus/)
})
