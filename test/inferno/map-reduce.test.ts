// Keyset map and reduce: IN-09, IN-10, IN-14, IN-15, IN-16, IN-17, IN-19 and the combiner.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeKey, defineKeyset, defineRule, encodeKey, keysetMap, keysetReduce, newJobStats, SumCombiner, type Parts, type Postprocessor, type Preprocessor } from 'disco-inferno'
import { mulberry32 } from '#src/util/random.js'
import { count, crlf, D1_JSON, runCapture, storeWith } from './helpers.js'

function mapAll(rule: ReturnType<typeof defineRule>, parts: Parts): [string, unknown[]][] {
  const out: [string, unknown[]][] = []
  // Keys are emitted order-preserving encoded; shown here as the original's JSON text.
  keysetMap(rule, parts, {}, (k, v) => out.push([JSON.stringify(decodeKey(k)), v]))
  return out
}

test('IN-09 map contract', () => {
  const date = new Date(Date.UTC(2012, 11, 1))
  const base = () => ({ city: 'toronto', country: 'canada', population: 100, size: 1000, date } as Parts)
  const rule = defineRule({ keyParts: ['country', 'city'], valueParts: ['population', 'size'] })
  assert.deepEqual(mapAll(rule, base()), [['["_default","canada","toronto"]', [100, 1000]]])
  const without = (f: string) => { const p = base(); delete p[f]; return p }
  assert.deepEqual(mapAll(rule, without('city')), [])
  assert.deepEqual(mapAll(rule, { ...base(), city: null }), [])
  assert.deepEqual(mapAll(rule, without('size')), [['["_default","canada","toronto"]', [100, 0]]])
  assert.deepEqual(mapAll(rule, { ...base(), size: null }), [['["_default","canada","toronto"]', [100, null]]])
  assert.deepEqual(mapAll(rule, { ...base(), city: '' }), [['["_default","canada",""]', [100, 1000]]])
  assert.deepEqual(mapAll(rule, { ...base(), size: '' }), [['["_default","canada","toronto"]', [100, '']]])
  const byDate = defineRule({ keyParts: ['date'], valueParts: ['date'] })
  const [[k, v]] = mapAll(byDate, base()) as [[string, unknown[]]]
  assert.equal(k, '["_default","2012-12-01"]')
  assert.equal(v[0], date) // the value keeps the date object
  const upper = (x: unknown) => String(x).toUpperCase()
  const transformed = defineRule({ keyParts: ['country', 'city'], valueParts: ['population', 'size'], fieldTransforms: { city: upper, country: upper } })
  assert.deepEqual(mapAll(transformed, base()), [['["_default","CANADA","TORONTO"]', [100, 1000]]])
  const languages: Preprocessor = function* (p) {
    yield { ...p, language: 'french' }
    yield { ...p, language: 'english' }
  }
  const exploded = defineRule({ keyParts: ['country'], valueParts: ['language'], partsPreprocess: [languages] })
  assert.deepEqual(mapAll(exploded, base()), [['["_default","canada"]', ['french']], ['["_default","canada"]', ['english']]])
  const both = defineRule({ keyParts: ['country'], valueParts: ['language'], partsPreprocess: [languages], fieldTransforms: { language: upper } })
  assert.deepEqual(mapAll(both, base()), [['["_default","canada"]', ['FRENCH']], ['["_default","canada"]', ['ENGLISH']]])
})

const TWO = defineRule({
  keysets: {
    keyset: { keyParts: ['a', 'b'], valueParts: ['x', 'y'] },
    keyset2: { keyParts: ['a', 'b'], valueParts: ['x', 'y'] },
  },
})
const k = (...parts: string[]) => JSON.stringify(parts)
const reduce = (rule: ReturnType<typeof defineRule>, pairs: [string, unknown[]][]) => [...keysetReduce(rule, pairs, {})]

