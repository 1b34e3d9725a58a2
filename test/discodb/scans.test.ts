// The columnar scans of unique values (valueBatches, valueColumn) against the iterator API, on the compat
// vectors and seeded random DBs (plain and Huffman-compressed, batch sizes from 1 up, values that
// outgrow the decoding buffer), with the same error codes as the iterator on damaged DBs; and the
// one-read lazy open: a file shorter than its header's size opens, and its first section read
// fails with DDB_BAD_SIZE (no buffer of the claimed size).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiscoDB, DiscoError } from 'disco-inferno'
import { encodeUnhashed } from './encode.js'
import { rng } from './random.js'
import { loadVectors } from './vectors.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))

/** The unique values as hex, from valueBatches(size); checks each batch's shape. */
function fromBatches(db: DiscoDB, size?: number): string[] {
  const out: string[] = []
  for (const b of db.valueBatches(size)) {
    assert.equal(b.firstId, out.length + 1, 'batches follow each other')
    assert.ok(b.length >= 1 && (size === undefined || b.length <= size), `batch length ${b.length}`)
    assert.ok(b.offsets.length >= b.length + 1)
    for (let k = 0; k < b.length; k++) {
      assert.ok(b.offsets[k]! <= b.offsets[k + 1]! && b.offsets[k + 1]! <= b.bytes.length)
      out.push(hex(b.bytes.subarray(b.offsets[k]!, b.offsets[k + 1]!)))
    }
  }
  return out
}

function checkBatches(db: DiscoDB, where: string, sizes: number[]): void {
  const want = db.uniqueValues().toArray().map(hex)
  assert.deepEqual(fromBatches(db), want, `${where} valueBatches()`)
  for (const n of sizes) assert.deepEqual(fromBatches(db, n), want, `${where} valueBatches(${n})`)
  // valueColumn shares the decoding loop (and grows its buffer past the stored size when needed).
  const col = db.valueColumn()
  assert.deepEqual(want.map((_, i) => hex(col.bytes.subarray(col.offsets[i]!, col.offsets[i + 1]!))), want, `${where} valueColumn`)
}

test('valueBatches = uniqueValues on every compat vector, loaded and lazily opened', () => {
  let n = 0
  for (const v of loadVectors()) {
    checkBatches(DiscoDB.load(v.ddb), `${v.name} load`, [1, 3, 1000])
    const lazy = DiscoDB.open(v.ddb)
    checkBatches(lazy, `${v.name} open`, [2])
    lazy.close()
    n++
  }
  assert.ok(n > 0)
})

test('valueBatches = uniqueValues on random DBs (plain and compressed), and past the decoding buffer', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed)
    const vocab = Array.from({ length: 1 + r.below(120) }, (_, i) => `v${i}${'abcd'.repeat(r.below(6))}${i % 3 ? '' : 'xyz'}`)
    const input: [Uint8Array, Uint8Array[]][] = []
    for (let k = 0; k < 1 + r.below(30); k++) input.push([enc(`k${k}`), Array.from(new Set(Array.from({ length: r.below(8) }, () => r.pick(vocab)))).map(enc)])
    const compressed = seed % 2 === 0
    const db = DiscoDB.loads(encodeUnhashed(input, compressed ? { symbols: ['abcd', 'v1ab', 'cdab', 'xyz\u0000'].map(enc) } : {}))
    assert.equal(db.header.compressed, compressed)
    checkBatches(db, `seed ${seed}`, [1, 1 + r.below(9)])
  }
  // Compressed values whose worst-case decoded size exceeds the batch buffer (256 KiB): the
  // buffer grows for them, and the batch around them is cut where the buffer is full.
  const big = (c: string, n: number): Uint8Array => enc(c.repeat(n))
  const input: [Uint8Array, Uint8Array[]][] = [
    [enc('a'), [enc('small'), big('abcd', 40_000), enc('x'), big('q', 30_000), enc('')]],
    [enc('b'), [big('abcdz', 9_000), enc('tail')]],
  ]
  const db = DiscoDB.loads(encodeUnhashed(input, { symbols: ['abcd'].map(enc) }))
  assert.ok(db.header.compressed)
  checkBatches(db, 'big values', [1, 2, 5])
  assert.throws(() => db.valueBatches(0), (e: unknown) => e instanceof DiscoError && e.code === 'DDB_BAD_ARGUMENT')
  assert.throws(() => db.valueBatches(1.5), (e: unknown) => e instanceof DiscoError && e.code === 'DDB_BAD_ARGUMENT')
})

/** The first error code of `f` (or 'ok'). */
function codeOf(f: () => void): string {
  try {
    f()
    return 'ok'
  } catch (e) {
    if (!(e instanceof DiscoError)) throw e
    return e.code
  }
}

