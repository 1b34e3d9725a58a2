// Oracle tests on seeded random data: random DBs (test-only encoder, plain and Huffman-compressed)
// and random queries, evaluated by the engine and by naive Set code over the expression tree.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { DiscoDB, DiscoError, Q } from 'disco-inferno'
import { encodeUnhashed } from './encode.js'
import { rng } from './random.js'
import { dec, loadVectors } from './vectors.js'

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))
const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

test('the test encoder reproduces the deterministic vectors byte for byte', () => {
  let checked = 0
  for (const v of loadVectors()) {
    const b = v as unknown as { build: { input: [string, string[] | string][]; unique_items: boolean } }
    if (v.header['hashed'] || v.header['compressed'] || b.build.unique_items) continue
    const input = b.build.input.map(([k, vs]): [Uint8Array, Uint8Array[]] => [dec(v, k), (Array.isArray(vs) ? vs : [vs]).map((x) => dec(v, x))])
    const bytes = encodeUnhashed(input)
    assert.equal(createHash('sha256').update(bytes).digest('hex'), v.sha256, v.name)
    assert.deepEqual(bytes, new Uint8Array(readFileSync(v.ddb)))
    checked++
  }
  assert.ok(checked >= 1)
})

/** A random DB description: keys → distinct values, in insertion order. */
interface Model {
  keys: string[]
  lists: Map<string, string[]>
  /** Unique values in ID order. */
  values: string[]
}

function randomModel(r: ReturnType<typeof rng>): Model {
  const vocab: string[] = []
  const nv = 1 + r.below(60)
  const seen = new Set<string>()
  while (vocab.length < nv) {
    // Short alphabet so values are often also keys (dereference) and 4-grams repeat (Huffman).
    const len = r.below(10)
    let s = ''
    for (let i = 0; i < len; i++) s += 'abcdefgh'[r.below(r.next() < 0.5 ? 3 : 8)]
    if (r.next() < 0.05) s += '\u00ff\u0000'
    if (!seen.has(s)) {
      seen.add(s)
      vocab.push(s)
    }
  }
  const nk = r.below(26)
  const keys: string[] = []
  const lists = new Map<string, string[]>()
  const valueOrder: string[] = []
  const known = new Set<string>()
  while (keys.length < nk) {
    const k = r.next() < 0.5 ? r.pick(vocab) : `k${r.below(100)}`
    if (lists.has(k)) continue
    keys.push(k)
    const vs = new Set<string>()
    const n = r.below(r.next() < 0.2 ? nv + 1 : 6)
    for (let i = 0; i < n; i++) vs.add(r.pick(vocab))
    lists.set(k, [...vs])
    for (const v of vs) if (!known.has(v)) {
      known.add(v)
      valueOrder.push(v)
    }
  }
  return { keys, lists, values: valueOrder }
}

type Expr = { t: 'term'; k: string } | { t: 'not' | 'deref'; a: Expr } | { t: 'and' | 'or'; a: Expr; b: Expr }

function randomExpr(r: ReturnType<typeof rng>, m: Model, depth: number): Expr {
  const x = r.next()
  if (depth <= 0 || x < 0.3) {
    const pool = [...m.keys, ...m.values.slice(0, 5), 'missing', 'k1'].filter((k) => k !== '')
    return { t: 'term', k: r.pick(pool) }
  }
  if (x < 0.45) return { t: 'not', a: randomExpr(r, m, depth - 1) }
  if (x < 0.52) return { t: 'deref', a: randomExpr(r, m, depth - 1) }
  return { t: x < 0.76 ? 'and' : 'or', a: randomExpr(r, m, depth - 1), b: randomExpr(r, m, depth - 1) }
}

/** Query text; terms are wrapped in random spaces (stripped by the parser). */
function textOf(e: Expr, r: ReturnType<typeof rng>): string {
  switch (e.t) {
    case 'term': return (r.next() < 0.3 ? '  ' : '') + e.k + (r.next() < 0.3 ? ' ' : '')
    case 'not': return `~(${textOf(e.a, r)})`
    case 'deref': return `${r.next() < 0.5 ? '*' : '+'}(${textOf(e.a, r)})`
    case 'and': return `(${textOf(e.a, r)}) & (${textOf(e.b, r)})`
    case 'or': return `(${textOf(e.a, r)})|(${textOf(e.b, r)})`
  }
}

