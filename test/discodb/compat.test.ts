// Directory-scanning compatibility test: every answer recorded in ../shared/compat (and any
// held-back vector of the same form placed there) must be reproduced exactly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { DiscoDB, DiscoError, Q } from 'disco-inferno'
import { cnfKey } from '#src/discodb/q.js'
import { type Digest, type Lit, type VError, type VQuery, type Vector, compatDir, dec, loadVectors } from './vectors.js'

const vectors = loadVectors()

test('the compat directory holds vectors', () => {
  assert.ok(vectors.length > 0, `no vectors found in ${compatDir}`)
})

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const hexAll = (bs: Iterable<Uint8Array>): string[] => Array.from(bs, hex)

/** Canonical key of a vector CNF. */
function vcnf(v: Vector, cnf: Lit[][]): string {
  return cnfKey(cnf.map((c) => c.map(([t, n]): [Uint8Array, boolean] => [dec(v, t), n])))
}

function checkResult(v: Vector, got: Uint8Array[], want: { result?: string[]; result_digest?: Digest }, where: string): void {
  if (want.result !== undefined) {
    assert.deepEqual(hexAll(got), want.result.map((s) => hex(dec(v, s))), where)
    return
  }
  const d = want.result_digest!
  assert.equal(got.length, d.count, `${where}: count`)
  const h = createHash('sha256')
  for (const x of got) {
    const len = Buffer.alloc(4)
    len.writeUInt32LE(x.length)
    h.update(len)
    h.update(x)
  }
  assert.equal(h.digest('hex'), d.sha256, `${where}: digest`)
  assert.deepEqual(hexAll(got.slice(0, 5)), d.head.map((s) => hex(dec(v, s))), `${where}: head`)
  assert.deepEqual(hexAll(got.slice(-5)), d.tail.map((s) => hex(dec(v, s))), `${where}: tail`)
}

/** The error code a recorded original error maps to. */
function expectedCode(e: VError): string {
  if (e.type === 'DiscoDBError') return 'DDB_MULTISET_QUERY'
  if (e.stage === 'resolve') return 'DDB_QUERY_RESOLVE'
  return 'DDB_QUERY_SYNTAX'
}

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof DiscoError, `expected DiscoError, got ${String(e)}`)
    return e.code
  }
  return 'no error'
}

function parse(v: Vector, q: VQuery): Q {
  return q.q === null ? Q.fromCnf(q.cnf!.map((c) => c.map(([t, n]): [Uint8Array, boolean] => [dec(v, t), n]))) : Q.parse(dec(v, q.q))
}

function checkQuery(v: Vector, db: DiscoDB, q: VQuery, i: number): void {
  const where = `${v.name} query ${i} ${JSON.stringify(q.q ?? q.cnf)}${q.view ? ' view' : ''}`
  const options = q.view === undefined ? undefined : { view: q.view.map((s) => dec(v, s)) }
  if (q.error !== undefined && q.intended === undefined) {
    const code = expectedCode(q.error)
    if (code === 'DDB_QUERY_SYNTAX') assert.equal(codeOf(() => parse(v, q)), code, where)
    else if (q.cnf !== undefined) assert.equal(vcnf(v, q.cnf), cnfKey(parse(v, q).toCnf()), `${where}: cnf`)
    assert.equal(codeOf(() => db.query(q.q === null ? parse(v, q) : dec(v, q.q), options)), code, where)
    return
  }
  const want = q.intended ?? q
  const parsed = parse(v, q)
  if (q.intended === undefined) assert.equal(parsed.hasDeref, q.deref === true, `${where}: deref flag`)
  const cnf = parsed.hasDeref ? db.resolve(parsed).toCnf() : parsed.toCnf()
  assert.equal(cnfKey(cnf), vcnf(v, want.cnf!), `${where}: cnf`)
  const res = db.query(q.q === null ? parsed : dec(v, q.q), options)
  checkResult(v, [...res], want, where)
  assert.equal(res.count(), want.result?.length ?? want.result_digest!.count, `${where}: count()`)
  // Re-iterable: a second pass gives the same answer.
  assert.equal([...res].length, res.count(), `${where}: second pass`)
}

for (const v of vectors) {
  test(`compat vector ${v.file}`, () => {
    const bytes = readFileSync(v.ddb)
    assert.equal(createHash('sha256').update(bytes).digest('hex'), v.sha256, 'fixture unchanged')
    const db = DiscoDB.load(v.ddb)
    const h = db.header
    const H = v.header
    assert.deepEqual(
      [h.size, h.numKeys, h.numUniqueValues, h.numValues, h.flags, h.hashed, h.multiset, h.compressed, h.key2valuesOffs, h.id2valueOffs, h.hashOffs, h.codebookOffs],
      [H.size, H.num_keys, H.num_unique_values, H.num_values, H.flags, H.hashed, H.multiset, H.compressed, H.key2values_offs, H.id2value_offs, H.hash_offs, H.codebook_offs],
      'header',
    )
    assert.equal(db.size, v.len.db)
    assert.equal(db.keys().count(), v.len.keys)
    assert.equal(db.values().count(), v.len.values)
    assert.equal(db.uniqueValues().count(), v.len.unique_values)
    // Items in order, keys(), values() = concatenation, unique values.
    const items = [...db.items()].map(([k, vs]) => [hex(k), hexAll(vs)])
    assert.deepEqual(items, v.items.map(([k, vs]) => [hex(dec(v, k)), vs.map((x) => hex(dec(v, x)))]), 'items')
    assert.deepEqual(hexAll(db.keys()), items.map(([k]) => k), 'keys')
    assert.deepEqual(hexAll(db.values()), items.flatMap(([, vs]) => vs), 'values')
    assert.deepEqual(hexAll(db.uniqueValues()), v.unique_values.map((x) => hex(dec(v, x))), 'unique values')
    for (const l of v.lookups) {
      const key = dec(v, l.key)
      assert.equal(db.has(key), l.found, `has ${l.key}`)
      const got = db.get(key)
      if (!l.found) {
        assert.equal(got, undefined, `get ${l.key}`)
        assert.equal(db.peek(key), undefined)
        continue
      }
      const want = l.values!.map((x) => hex(dec(v, x)))
      assert.deepEqual(hexAll(got!), want, `get ${l.key}`)
      assert.equal(got!.count(), want.length)
      const p = db.peek(key)
      assert.equal(p === undefined ? undefined : hex(p), want[0], `peek ${l.key}`)
    }
    v.queries.forEach((q, i) => checkQuery(v, db, q, i))
    for (const m of v.metaqueries) {
      if (m.error !== undefined) {
        assert.notEqual(codeOf(() => [...db.metaquery(dec(v, m.q))]), 'no error', `metaquery ${m.q}`)
        continue
      }
      const got = new Set([...db.metaquery(dec(v, m.q))].map(([mq, vs]) => JSON.stringify([cnfKey(mq.toCnf()), hexAll(vs)])))
      const want = new Set(m.result!.map((r) => JSON.stringify([vcnf(v, r.cnf), r.values.map((x) => hex(dec(v, x)))])))
      assert.deepEqual([...got].sort(), [...want].sort(), `metaquery ${m.q}`)
    }
    assert.equal(db.dumps().length, h.size)
  })
}