test('IN-10 reduce contract: grouping of adjacent keys only, coercion, bad keys', () => {
  const B = k('BBB', 'key1', 'key2'), Z = k('ZZZ', 'key1', 'key2'), A = k('AAA', 'key1', 'key2')
  assert.deepEqual(reduce(TWO, [[B, [1, 10]], [B, [2, 20]], [Z, [1, 100]], [Z, [2, 200]], [A, [1, 1000]], [A, [2, 2000]]]), [
    [['BBB', 'key1', 'key2'], [3, 30]], [['ZZZ', 'key1', 'key2'], [3, 300]], [['AAA', 'key1', 'key2'], [3, 3000]]])
  const interleaved: [string, unknown[]][] = [[B, [1, 10]], [Z, [1, 100]], [A, [1, 1000]], [B, [2, 20]], [Z, [2, 200]], [A, [2, 2000]]]
  assert.deepEqual(reduce(TWO, interleaved), interleaved.map(([key, v]) => [JSON.parse(key), v]))
  const K = k('keyset', 'key1', 'key2')
  assert.deepEqual(reduce(TWO, [[K, [1, null]]]), [[['keyset', 'key1', 'key2'], [1, 0]]])
  assert.deepEqual(reduce(TWO, [[K, [1, 1.234]]]), [[['keyset', 'key1', 'key2'], [1, 1.234]]])
  assert.deepEqual(reduce(TWO, [[K, [1, 1326664799000]]]), [[['keyset', 'key1', 'key2'], [1, 1326664799000]]])
  assert.deepEqual(reduce(TWO, [[K, [1, 'some_string']]]), [[['keyset', 'key1', 'key2'], [1, 0]]])
  const errors = { errors: 0, errorSample: [] as string[] }
  assert.deepEqual([...keysetReduce(TWO, [[K, [1, 1]], ['key_not_json', [1, 2]], [K, [1, 3]]], {}, { errors })],
    [[['keyset', 'key1', 'key2'], [1, 1]], [['keyset', 'key1', 'key2'], [1, 3]]])
  assert.equal(errors.errors, 1)
})

test('IN-10 keyset post-processors: filter → expand → grow; keyset2 untouched', () => {
  const filter: Postprocessor = function* (key, v) { if (Number(v[1]) > 1) yield [key, v] }
  const expand: Postprocessor = (key, v) => [key, [...v, Number(v[0]) + Number(v[1])]]
  const grow: Postprocessor = function* (key, v) { yield [key, v]; yield [key, v] }
  const rule = defineRule({
    keysets: {
      keyset: { keyParts: ['a', 'b'], valueParts: ['x', 'y'], partsPostprocess: [filter, expand, grow] },
      keyset2: { keyParts: ['a', 'b'], valueParts: ['x', 'y'] },
    },
  })
  const K12 = k('keyset', 'key1', 'key2')
  assert.deepEqual(reduce(rule, [[K12, [1, 1]], [K12, [1, 3]], [k('keyset', 'key3', 'key4'), [1, 1]],
    [k('keyset', 'key3', 'key5'), [1, 3]], [k('keyset2', 'key3', 'key5'), [1, 3]]]), [
    [['keyset', 'key1', 'key2'], [2, 4, 6]], [['keyset', 'key1', 'key2'], [2, 4, 6]],
    [['keyset', 'key3', 'key5'], [1, 3, 4]], [['keyset', 'key3', 'key5'], [1, 3, 4]],
    [['keyset2', 'key3', 'key5'], [1, 3]]])
})

