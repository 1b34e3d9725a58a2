// Replays the fuzz corpus (fuzz/corpus/<target>/, inputs that reached new coverage) and the
// regression inputs (fuzz/regressions/<target>/, inputs that once found a defect) through every
// target: each must succeed or fail with a coded DiscoError, with the targets' invariants intact.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readCorpus } from '../../fuzz/engine.js'
import { Defect, targets } from '../../fuzz/targets.js'

const fuzzDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fuzz')

for (const t of Object.values(targets)) {
  test(`fuzz corpus replay: ${t.name}`, () => {
    const inputs = [...readCorpus(join(fuzzDir, 'corpus', t.name)), ...readCorpus(join(fuzzDir, 'regressions', t.name))]
    assert.ok(inputs.length > 0, `a corpus for ${t.name} is committed`)
    for (const { name, bytes } of inputs) {
      try {
        t.run(bytes)
      } catch (e) {
        assert.fail(`${t.name} input ${name}: ${e instanceof Defect ? e.message : String(e)}`)
      }
    }
  })
}

test('a defect is reported as Defect, a coded error is not', () => {
  // The query target on a query that parses: no throw; the reader targets never throw on text.
  targets['query']!.run(new TextEncoder().encode('a | (b'))
  targets['csv']!.run(new TextEncoder().encode('a,"b\nc'))
  assert.ok(new Defect('x') instanceof Error)
})
