// Oracle tests for the allocation-free read paths: ids(), count(), visit(), itemBatches(),
// valueColumn() and the lazy DiscoDB.open must give exactly what the iterator API gives (which the
// compat and oracle tests check against recorded and naive answers), on the compat vectors and on
// seeded random DBs (plain, Huffman-compressed, hashed); lazy open must fail with the same codes
// as loads on damaged files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiscoDB, DiscoError, Q } from 'disco-inferno'
import { encodeUnhashed } from './encode.js'
import { rng } from './random.js'
import { loadVectors } from './vectors.js'

type R = ReturnType<typeof rng>
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))

/** Collects a visitor's ranges as hex strings (copies made during the call). */
function visited(visit: (fn: (b: Uint8Array, s: number, e: number) => void) => void): string[] {
  const out: string[] = []
  visit((b, s, e) => out.push(hex(b.subarray(s, e))))
  return out
}

/** Naive CNF over sets of IDs. */
function naiveIds(db: DiscoDB, cnf: [Uint8Array, boolean][][]): number[] {
  const all = Array.from({ length: db.numUniqueValues }, (_, i) => i + 1)
  let cur = new Set(all)
  for (const c of cnf) {
    const keep = new Set<number>()
    for (const [k, neg] of c) {
      const ids = new Set(db.get(k)?.ids() ?? [])
      for (const id of all) if (ids.has(id) !== neg) keep.add(id)
    }
    cur = new Set([...cur].filter((x) => keep.has(x)))
  }
  return [...cur].sort((a, b) => a - b)
}

/** Every fast path of `db` against its iterator API. */
function checkFastPaths(db: DiscoDB, r: R, where: string): void {
  const keys = db.keys().toArray()
  const uniq = db.uniqueValues().toArray().map(hex)
  assert.equal(uniq.length, db.numUniqueValues, where)
  // Unique values: ids 1..U, visitor, column.
  const u = db.uniqueValues()
  assert.deepEqual([...u.ids()], uniq.map((_, i) => i + 1), `${where} uniqueValues ids`)
  assert.deepEqual(visited((fn) => u.visit(fn)), uniq, `${where} uniqueValues visit`)
  const col = db.valueColumn()
  assert.equal(col.offsets.length, uniq.length + 1, where)
  for (let id = 1; id <= uniq.length; id++) {
    assert.equal(hex(col.bytes.subarray(col.offsets[id - 1]!, col.offsets[id]!)), uniq[id - 1], `${where} column value ${id}`)
    assert.deepEqual(visited((fn) => db.visitValue(id, fn)), [uniq[id - 1]], `${where} visitValue ${id}`)
  }
  // Per key: ids, count, visit; and the batches reproduce items().
  const items = [...db.items()].map(([k, vs]) => [hex(k), vs.toArray().map(hex)] as const)
  for (const [i, k] of keys.entries()) {
    if (i > 300 && r.next() < 0.9) continue
    const g = db.get(k)!
    const want = items[i]![1]
    const ids = g.ids()
    assert.equal(g.count(), want.length, `${where} count ${hex(k)}`)
    assert.deepEqual([...ids].map((id) => uniq[id - 1]), want, `${where} ids ${hex(k)}`)
    assert.deepEqual(visited((fn) => g.visit(fn)), want, `${where} visit ${hex(k)}`)
    assert.deepEqual([...db.idsOfKey(k)], [...ids], `${where} idsOfKey`)
    assert.equal(db.countOfKey(k), want.length, `${where} countOfKey`)
  }
  assert.equal(db.countOfKey(enc('\u0000absent\u0000')), 0)
  const batchKeys = 1 + r.below(7)
  const fromBatches: (readonly [string, string[]])[] = []
  for (const b of db.itemBatches(batchKeys)) {
    assert.ok(b.length >= 1 && b.length <= batchKeys, where)
    for (let k = 0; k < b.length; k++) {
      const vs: string[] = []
      for (let j = b.idStarts[k]!; j < b.idStarts[k + 1]!; j++) vs.push(uniq[b.ids[j]! - 1]!)
      fromBatches.push([hex(b.bytes.subarray(b.keyStarts[k]!, b.keyEnds[k]!)), vs])
    }
  }
  assert.deepEqual(fromBatches, items, `${where} itemBatches(${batchKeys})`)
  // values(): ids and visitor in key order.
  const vals = db.values().toArray().map(hex)
  assert.deepEqual([...db.values().ids()].map((id) => uniq[id - 1]), vals, `${where} values ids`)
  assert.deepEqual(visited((fn) => db.values().visit(fn)), vals, `${where} values visit`)
  assert.throws(() => db.keys().ids(), (e: unknown) => e instanceof DiscoError && e.code === 'DDB_BAD_ARGUMENT')
  assert.deepEqual(visited((fn) => db.keys().visit(fn)), keys.map(hex), `${where} keys visit`)
  // Queries: ids / count / visit against the iterator and a naive evaluation.
  if (db.header.multiset || keys.length === 0) return
  const pool = [...keys, enc('\u0000absent')]
  for (let i = 0; i < 25; i++) {
    const cnf = Array.from({ length: 1 + r.below(3) }, () =>
      Array.from({ length: 1 + r.below(3) }, (): [Uint8Array, boolean] => [r.pick(pool), r.next() < 0.3]))
    const q = Q.fromCnf(cnf)
    const res = db.query(q)
    const w = `${where} query ${String(q)}`
    const want = res.toArray().map(hex)
    if (db.numUniqueValues <= 2000) assert.deepEqual([...res.ids()], naiveIds(db, cnf), w)
    assert.deepEqual([...res.ids()].map((id) => uniq[id - 1]), want, w)
    assert.equal(res.count(), want.length, w)
    assert.deepEqual(visited((fn) => res.visit(fn)), want, w)
  }
}