test('IN-14 value coercion in reduce (Q1: f → 7, Q3: c → 1; b → 0.3 with g12)', async () => {
  const recs: Parts[] = [
    { k: 'a', v: 1 }, { k: 'a', v: 2.5 }, { k: 'a', v: '3' }, { k: 'a', v: 'x' }, { k: 'a', v: null },
    { k: 'b', v: 0.1 }, { k: 'b', v: 0.2 }, { k: 'c', v: true }, { k: 'd', v: true }, { k: 'd', v: true },
    { k: 'e' }, { k: 'f', v: '7' }, { k: 'g', v: 1319475603759 }, { k: 'g', v: 1319475603987 }, { k: 'h', v: [1, 2] },
  ]
  const rule = defineRule({ name: 'coerce', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['k'], valueParts: ['v'], partitions: 1 })
  const store = await storeWith('t', recs.map((r) => JSON.stringify(r)))
  const { out } = await runCapture(rule, { store })
  assert.equal(out, crlf('k,v', 'a,6.5', 'b,0.3', 'c,1', 'd,2', 'e,0', 'f,7', 'g,2638951207746', 'h,0'))
  const shortest = await runCapture(rule, { store, floatFormat: 'shortest' })
  assert.match(shortest.out, /\r\nb,0\.30000000000000004\r\n/)
})

test('IN-14 without the combiner gives the same sums; Q14 beyond 2^53', async () => {
  const lines = ['{"k":"a","v":9007199254740991}', '{"k":"a","v":9007199254740991}', '{"k":"a","v":"12345678901234567890"}']
  for (const combiner of [true, false]) {
    const rule = defineRule({ name: 'big', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['k'], valueParts: ['v'], combiner, partitions: 3 })
    const { out } = await runCapture(rule, { store: await storeWith('t', lines.slice(0, 1), lines.slice(1)) })
    assert.equal(out, crlf('k,v', 'a,12363693299744049872'), `combiner=${combiner}`)
  }
})

test('IN-15 key canonicalisation and partition-independent order (Q2, Q10)', async () => {
  const keys: unknown[] = [1, '1', 1.0, 10, 9, '', null, undefined, true, 'a b', 'a', 'B', 'Ä', 'Z', 'a/b', { x: 1 }]
  const lines = keys.map((key) => JSON.stringify(key === undefined ? { v: 1 } : { k: key, v: 1 }))
  // Q10: 1, "1" and 1.0 all give key "1" (the original kept 1.0 apart); Q2: code-unit order.
  const expected = crlf('k,v', ',1', '1,3', '10,1', '9,1', 'B,1', 'True,1', 'Z,1', 'a,1', 'a b,1', 'a/b,1', '"{""x"":1}",1', 'Ä,1')
  for (const partitions of [1, 3, 200]) {
    const rule = defineRule({ name: 'canon', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['k'], valueParts: ['v'], partitions })
    const { out } = await runCapture(rule, { store: await storeWith('t', lines) })
    assert.equal(out, expected, `partitions=${partitions}`)
  }
  const multi = defineRule({ name: 'multi', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['a', 'b'], valueParts: ['v', 'missing'] })
  const { out } = await runCapture(multi, { store: await storeWith('t', ['{"a":"x","b":"y","v":1}', '{"a":"x","v":2}', '{"a":"x","b":null,"v":4}', '{"b":"y","v":8}']) })
  assert.equal(out, crlf('a,b,v,missing', 'x,y,1,0'))
  const total = defineRule({ name: 'total', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [count], valueParts: ['count'] })
  assert.equal((await runCapture(total, { store: await storeWith('t', D1_JSON) })).out, crlf('count', '12'))
})

test('IN-16 keyset pre/post-processing, transforms and column mappings (Q1: 60 instead of 60.0, Q11)', async () => {
  const mobile: Preprocessor = (p) => ({ ...p, mobile: String(p.ua).startsWith('m') ? 1 : 0 })
  const atLeast2: Postprocessor = function* (key, v) { if (Number(v[0]) >= 2) yield [key, v] }
  const avg: Postprocessor = (key, v) => [key, [...v, Math.round((Number(v[1]) / Number(v[0])) * 100) / 100]]
  const rule = defineRule({
    name: 'ua', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [count],
    fieldTransforms: { country: (c) => String(c).toUpperCase() },
    keysets: {
      by_country: { keyParts: ['country'], valueParts: ['count', 'bytes', 'mobile'], columnMappings: { country: 'cc', count: 'hits' },
        partsPreprocess: [mobile], partsPostprocess: [atLeast2, avg] },
    },
  })
  const lines = [['ca', 'mozilla', 100], ['ca', 'mobile', 50], ['us', 'mobile', 10], ['ca', 'mobile', 30]]
    .map(([country, ua, bytes]) => JSON.stringify({ country, ua, bytes }))
  const { out } = await runCapture(rule, { store: await storeWith('t', lines) })
  assert.equal(out, crlf('cc,hits,bytes,mobile', 'CA,3,180,3,60'))
})