/** Naive evaluation; sets `ambiguous` when a negated dereference of an empty result occurs. */
function naive(e: Expr, m: Model, neg: boolean, flags: { ambiguous: boolean }): Set<string> {
  const all = new Set(m.values)
  switch (e.t) {
    case 'term': return new Set(m.lists.get(e.k) ?? [])
    case 'not': {
      const a = naive(e.a, m, !neg, flags)
      return new Set([...all].filter((v) => !a.has(v)))
    }
    case 'deref': {
      const inner = naive(e.a, m, false, flags)
      if (neg && inner.size === 0) flags.ambiguous = true
      return new Set([...inner].flatMap((v) => m.lists.get(v) ?? []))
    }
    case 'and': {
      const a = naive(e.a, m, neg, flags)
      const b = naive(e.b, m, neg, flags)
      return new Set([...a].filter((v) => b.has(v)))
    }
    case 'or': return new Set([...naive(e.a, m, neg, flags), ...naive(e.b, m, neg, flags)])
  }
}

function runOracle(seed: number, compressed: boolean): void {
  const r = rng(seed)
  const m = randomModel(r)
  const input: [Uint8Array, Uint8Array[]][] = m.keys.map((k) => [enc(k), m.lists.get(k)!.map(enc)])
  const symbols = compressed ? ['abca', 'aaaa', 'bcab', 'hgfe', 'cabc'].slice(0, 1 + r.below(5)).map(enc) : undefined
  const db = DiscoDB.loads(encodeUnhashed(input, { symbols }))
  const where = `seed ${seed}${compressed ? ' compressed' : ''}`
  assert.equal(db.header.compressed, compressed, where)
  assert.deepEqual(db.keys().toArray().map(str), m.keys, where)
  assert.deepEqual(db.uniqueValues().toArray().map(str), m.values, where)
  const order = new Map(m.values.map((v, i) => [v, i]))
  const sorted = (s: Iterable<string>): string[] => [...s].sort((a, b) => order.get(a)! - order.get(b)!)
  for (const k of m.keys) assert.deepEqual(db.get(enc(k))!.toArray().map(str), sorted(m.lists.get(k)!), `${where} get ${k}`)
  assert.equal(db.get('absent key'), undefined)
  for (let i = 0; i < 40; i++) {
    const e = randomExpr(r, m, 1 + r.below(4))
    const text = textOf(e, r)
    const flags = { ambiguous: false }
    let want = sorted(naive(e, m, false, flags))
    const view = r.next() < 0.2 ? [...m.values.filter(() => r.next() < 0.5), 'not-a-value'] : undefined
    if (view) want = want.filter((v) => view.includes(v))
    const w = `${where} query ${JSON.stringify(text)}`
    try {
      const res = db.query(enc(text), view ? { view: view.map(enc) } : undefined)
      assert.deepEqual(res.toArray().map(str), want, w)
      assert.equal(res.count(), want.length, w)
    } catch (err) {
      if (!(err instanceof DiscoError) || err.code !== 'DDB_QUERY_RESOLVE' || !flags.ambiguous) throw err
    }
    // The text form parses back to the same normal form (when the terms are valid UTF-8).
    const q = Q.parse(enc(text))
    if (/^[\x00-\x7f]*$/.test(text)) assert.equal(Q.parse(enc(String(q))).id, q.id, `${w} round trip ${String(q)}`)
  }
}

test('engine = naive sets on random unhashed DBs and queries', () => {
  for (let seed = 1; seed <= 150; seed++) runOracle(seed, false)
})

test('engine = naive sets on random Huffman-compressed DBs', () => {
  for (let seed = 1001; seed <= 1040; seed++) runOracle(seed, true)
})

test('engine = naive sets on the recorded vectors (random CNF over their keys)', () => {
  for (const v of loadVectors()) {
    // Naive negation walks every unique value: keep to the vectors of moderate size.
    if (v.header['multiset'] || v.items.length === 0 || v.unique_values.length > 5000) continue
    const db = DiscoDB.load(v.ddb)
    const r = rng(v.items.length)
    const lists = new Map(v.items.map(([k, vs]) => [str(dec(v, k)), vs.map((x) => str(dec(v, x)))]))
    const uniq = v.unique_values.map((x) => str(dec(v, x)))
    const keys = [...lists.keys(), 'missing']
    for (let i = 0; i < 30; i++) {
      const cnf: [string, boolean][][] = Array.from({ length: 1 + r.below(3) }, () =>
        Array.from({ length: 1 + r.below(3) }, (): [string, boolean] => [r.pick(keys), r.next() < 0.3]))
      let want = new Set(uniq)
      for (const c of cnf) {
        const u = new Set<string>()
        for (const [k, n] of c) {
          const s = new Set(lists.get(k) ?? [])
          for (const x of n ? uniq.filter((y) => !s.has(y)) : s) u.add(x)
        }
        want = new Set([...want].filter((x) => u.has(x)))
      }
      const got = db.query(Q.fromCnf(cnf.map((c) => c.map(([k, n]): [Uint8Array, boolean] => [enc(k), n])))).toArray().map(str)
      assert.deepEqual(got, uniq.filter((x) => want.has(x)), `${v.name} seed ${v.items.length} #${i}`)
    }
  }
})
