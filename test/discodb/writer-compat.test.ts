// Rebuilds every compat vector (any vector of the same form in the directory) from its recorded
// `build.input`: unhashed, uncompressed ones must be byte-identical to the original's file; every
// rebuilt DB must give every recorded answer through the reader (items, value-ID order, lookups,
// queries, views, metaqueries), and every hashed one must resolve each key to its slot the way
// CMPH does (sample tables included).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { DiscoDB, DiscoDBConstructor, DiscoError, Q, type Inquiry } from 'disco-inferno'
import { cnfKey } from '#src/discodb/q.js'
import { type Digest, type Vector, dec, loadVectors } from './vectors.js'
import { chdIndex, keyRecord, parseHeader, valueBytes } from './writer-helpers.js'

const vectors = loadVectors()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const hexAll = (bs: Iterable<Uint8Array>): string[] => Array.from(bs, hex)

/** Builds the vector's DB from its recorded input and options. */
function rebuild(v: Vector): Uint8Array {
  const build = (v as unknown as { build: { input: [string, string[]][]; disable_compression: boolean; unique_items: boolean } }).build
  const c = new DiscoDBConstructor()
  for (const [k, vs] of build.input) c.add(dec(v, k), vs.map((x) => dec(v, x)))
  return c.finalizeBytes({ disableCompression: build.disable_compression, uniqueItems: build.unique_items })
}

/** The ordered values against a recorded result or digest. */
function sameResult(v: Vector, got: Inquiry, want: { result?: string[]; result_digest?: Digest }, where: string): void {
  const vals = [...got]
  if (want.result) {
    assert.deepEqual(hexAll(vals), want.result.map((s) => hex(dec(v, s))), where)
    return
  }
  const d = want.result_digest!
  const h = createHash('sha256')
  for (const x of vals) h.update(Buffer.concat([Buffer.from(Uint32Array.of(x.length).buffer), x]))
  assert.equal(vals.length, d.count, where)
  assert.equal(h.digest('hex'), d.sha256, where)
}

test('compat vectors are present', () => {
  assert.ok(vectors.length >= 16, `expected the compat vectors, found ${vectors.length}`)
})

for (const v of vectors) {
  test(`rebuild ${v.file}`, () => {
    const out = rebuild(v)
    const want = v.header
    if (!want.hashed && !want.compressed) {
      assert.equal(createHash('sha256').update(out).digest('hex'), v.sha256, 'byte-identical to the original')
      assert.deepEqual(out, new Uint8Array(readFileSync(v.ddb)))
    }
    const db = DiscoDB.loads(out)
    const h = db.header
    assert.equal(h.size, out.length)
    assert.deepEqual([h.numKeys, h.numUniqueValues, h.numValues, h.flags], [want.num_keys, want.num_unique_values, want.num_values, want.flags])
    assert.deepEqual(hexAll(db.uniqueValues()), v.unique_values.map((x) => hex(dec(v, x))), 'unique values (value-ID order)')
    // Items: the same key → values; the same key order unless hashed (then CHD order).
    const items = [...db.items()].map(([k, vs]) => [hex(k), hexAll(vs)] as const)
    const wantItems = v.items.map(([k, vs]) => [hex(dec(v, k)), vs.map((x) => hex(dec(v, x)))] as const)
    if (want.hashed) assert.deepEqual(new Map(items), new Map(wantItems), 'items')
    else assert.deepEqual(items, wantItems, 'items in order')
    // Hashed: each key record sits at its CHD index, evaluated the way CMPH does.
    if (want.hashed) for (let i = 0; i < h.numKeys; i++) assert.equal(chdIndex(out, keyRecord(out, i).key), i, `CHD index of key ${i}`)
    if (want.compressed) for (let id = 1; id <= h.numUniqueValues; id++) assert.equal(hex(valueBytes(out, id)), hex(dec(v, v.unique_values[id - 1]!)))
    for (const l of v.lookups) {
      const got = db.get(dec(v, l.key))
      assert.deepEqual(got && hexAll(got), l.values?.map((x) => hex(dec(v, x))), `get ${l.key}`)
    }
    v.queries.forEach((q, i) => {
      const where = `query ${i} ${JSON.stringify(q.q ?? q.cnf)}`
      const parsed = (): Q => (q.q === null ? Q.fromCnf(q.cnf!.map((c) => c.map(([t, n]): [Uint8Array, boolean] => [dec(v, t), n]))) : Q.parse(dec(v, q.q)))
      const run = (): Inquiry => db.query(parsed(), q.view && { view: q.view.map((x) => dec(v, x)) })
      if (q.error && !q.intended) {
        assert.throws(() => [...run()], (e) => e instanceof DiscoError, where)
        return
      }
      sameResult(v, run(), q.intended ?? q, where)
    })
    for (const m of v.metaqueries) {
      if (m.error) continue // parse/resolve errors are the reader's (DB-independent) concern
      const got = [...db.metaquery(dec(v, m.q))].map(([mq, vs]) => JSON.stringify([cnfKey(mq.toCnf()), hexAll(vs)])).sort()
      const exp = m.result!.map((r) => JSON.stringify([cnfKey(r.cnf.map((c) => c.map(([t, n]): [Uint8Array, boolean] => [dec(v, t), n]))), r.values.map((x) => hex(dec(v, x)))])).sort()
      assert.deepEqual(got, exp, `metaquery ${m.q}`)
    }
    assert.deepEqual(parseHeader(out).size, out.length)
  })
}

test('the CHD evaluator reproduces the original files (validates it and the Jenkins hash)', () => {
  let checked = 0
  for (const v of vectors) {
    if (!v.header.hashed) continue
    const ddb = new Uint8Array(readFileSync(v.ddb))
    v.items.forEach(([k], i) => assert.equal(chdIndex(ddb, dec(v, k)), i, `${v.name} key ${i}`))
    checked++
  }
  assert.ok(checked >= 5)
})