test('IN-17 count is not magic', async () => {
  const rule = defineRule({ name: 'nocount', sourceTags: ['t'], mapInputStream: 'json', keyParts: ['last'], valueParts: ['count'] })
  const { out } = await runCapture(rule, { store: await storeWith('t', D1_JSON) })
  assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,0', 'Powell,0', 'Simpson,0', 'Términos,0'))
})

test('IN-19 error isolation: a throwing pre-processor drops one record; a filter drops Powell', async () => {
  const homer: Preprocessor = (p) => { if (p.first === 'Homer') throw new Error('no Homer'); return p }
  const rule = defineRule({ name: 'iso', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [homer, count], keyParts: ['last'], valueParts: ['count'] })
  const { out, res } = await runCapture(rule, { store: await storeWith('t', D1_JSON) })
  assert.equal(res.status, 'done')
  assert.equal(out, crlf('last,count', 'Nahasapeemapetilon,3', 'Powell,3', 'Simpson,4', 'Términos,1'))
  assert.equal(res.mapErrors.errors, 1)
  assert.match(res.mapErrors.errorSample[0]!, /no Homer/)
  const noPowell: Preprocessor = (p) => (p.last === 'Powell' ? null : p)
  const filtered = defineRule({ name: 'flt', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [noPowell, count], keyParts: ['last'], valueParts: ['count'] })
  assert.equal((await runCapture(filtered, { store: await storeWith('t', D1_JSON) })).out,
    crlf('last,count', 'Nahasapeemapetilon,3', 'Simpson,5', 'Términos,1'))
  // A post-processor that throws drops that group only.
  const bad: Postprocessor = (key, v) => { if (key[1] === 'Powell') throw new Error('bad group'); return [key, v] }
  const post = defineRule({ name: 'post', sourceTags: ['t'], mapInputStream: 'json', partsPreprocess: [count], keyParts: ['last'], valueParts: ['count'], partsPostprocess: [bad] })
  const r = await runCapture(post, { store: await storeWith('t', D1_JSON) })
  assert.equal(r.out, crlf('last,count', 'Nahasapeemapetilon,3', 'Simpson,5', 'Términos,1'))
  assert.equal(r.res.reduceErrors.errors, 1)
})

test('combiner sums per key and hands bigints on as exact text', () => {
  const c = new SumCombiner()
  c.add('["_default","a"]', [1, 'x'])
  c.add('["_default","a"]', ['2', 9007199254740991])
  c.add('["_default","b"]', [true, 2 ** 53 - 1])
  c.add('["_default","b"]', [0, 2])
  assert.deepEqual([...c.drain()], [['["_default","a"]', [3, 9007199254740991]], ['["_default","b"]', [1, '9007199254740993']]])
  assert.equal(c.size, 0)
})

