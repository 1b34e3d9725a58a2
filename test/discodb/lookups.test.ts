// Lookups of an uncompressed DB: the one-loop visit hands out exactly the values the iterator
// gives, and a value-ID list with an ID outside 1..U is DDB_CORRUPT on every read path.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoDB, DiscoError } from 'disco-inferno'
import { encodeUnhashed } from './encode.js'
import { rng } from './random.js'

const encoder = new TextEncoder()
const enc = (s: string): Uint8Array => encoder.encode(s)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The error code `f` throws ('none' when it does not). */
function code(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (!(e instanceof DiscoError)) throw e
    return e.code
  }
  return 'none'
}

test('visit of an uncompressed DB equals the iterator for every key and width of delta', () => {
  const seed = 20261127
  const r = rng(seed)
  // Lists from one value to all of them, so that delta widths run from 1 to 12 bits.
  const values = Array.from({ length: 3000 }, (_, i) => `v${i}`)
  const items: [string, string[]][] = []
  for (let k = 0; k < 300; k++) {
    const n = 1 + r.below(k % 10 === 0 ? 3000 : 12)
    const picked = new Set<string>()
    while (picked.size < n) picked.add(r.pick(values))
    items.push([`key${k}`, [...picked]])
  }
  items.push(['all', values])
  // More than 25 keys are hashed; 25 or fewer are found by a scan.
  for (const set of [items, items.slice(0, 20)]) {
    const db = DiscoDB.build(set, { disableCompression: true })
    assert.equal(db.header.hashed, set.length > 25)
    for (const [k] of set) {
      const got: string[] = []
      db.get(k)!.visit((b, s, e) => got.push(hex(b.subarray(s, e))))
      assert.deepEqual(got, db.get(k)!.toArray().map(hex), `seed ${seed}: ${k}`)
      assert.equal(got.length, db.get(k)!.count(), `seed ${seed}: count of ${k}`)
    }
    assert.equal(db.get('absent'), undefined)
  }
})

/** A DB whose key `k` holds value IDs 1 and 40 (deltas 1 and 39, 6 bits each), and where its deltas start. */
function fixture(): { bytes: Uint8Array; deltas: number } {
  const values = Array.from({ length: 40 }, (_, i) => `v${String(i + 1).padStart(2, '0')}`)
  const bytes = DiscoDB.build([['all', values], ['k', ['v01', 'v40']]], { disableCompression: true }).dumps().slice()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const toc = Number(view.getBigUint64(40, true))
  for (let i = 0; i < 2; i++) {
    const at = Number(view.getBigUint64(toc + 8 * i, true))
    const klen = view.getUint32(at, true)
    if (klen === 1 && bytes[at + 4] === 0x6b) {
      const base = at + 8 + klen
      assert.equal((bytes[base]! & 31) + 1, 6, 'the fixture has 6-bit deltas')
      return { bytes, deltas: base }
    }
  }
  throw new Error('fixture: key k not found')
}

/** Writes the 6-bit delta number `j` of the list whose stream starts at `base`. */
function setDelta(bytes: Uint8Array, base: number, j: number, v: number): void {
  for (let b = 0; b < 6; b++) {
    const bit = 5 + 6 * j + b
    const p = base + (bit >>> 3)
    bytes[p] = (bytes[p]! & ~(1 << (bit & 7))) | (((v >>> b) & 1) << (bit & 7))
  }
}

test('a value-ID list with an ID outside 1..U is DDB_CORRUPT for visit, ids and the iterator', () => {
  const ok = fixture()
  const db = DiscoDB.loads(ok.bytes)
  const want: string[] = []
  db.get('k')!.visit((b, s, e) => want.push(new TextDecoder().decode(b.subarray(s, e))))
  assert.deepEqual(want, ['v01', 'v40'])
  for (const [j, v, what] of [
    [0, 0, 'first ID 0'],
    [1, 63, 'second ID 64 > U = 40'],
  ] as const) {
    const { bytes, deltas } = fixture()
    setDelta(bytes, deltas, j, v)
    const bad = DiscoDB.loads(bytes)
    assert.equal(code(() => bad.get('k')!.visit(() => {})), 'DDB_CORRUPT', `${what}: visit`)
    assert.equal(code(() => bad.get('k')!.ids()), 'DDB_CORRUPT', `${what}: ids`)
    assert.equal(code(() => bad.get('k')!.toArray()), 'DDB_CORRUPT', `${what}: iterator`)
    assert.equal(bad.get('k')!.count(), 2, `${what}: count decodes nothing`)
    assert.equal(bad.has(enc('k')), true, `${what}: has`)
  }
})