test('fast paths = iterator API on every compat vector, loaded and lazily opened', () => {
  let n = 0
  for (const v of loadVectors()) {
    const r = rng(n + 7)
    checkFastPaths(DiscoDB.load(v.ddb), r, `${v.name} load`)
    const lazy = DiscoDB.open(v.ddb)
    checkFastPaths(lazy, rng(n + 7), `${v.name} open`)
    assert.deepEqual(lazy.dumps(), new Uint8Array(readFileSync(v.ddb)), `${v.name} dumps`)
    n++
  }
  assert.ok(n > 0)
})

test('fast paths = iterator API on random DBs (plain, compressed, hashed)', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(seed)
    const nk = r.below(60)
    const vocab = Array.from({ length: 1 + r.below(80) }, (_, i) => `v${i}${'abcd'.repeat(r.below(4))}`)
    const input: [Uint8Array, Uint8Array[]][] = []
    for (let k = 0; k < nk; k++) {
      const vs = new Set<string>()
      for (let j = r.below(r.next() < 0.2 ? 40 : 6); j > 0; j--) vs.add(r.pick(vocab))
      input.push([enc(`k${k}`), [...vs].map(enc)])
    }
    const compressed = seed % 3 === 0
    const plain = DiscoDB.loads(encodeUnhashed(input, compressed ? { symbols: ['abcd', 'v1ab', 'cdab'].map(enc) } : {}))
    assert.equal(plain.header.compressed, compressed)
    checkFastPaths(plain, r, `seed ${seed} ${compressed ? 'compressed' : 'plain'}`)
    const hashed = DiscoDB.build(input.map(([k, vs]) => [k, vs] as const))
    assert.equal(hashed.header.hashed, nk > 25)
    checkFastPaths(hashed, r, `seed ${seed} built`)
  }
})

test('a visitor may read the DB again: nested visits see their own values (plain and compressed)', () => {
  for (const seed of [3, 4]) {
    const r = rng(seed)
    const input: [Uint8Array, Uint8Array[]][] = []
    for (let k = 0; k < 40; k++) input.push([enc(`k${k}`), Array.from({ length: 1 + r.below(6) }, (_, j) => enc(`v${(k * 7 + j) % 50}abcdabcd`))])
    const compressed = seed === 3
    const db = DiscoDB.loads(encodeUnhashed(input, compressed ? { symbols: ['abcd', 'bcda'].map(enc) } : {}))
    assert.equal(db.header.compressed, compressed)
    for (const [key] of input) {
      const inner = db.get(input[(input.length - 1) - r.below(input.length)]![0])!
      const want = db.get(key)!.toArray().map(hex)
      const wantInner = inner.toArray().map(hex)
      const got: string[] = []
      db.get(key)!.visit((b, s, e) => {
        const before = hex(b.subarray(s, e))
        assert.deepEqual(visited((fn) => inner.visit(fn)), wantInner, `seed ${seed}: inner visit`)
        assert.equal(hex(b.subarray(s, e)), before, `seed ${seed}: the outer value is intact after the inner visit`)
        got.push(before)
      })
      assert.deepEqual(got, want, `seed ${seed}: outer visit of ${hex(key)}`)
    }
  }
})