test('keysetMap adding into the combiner in place equals emit then SumCombiner.add (seeded hostile values, counters too)', () => {
  const rule = defineRule({
    name: 'sums', mapInputStream: 'json', fieldTransforms: { t: (v) => (typeof v === 'number' ? v * 2 : v) },
    keysets: {
      a: defineKeyset({ keyParts: ['k'], valueParts: ['v', 'w', '_keyset', 't'] }),
      b: defineKeyset({ keyParts: ['k', 'j'], valueParts: ['w', 'v'] }),
      c: defineKeyset({ keyParts: [], valueParts: ['v'] }),
      d: defineKeyset({ keyParts: ['k'], valueParts: ['v'], partsPreprocess: [(p) => [p, { ...p, v: 1 }]] }),
    },
  })
  const VALUES: unknown[] = [0, -0, 1, -1, 0.1, 0.2, 2 ** 53 - 1, 2 ** 53, -(2 ** 53) + 1, 2 ** 60, 1e308, Infinity, -Infinity, NaN,
    123456789012345678901234567890n, -5n, 7n, '3', ' 4 ', '1e3', 'inf', '-Infinity', 'nan', '99999999999999999999', 'x', '', true, false,
    null, undefined, [1], { a: 1 }, 'ABSENT']
  const r = mulberry32(5)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const records: Parts[] = []
  for (let i = 0; i < 3000; i++) {
    const p: Parts = {}
    for (const f of ['k', 'j', 'v', 'w', 't']) {
      const v = f === 'k' || f === 'j' ? pick(['a', 'b', 'c', 1, null, 'ABSENT']) : pick(VALUES)
      if (v !== 'ABSENT') p[f] = v
    }
    records.push(p)
  }
  const viaEmit = new SumCombiner()
  const inPlace = new SumCombiner()
  const counts = [newJobStats(), newJobStats()]
  for (const rec of records) {
    keysetMap(rule, { ...rec }, {}, (k, v) => viaEmit.add(k, v), { counts: counts[0]!.map, errors: counts[0]!.mapErrors })
    keysetMap(rule, { ...rec }, {}, () => assert.fail('the combiner takes every pair'), { counts: counts[1]!.map, errors: counts[1]!.mapErrors, combiner: inPlace })
  }
  const sorted = (c: SumCombiner) => [...c.drain()].sort((x, y) => (x[0] < y[0] ? -1 : 1))
  assert.deepStrictEqual(sorted(inPlace), sorted(viaEmit))
  assert.deepStrictEqual(counts[1], counts[0])
  assert.ok(counts[0]!.map.nonNumericValues > 100 && counts[0]!.map.missingKeyParts > 100, JSON.stringify(counts[0]!.map))
})

test('keysetMap keys from the table of recent keys: texts alike in length and first, middle and last characters, swapped parts, numbers as text, each record its own key', () => {
  const rule = defineRule({ name: 'alike', mapInputStream: 'json', keysets: {
    one: defineKeyset({ keyParts: ['a'], valueParts: ['n'] }),
    two: defineKeyset({ keyParts: ['a', 'b'], valueParts: ['n'] }),
  } })
  // Same length, first, middle and last character: one entry of the table for all of them.
  const TEXTS: unknown[] = ['a1b2c', 'a9b8c', 'a0b0c', 'aXbYc', '', 'x', 'y', '\u0000', '\u0001x', 1, '1', 1.5, '1.5', true, 'True', 10, 'é€😀', 'é€😀x']
  const r = mulberry32(11)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const keyText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v))
  for (const combiner of [undefined, new SumCombiner()]) {
    const want = new Map<string, number>()
    let emitted = 0
    for (let i = 0; i < 20_000; i++) {
      const a = pick(TEXTS)
      const b = pick(TEXTS)
      const expect = [encodeKey(['one', keyText(a)]), encodeKey(['two', keyText(a), keyText(b)])]
      for (const k of expect) want.set(k, (want.get(k) ?? 0) + i)
      keysetMap(rule, { a, b, n: i }, {}, (k, v) => {
        assert.equal(k, expect[emitted++ % 2])
        assert.deepEqual(v, [i])
      }, combiner ? { combiner } : {})
    }
    if (combiner) {
      assert.equal(emitted, 0)
      const got = new Map<string, number>()
      for (const [k, v] of combiner.drain()) got.set(k, (got.get(k) ?? 0) + (v[0] as number))
      assert.deepStrictEqual([...got].sort(), [...want].sort())
    } else {
      assert.equal(emitted, 40_000)
    }
  }
})