test('a query visitor may read the DB again: nested visits see their own values (plain and compressed)', () => {
  for (const compressed of [false, true]) {
    const input: [Uint8Array, Uint8Array[]][] = []
    for (let k = 0; k < 30; k++) input.push([enc(`k${k}`), Array.from({ length: 1 + (k % 7) }, (_, j) => enc(`v${(k * 5 + j) % 40}abcdabcd`))])
    const db = DiscoDB.loads(encodeUnhashed(input, compressed ? { symbols: ['abcd', 'bcda'].map(enc) } : {}))
    assert.equal(db.header.compressed, compressed)
    for (let k = 0; k + 1 < input.length; k++) {
      const q = `k${k} | k${k + 1}`
      const want = db.query(q).toArray().map(hex)
      const inner = db.query(`k${input.length - 1 - k} | k0`)
      const wantInner = inner.toArray().map(hex)
      const got: string[] = []
      db.query(q).visit((b, s, e) => {
        const before = hex(b.subarray(s, e))
        const seen: string[] = []
        inner.visit((ib, is, ie) => seen.push(hex(ib.subarray(is, ie))))
        assert.deepEqual(seen, wantInner, `${compressed ? 'compressed' : 'plain'} ${q}: inner visit`)
        assert.equal(hex(b.subarray(s, e)), before, `${compressed ? 'compressed' : 'plain'} ${q}: the outer value is intact`)
        got.push(before)
      })
      assert.deepEqual(got, want, `${compressed ? 'compressed' : 'plain'} ${q}: outer visit`)
    }
  }
})

test('hashed lookups (keys hashed and compared a word at a time) agree with a Map for every key length, near misses and long keys', () => {
  const seed = 8675309
  const r = rng(seed)
  const items = new Map<string, string[]>()
  const keys: Uint8Array[] = []
  const add = (key: Uint8Array): void => {
    const h = hex(key)
    if (items.has(h)) return
    items.set(h, [...new Set(Array.from({ length: 1 + r.below(4) }, () => `v${r.below(500)}`))].sort())
    keys.push(key)
  }
  // Every length from 0 to 40 (a whole number of words, and 1-3 bytes past one), and keys longer
  // than the lookup's first scratch buffer.
  for (let len = 0; len <= 40; len++) for (let k = 0; k < 6; k++) add(Uint8Array.from({ length: len }, () => r.below(256)))
  for (const len of [255, 256, 257, 1000, 4099]) add(Uint8Array.from({ length: len }, () => r.below(256)))
  for (const compress of [false, true]) {
    const db = DiscoDB.build([...keys].map((k) => [k, items.get(hex(k))!] as const), { disableCompression: !compress })
    assert.equal(db.header.hashed, true)
    for (const key of keys) {
      // The key at an odd offset inside other bytes: only its own bytes count.
      const host = new Uint8Array(key.length + 7).fill(0xa5)
      host.set(key, 3)
      for (const k of [key, host.subarray(3, 3 + key.length), Buffer.from(key)]) {
        assert.deepEqual(db.get(k)?.toStrings().sort(), items.get(hex(key)), `seed ${seed}: key ${hex(key)}`)
        assert.equal(db.has(k), true)
      }
      // Near misses: one bit changed in each of the last four bytes and the first, one byte
      // more or less: absent unless that is another key.
      const near: Uint8Array[] = [key.subarray(0, key.length - 1), Uint8Array.of(...key, 0), Uint8Array.of(...key, r.below(256))]
      for (const at of [key.length - 1, key.length - 2, key.length - 3, key.length - 4, 0]) {
        if (at < 0) continue
        const m = Uint8Array.from(key)
        m[at]! ^= 1 << r.below(8)
        near.push(m)
      }
      for (const m of near) {
        assert.equal(db.has(m), items.has(hex(m)), `seed ${seed}: near miss ${hex(m)} of ${hex(key)}`)
        assert.deepEqual(db.get(m)?.toStrings().sort(), items.get(hex(m)), `seed ${seed}: near miss ${hex(m)}`)
      }
    }
  }
})

test('lookups read the key and value tables in compact form when they fit (runs of 256 entries within 64 KiB), else the full tables: the same values', () => {
  const seed = 5150
  const r = rng(seed)
  // Small values and keys (compact tables), values of ~400 bytes (256 of them span more than
  // 64 KiB: the full value table), keys of ~400 bytes (the full key table).
  for (const [keyLen, valueLen] of [[8, 20], [8, 400], [400, 20], [400, 400]] as const) {
    const values = Array.from({ length: 1500 }, (_, i) => `${i}:`.padEnd(valueLen - 10 + r.below(20), String.fromCharCode(97 + r.below(26))))
    const items: [string, string[]][] = []
    for (let k = 0; k < 700; k++) {
      const picked = new Set<string>()
      for (let j = 1 + r.below(15); j > 0; j--) picked.add(r.pick(values))
      items.push([`${k}-`.padEnd(keyLen - 4 + r.below(8), 'k'), [...picked]])
    }
    const db = DiscoDB.build(items, { disableCompression: true })
    assert.equal(db.header.hashed, true)
    for (const [key, vs] of items) {
      const got: string[] = []
      db.get(key)!.visit((b, s, e) => got.push(Buffer.from(b.subarray(s, e)).toString()))
      assert.deepEqual(got.sort(), [...vs].sort(), `seed ${seed}: keys ~${keyLen} B, values ~${valueLen} B, key ${key}`)
      assert.deepEqual(db.get(key)!.toStrings().sort(), [...vs].sort())
    }
    assert.equal(db.get('absent'.padEnd(keyLen, 'k')), undefined)
  }
})