test('open: an embedded DB at an offset, close(), DDB_CLOSED, bad offsets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-open-'))
  try {
    const db = DiscoDB.build([['pets', ['dog', 'cat']], ['aquatic', ['whale', 'goldfish']], ['none', []]])
    const bytes = db.dumps()
    const path = join(dir, 'bundle.bin')
    writeFileSync(path, Buffer.concat([Buffer.alloc(100, 7), bytes, Buffer.alloc(50, 9)]))
    const lazy = DiscoDB.open(path, 100)
    assert.equal(lazy.size, 3)
    assert.deepEqual(lazy.get('pets')!.toStrings(), ['dog', 'cat'])
    assert.deepEqual(lazy.dumps(), bytes)
    lazy.close()
    assert.deepEqual(lazy.query('pets | aquatic').toStrings(), ['dog', 'cat', 'whale', 'goldfish'], 'fully read: usable after close')
    // Closed before the sections were read.
    const early = DiscoDB.open(path, 100)
    assert.equal(early.header.numKeys, 3)
    early.close()
    early.close()
    for (const f of [() => early.has('pets'), () => early.get('pets'), () => early.valueAt(1), () => early.dumps()]) {
      assert.throws(f, (e: unknown) => e instanceof DiscoError && e.code === 'DDB_CLOSED')
    }
    // Only the index read: keys work after close, values do not.
    const half = DiscoDB.open(path, 100)
    assert.equal(half.has('aquatic'), true)
    half.close()
    assert.deepEqual(half.keys().toStrings().sort(), ['aquatic', 'none', 'pets'])
    assert.equal(half.countOfKey(new TextEncoder().encode('pets')), 2)
    assert.throws(() => half.valueAt(1), (e: unknown) => e instanceof DiscoError && e.code === 'DDB_CLOSED')
    const code = (f: () => unknown): string => {
      try {
        f()
      } catch (e) {
        return (e as DiscoError).code
      }
      return 'none'
    }
    assert.equal(code(() => DiscoDB.open(path, -1)), 'DDB_BAD_ARGUMENT')
    assert.equal(code(() => DiscoDB.open(path, 1.5)), 'DDB_BAD_ARGUMENT')
    assert.equal(code(() => DiscoDB.open(join(dir, 'missing.ddb'))), 'IO_ENOENT')
    assert.equal(code(() => DiscoDB.open(path)), 'DDB_BAD_MAGIC')
    assert.equal(code(() => DiscoDB.open(path, 100 + bytes.length + 10)), 'DDB_TOO_SMALL')
    assert.equal(code(() => db.itemBatches(0)), 'DDB_BAD_ARGUMENT')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** Runs every read of a DB in a fixed order; returns the first error code (or 'ok'). */
function firstError(open: () => DiscoDB): string {
  try {
    const db = open()
    const keys = db.keys().toArray().slice(0, 50)
    for (const k of keys) db.get(k)?.visit(() => {})
    for (const _ of db.items()) { /* walk */ }
    db.values().ids()
    db.uniqueValues().visit(() => {})
    db.valueColumn()
    for (const _ of db.itemBatches(16)) { /* walk */ }
    if (!db.header.multiset && keys.length > 1) db.query(Q.fromCnf([[[keys[0]!, false], [keys[1]!, true]]])).ids()
    return 'ok'
  } catch (e) {
    if (!(e instanceof DiscoError)) throw e
    return e.code
  }
}

test('open on damaged and truncated files fails with the same codes as loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-open-corrupt-'))
  try {
    const fixtures = loadVectors().map((v) => new Uint8Array(readFileSync(v.ddb))).filter((b) => b.length < 200_000)
    const r = rng(20261127)
    const path = join(dir, 'x.ddb')
    const seen = new Set<string>()
    for (let i = 0; i < 300; i++) {
      const src = r.pick(fixtures)
      let bytes: Uint8Array
      if (r.next() < 0.4) bytes = src.slice(0, r.next() < 0.3 ? r.below(Math.min(src.length, 100)) : r.below(src.length))
      else {
        bytes = src.slice()
        for (let j = 1 + r.below(6); j > 0; j--) {
          const pos = r.next() < 0.5 ? r.below(Math.min(bytes.length, 600)) : r.below(bytes.length)
          bytes[pos]! ^= 1 << r.below(8)
        }
      }
      writeFileSync(path, bytes)
      const want = firstError(() => DiscoDB.loads(bytes))
      assert.equal(firstError(() => DiscoDB.open(path)), want, `case ${i}`)
      assert.equal(firstError(() => DiscoDB.load(path)), want, `case ${i} load`)
      seen.add(want)
    }
    for (const c of ['DDB_TOO_SMALL', 'DDB_BAD_SIZE', 'DDB_CORRUPT', 'ok']) assert.ok(seen.has(c), `${c} never seen: ${[...seen]}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