test('keysetMap in place past the interned-key limit (60 000 keys, twice): the same sums per key as emit then add', () => {
  const rule = defineRule({ name: 'many', mapInputStream: 'json', keysets: { u: defineKeyset({ keyParts: ['u', 'v'], valueParts: ['n'] }) } })
  const viaEmit = new SumCombiner()
  const inPlace = new SumCombiner()
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 60_000; i++) {
      const rec = { u: `u${i % 30_000}`, v: String(Math.floor(i / 30_000)), n: i }
      keysetMap(rule, { ...rec }, {}, (k, v) => viaEmit.add(k, v))
      keysetMap(rule, { ...rec }, {}, () => assert.fail('the combiner takes every pair'), { combiner: inPlace })
    }
  }
  // A slot dropped from the full key cache may leave the same key twice in the combiner: sum per key.
  const perKey = (c: SumCombiner) => {
    const m = new Map<string, number>()
    for (const [k, v] of c.drain()) m.set(k, (m.get(k) ?? 0) + (v[0] as number))
    return [...m].sort((x, y) => (x[0] < y[0] ? -1 : 1))
  }
  const want = perKey(viaEmit)
  assert.equal(want.length, 60_000)
  assert.deepStrictEqual(perKey(inPlace), want)
})

test('Q2 encoded keys sort as key tuples (seeded random), and decode back', () => {
  let seed = 7
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
  const alphabet = ['\u0000', '\u0001', '\u0002', ' ', 'a', 'b', 'Ä', '\uffff', '😀']
  const keys = Array.from({ length: 400 }, () => Array.from({ length: 1 + rnd(3) }, () =>
    Array.from({ length: rnd(4) }, () => alphabet[rnd(alphabet.length)]).join('')))
  const byTuple = [...keys].sort((a, b) => { for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1; return a.length - b.length })
  const byText = [...keys].sort((a, b) => (encodeKey(a) < encodeKey(b) ? -1 : encodeKey(a) > encodeKey(b) ? 1 : 0))
  assert.deepEqual(byText, byTuple, 'seed 7')
  for (const k of keys) assert.deepEqual(decodeKey(encodeKey(k)), k)
  assert.throws(() => decodeKey('key_not_json'), { code: 'INFERNO_BAD_KEY' })
})

test('a combiner used again after drain and after close: each drain gives only what was added since, slots freed for others', () => {
  const rule = defineRule({ name: 'again', mapInputStream: 'json', keysets: { u: defineKeyset({ keyParts: ['u'], valueParts: ['n'] }) } })
  const c = new SumCombiner()
  const add = (to: SumCombiner, u: string, n: number) => keysetMap(rule, { u, n }, {}, () => assert.fail('the combiner takes every pair'), { combiner: to })
  const sorted = (to: SumCombiner) => [...to.drain()].sort((x, y) => (x[0] < y[0] ? -1 : 1))
  add(c, 'a', 1)
  add(c, 'b', 2)
  add(c, 'a', 3)
  assert.equal(c.size, 2)
  assert.deepEqual(sorted(c), [[encodeKey(['u', 'a']), [4]], [encodeKey(['u', 'b']), [2]]])
  assert.equal(c.size, 0)
  assert.deepEqual([...c.drain()], [])
  add(c, 'a', 10)
  assert.deepEqual(sorted(c), [[encodeKey(['u', 'a']), [10]]])
  // Closed with keys held: they are forgotten and another combiner sums those keys in their slots.
  add(c, 'a', 5)
  add(c, 'c', 6)
  c.close()
  assert.equal(c.size, 0)
  const other = new SumCombiner()
  add(other, 'a', 7)
  add(other, 'c', 8)
  assert.deepEqual(sorted(other), [[encodeKey(['u', 'a']), [7]], [encodeKey(['u', 'c']), [8]]])
  assert.deepEqual([...c.drain()], [])
})
