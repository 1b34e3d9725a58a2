// Rebuilds every compat vector from its recorded `build.input`: unhashed, uncompressed ones must be
// byte-identical to the original's file; all must hold the same content (checked straight from the
// bytes, per the spec), and every hashed one must resolve each key to its slot the way CMPH does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { DiscoDBConstructor } from '#src/discodb/writer.js'
import { chdIndex, keyRecord, loadVectors, parseHeader, valueBytes } from './writer-helpers.js'

const vectors = loadVectors()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('compat vectors are present', () => {
  assert.ok(vectors.length >= 16, `expected the compat vectors, found ${vectors.length}`)
})

/** Builds the vector's DB from its recorded input and options. */
export function rebuild(v: (typeof vectors)[number]): Uint8Array {
  const c = new DiscoDBConstructor()
  for (const [k, vs] of v.json.build.input as [string, string[]][]) c.add(v.dec(k), vs.map(v.dec))
  return c.finalizeBytes({ disableCompression: v.json.build.disable_compression, uniqueItems: v.json.build.unique_items })
}

for (const v of vectors) {
  test(`rebuild ${v.name}`, () => {
    const out = rebuild(v)
    const h = parseHeader(out)
    const want = v.json.header
    assert.equal(h.size, out.length)
    assert.equal(h.numKeys, want.num_keys)
    assert.equal(h.numUniqueValues, want.num_unique_values)
    assert.equal(h.numValues, want.num_values)
    assert.equal(h.flags, want.flags, 'flags (hashed / multiset / compressed)')
    if (!want.hashed && !want.compressed) {
      assert.equal(createHash('sha256').update(out).digest('hex'), v.json.sha256, 'byte-identical to the original')
    }
    // Unique values in value-ID order.
    const uniq = (v.json.unique_values as string[]).map((s) => hex(v.dec(s)))
    for (let id = 1; id <= h.numUniqueValues; id++) assert.equal(hex(valueBytes(out, id)), uniq[id - 1], `value ${id}`)
    // Items: same key → values mapping (key order may differ for hashed DBs).
    const items = new Map<string, string[]>()
    for (const [k, vs] of v.json.items as [string, string[]][]) items.set(hex(v.dec(k)), vs.map((x) => hex(v.dec(x))))
    const seen = new Set<string>()
    for (let i = 0; i < h.numKeys; i++) {
      const { key, ids } = keyRecord(out, i)
      const k = hex(key)
      assert.ok(items.has(k), `unexpected key ${k}`)
      assert.deepEqual(ids.map((id) => uniq[id - 1]), items.get(k), `values of key ${k}`)
      seen.add(k)
      if (h.flags & 1) assert.equal(chdIndex(out, key), i, `CHD index of key ${k}`)
    }
    assert.equal(seen.size, items.size)
    if (!want.hashed) {
      assert.deepEqual([...seen], [...items.keys()], 'unhashed key order = first appearance')
    }
  })
}

test('the CHD evaluator reproduces the original files (validates it and the Jenkins hash)', () => {
  let checked = 0
  for (const v of vectors) {
    if (!v.json.header.hashed) continue
    v.json.items.forEach(([k]: [string], i: number) => assert.equal(chdIndex(v.ddb, v.dec(k)), i, `${v.name} key ${i}`))
    checked++
  }
  assert.ok(checked >= 5)
})