test('valueBatches on damaged DBs fails with the code the iterator gives, never otherwise', () => {
  const fixtures = loadVectors().map((v) => new Uint8Array(readFileSync(v.ddb))).filter((b) => b.length < 200_000)
  const r = rng(20261128)
  const seen = new Set<string>()
  for (let i = 0; i < 400; i++) {
    const bytes = r.pick(fixtures).slice()
    for (let j = 1 + r.below(6); j > 0; j--) {
      const pos = r.next() < 0.5 ? r.below(Math.min(bytes.length, 600)) : r.below(bytes.length)
      bytes[pos]! ^= 1 << r.below(8)
    }
    let db: DiscoDB
    try {
      db = DiscoDB.loads(bytes)
    } catch (e) {
      if (!(e instanceof DiscoError)) throw e
      continue
    }
    const want = codeOf(() => {
      for (const _ of db.uniqueValues()) { /* decode every value */ }
    })
    const got = codeOf(() => {
      for (const _ of db.valueBatches(1 + r.below(50))) { /* decode every batch */ }
    })
    assert.equal(got, want, `case ${i}`)
    seen.add(want)
  }
  assert.ok(seen.has('ok') && seen.has('DDB_CORRUPT'), `codes seen: ${[...seen]}`)
})

test('open reads only the header: a truncated file or a size beyond the file fails at the first section read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-scan-open-'))
  try {
    const bytes = DiscoDB.build([['pets', ['dog', 'cat']], ['aquatic', ['whale', 'goldfish']]]).dumps()
    const path = join(dir, 'x.ddb')
    const loadsCode = (b: Uint8Array): string => codeOf(() => DiscoDB.loads(b))
    // Truncated: the header opens; the index or the values then report the loads error.
    for (const cut of [bytes.length - 1, bytes.length - 20, 100]) {
      writeFileSync(path, bytes.subarray(0, cut))
      assert.equal(loadsCode(bytes.subarray(0, cut)), 'DDB_BAD_SIZE')
      const db = DiscoDB.open(path)
      assert.equal(db.header.numKeys, 2)
      assert.equal(codeOf(() => db.has('pets')), 'DDB_BAD_SIZE', `cut ${cut}: index`)
      assert.equal(codeOf(() => db.valueAt(1)), 'DDB_BAD_SIZE', `cut ${cut}: values`)
      db.close()
      assert.equal(codeOf(() => DiscoDB.load(path)), 'DDB_BAD_SIZE', `cut ${cut}: load`)
      // Embedded at an offset, the same.
      writeFileSync(path, Buffer.concat([Buffer.alloc(10), bytes.subarray(0, cut)]))
      assert.equal(codeOf(() => DiscoDB.open(path, 10).uniqueValues()), 'DDB_BAD_SIZE', `cut ${cut} at 10`)
    }
    // A header claiming 1 TiB: no buffer of that size is made, the error is the one of loads.
    const huge = bytes.slice()
    new DataView(huge.buffer).setUint32(12, 256, true)
    writeFileSync(path, huge)
    assert.equal(loadsCode(huge), 'DDB_BAD_SIZE')
    const db = DiscoDB.open(path)
    assert.equal(db.header.size, 2 ** 40 + bytes.length)
    assert.equal(codeOf(() => db.keys()), 'DDB_BAD_SIZE')
    db.close()
    assert.equal(codeOf(() => DiscoDB.load(path)), 'DDB_BAD_SIZE')
    // Intact: still exactly the file's DB, whichever section comes first.
    writeFileSync(path, bytes)
    assert.deepEqual(DiscoDB.open(path).dumps(), bytes)
    const valuesFirst = DiscoDB.open(path)
    assert.equal(valuesFirst.valueAt(1).length > 0, true)
    assert.deepEqual(valuesFirst.dumps(), bytes)
    // Changed after open (the same file rewritten): cut below a header, the error of loads on
    // those bytes; another DB, DDB_CORRUPT (the header is read again and compared).
    for (const [now, want] of [
      [bytes.subarray(0, 50), 'DDB_TOO_SMALL'],
      [Buffer.concat([DiscoDB.build([['other', ['x']]]).dumps(), Buffer.alloc(bytes.length)]), 'DDB_CORRUPT'],
    ] as const) {
      for (const first of ['index', 'values'] as const) {
        writeFileSync(path, bytes)
        const db = DiscoDB.open(path)
        writeFileSync(path, now)
        assert.equal(codeOf(() => (first === 'index' ? db.has('pets') : db.valueAt(1))), want, `${want} ${first}`)
        db.close()
      }
    }
    assert.equal(codeOf(() => DiscoDB.loads(bytes.subarray(0, 50))), 'DDB_TOO_SMALL')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('keys and values are plain Uint8Array views of the DB (from loads of a Buffer, load and open)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-scan-views-'))
  try {
    const bytes = DiscoDB.build([['pets', ['dog', 'cat']], ['aquatic', ['whale', 'goldfish']], ['none', []]]).dumps()
    const path = join(dir, 'v.ddb')
    writeFileSync(path, bytes)
    const dbs = [DiscoDB.loads(Buffer.concat([bytes, Buffer.alloc(5)])), DiscoDB.load(path), DiscoDB.open(path)]
    for (const db of dbs) {
      const all = [...db.keys(), ...db.values(), ...db.uniqueValues(), ...db.get('pets')!, db.valueAt(1)]
      for (const v of all) assert.equal(Object.getPrototypeOf(v), Uint8Array.prototype)
      assert.deepEqual(db.keys().toStrings().sort(), ['aquatic', 'none', 'pets'])
      assert.deepEqual(db.get('aquatic')!.toStrings(), ['whale', 'goldfish'])
      // A view, not a copy: its bytes are the DB's own.
      const k = db.keys().toArray()[0]!
      assert.equal(k.buffer, db.dumps().buffer)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
