// Item scans decode key records and value-ID lists in WebAssembly (batches of up to 4096 keys,
// one scan of a DB at a time); larger batches, and a second scan while one runs, go the
// JavaScript way. Both must give the same batches on the compat vectors and
// on generated DBs (a key with more IDs than a WebAssembly batch holds, long lists of every delta
// width, two scans at once, a scan left early), and the same error code on damaged key records.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoDB, DiscoError } from 'disco-inferno'
import { rng } from './random.js'
import { loadVectors } from './vectors.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
/** Batches up to this size are decoded in WebAssembly; above it, in JavaScript. */
const WASM_KEYS = 4096

/** Every batch flattened: [key, ids] per key, and the batch lengths. */
function scan(db: DiscoDB, batchKeys: number): { items: [string, number[]][]; lengths: number[]; wasm: boolean[] } {
  const items: [string, number[]][] = []
  const lengths: number[] = []
  const wasm: boolean[] = []
  for (const b of db.itemBatches(batchKeys)) {
    lengths.push(b.length)
    // The WebAssembly decoder's arrays are views of one memory; the JavaScript ones each have their own.
    wasm.push(b.ids.buffer === b.keyStarts.buffer)
    for (let k = 0; k < b.length; k++) items.push([hex(b.bytes.subarray(b.keyStarts[k]!, b.keyEnds[k]!)), [...b.ids.subarray(b.idStarts[k]!, b.idStarts[k + 1]!)]])
  }
  return { items, lengths, wasm }
}

/** The same DB's items through the iterator API: [key, ids]. */
function oracle(db: DiscoDB): [string, number[]][] {
  return [...db.items()].map(([k, vs]) => [hex(k), [...vs.ids()]])
}

/** `scan` the JavaScript way: while another scan holds the WebAssembly decoder (then left). */
function jsScan(db: DiscoDB, batchKeys: number): ReturnType<typeof scan> {
  const holder = db.itemBatches(batchKeys)[Symbol.iterator]()
  try {
    holder.next()
    return scan(db, batchKeys)
  } finally {
    holder.return?.()
  }
}

/** The error code of a full scan, or 'ok'. */
function scanCode(db: DiscoDB, batchKeys: number, js: boolean): string {
  try {
    if (js) jsScan(db, batchKeys)
    else scan(db, batchKeys)
    return 'ok'
  } catch (e) {
    if (!(e instanceof DiscoError)) throw e
    return e.code
  }
}

test('item scans: WebAssembly batches equal JavaScript batches and items() on every compat vector', () => {
  let n = 0
  for (const v of loadVectors()) {
    for (const db of [DiscoDB.load(v.ddb), DiscoDB.open(v.ddb)]) {
      const want = oracle(db)
      const w = scan(db, 16)
      assert.deepEqual(w.items, want, `${v.name}: WebAssembly batches`)
      if (db.size > 0) assert.ok(w.wasm.every(Boolean), `${v.name}: every batch from WebAssembly`)
      const js = jsScan(db, 16)
      assert.deepEqual(js.items, want, `${v.name}: JavaScript batches`)
      assert.ok(js.wasm.every((x) => !x), `${v.name}: every batch from JavaScript`)
    }
    n++
  }
  assert.ok(n > 0)
})

test('item scans: generated DBs (every delta width, a key with more IDs than a batch holds, two scans at once, a scan left early)', () => {
  const seed = 20261127
  const r = rng(seed)
  const U = 90_000
  const values = Array.from({ length: U }, (_, i) => `value-${i}`)
  const items: [string, string[]][] = []
  // Lists of 1..U values: deltas from 1 bit to 17 bits wide.
  for (let k = 0; k < 5000; k++) {
    const n = k % 1500 === 0 ? 1 + r.below(U) : 1 + r.below(k % 7 === 0 ? 300 : 12)
    const picked = new Set<string>()
    while (picked.size < n) picked.add(r.pick(values))
    items.push([`key-${k}`, [...picked]])
  }
  // More IDs than one WebAssembly batch holds (65,536): that key alone goes the JavaScript way.
  items.push(['everything', values])
  items.push(['empty', []])
  for (const disableCompression of [true, false]) {
    const db = DiscoDB.build(items, { disableCompression })
    const want = oracle(db)
    const longKeys = want.filter(([, ids]) => ids.length > 65_536).length
    assert.ok(longKeys >= 1)
    for (const size of [1, 7, 1000, WASM_KEYS, WASM_KEYS + 1, 10_000]) {
      const got = scan(db, size)
      assert.deepEqual(got.items, want, `seed ${seed}: itemBatches(${size})`)
      assert.ok(got.lengths.every((l) => l >= 1 && l <= size), `seed ${seed}: batch lengths ${got.lengths}`)
      assert.equal(got.wasm.some(Boolean), size <= WASM_KEYS, `seed ${seed}: WebAssembly used for batches of ${size}`)
      // Each key with more IDs than a WebAssembly batch holds is a JavaScript batch of its own.
      if (size <= WASM_KEYS) assert.equal(got.wasm.filter((x) => !x).length, longKeys, `seed ${seed}: JavaScript batches`)
      assert.deepEqual(jsScan(db, size).items, want, `seed ${seed}: itemBatches(${size}) in JavaScript`)
    }
    // Two scans at once: the second goes the JavaScript way and both are whole.
    const first = db.itemBatches(100)[Symbol.iterator]()
    const b0 = first.next().value!
    assert.equal(b0.ids.buffer, b0.keyStarts.buffer)
    const firstKeys = [hex(b0.bytes.subarray(b0.keyStarts[0]!, b0.keyEnds[0]!))]
    const second = scan(db, 100)
    assert.deepEqual(second.items, want)
    assert.ok(second.wasm.every((x) => !x), 'the second scan runs in JavaScript')
    for (let s = first.next(); !s.done; s = first.next()) firstKeys.push(hex(s.value.bytes.subarray(s.value.keyStarts[0]!, s.value.keyEnds[0]!)))
    assert.ok(firstKeys.length > 1)
    // A scan left early gives the decoder back.
    for (const _ of db.itemBatches(100)) break
    assert.ok(scan(db, 100).wasm.some(Boolean), 'the decoder is free again after a scan left early')
  }
})

test('item scans: damaged key records give the same error code (or the same batches) in WebAssembly and JavaScript', () => {
  const seed = 77
  const r = rng(seed)
  const items: [string, string[]][] = []
  for (let k = 0; k < 200; k++) items.push([`k${k}`, Array.from({ length: r.below(30) }, () => `v${r.below(400)}`)])
  const image = DiscoDB.build(items, { disableCompression: true }).dumps()
  const head = DiscoDB.loads(image).header
  const lo = head.key2valuesOffs + (head.numKeys + 1) * 8
  const hi = head.id2valueOffs
  const seen = new Set<string>()
  for (let i = 0; i < 400; i++) {
    const bytes = image.slice()
    for (let j = 1 + r.below(4); j > 0; j--) bytes[lo + r.below(hi - lo)]! ^= 1 << r.below(8)
    const db = DiscoDB.loads(bytes)
    const wasmCode = scanCode(db, 16, false)
    const jsCode = scanCode(db, 16, true)
    assert.equal(wasmCode, jsCode, `seed ${seed}: case ${i}`)
    if (wasmCode === 'ok') assert.deepEqual(scan(db, 16).items, jsScan(db, 16).items, `seed ${seed}: case ${i}`)
    seen.add(wasmCode)
  }
  assert.ok(seen.has('DDB_CORRUPT') && seen.has('ok'), `seed ${seed}: ${[...seen]}`)
})
