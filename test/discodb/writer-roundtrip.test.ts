// Round trips on seeded random data: build, then read every key, ID list and value back straight
// from the bytes (spec decoders in writer-helpers.ts) and compare with a naive model.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoDB, DiscoDBConstructor } from 'disco-inferno'
import { buildCodebook, encodeValue, makeScratch, writeCodebookTable, CODEBOOK_BYTES } from '#src/discodb/huffman-build.js'
import { chdIndex, keyRecord, parseHeader, rng, valueBytes } from './writer-helpers.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Random bytes of length 0..max (sometimes from a tiny alphabet, so that values repeat). */
function randomBytes(r: () => number, max: number): Uint8Array {
  const len = Math.floor(r() * (max + 1))
  const out = new Uint8Array(len)
  const alphabet = r() < 0.5 ? 3 : 256
  for (let i = 0; i < len; i++) out[i] = Math.floor(r() * alphabet)
  return out
}

interface Model {
  keys: string[]
  ids: Map<string, number[]>
  uniq: string[]
}

/** Builds the same input with the constructor and with plain Maps. */
function buildBoth(seed: number, nKeys: number, uniqueItems: boolean): { bytes: Uint8Array; model: Model } {
  const r = rng(seed)
  const c = new DiscoDBConstructor()
  const model: Model = { keys: [], ids: new Map(), uniq: [] }
  const idOf = new Map<string, number>()
  const keyPool: Uint8Array[] = []
  for (let i = 0; i < nKeys; i++) keyPool.push(randomBytes(r, 12))
  const valuePool: Uint8Array[] = []
  for (let i = 0; i < Math.max(1, nKeys); i++) valuePool.push(randomBytes(r, 20))
  const adds = nKeys === 0 ? 0 : Math.floor(nKeys * 1.3)
  for (let a = 0; a < adds; a++) {
    const key = keyPool[a < nKeys ? a : Math.floor(r() * nKeys)]!
    const nv = r() < 0.15 ? 0 : Math.floor(r() * 6)
    const vals: Uint8Array[] = []
    for (let j = 0; j < nv; j++) vals.push(valuePool[Math.floor(r() * valuePool.length)]!)
    // Exercise every accepted shape of `values`.
    let added = vals
    if (nv === 1 && r() < 0.5) c.add(key, vals[0]!)
    else if (r() < 0.3) {
      const set = new Set(vals)
      added = [...set]
      c.add(key, set)
    } else c.add(key, vals)
    const k = hex(key)
    if (!model.ids.has(k)) {
      model.ids.set(k, [])
      model.keys.push(k)
    }
    for (const v of added) {
      const h = hex(v)
      if (!idOf.has(h)) {
        idOf.set(h, idOf.size + 1)
        model.uniq.push(h)
      }
      model.ids.get(k)!.push(idOf.get(h)!)
    }
  }
  return { bytes: c.finalizeBytes({ uniqueItems }), model }
}

test('round trips on seeded random data (0..70,000 keys)', () => {
  for (const [seed, nKeys] of [[1, 0], [2, 1], [3, 25], [4, 26], [5, 300], [6, 5000], [7, 70000]] as const) {
    for (const uniqueItems of nKeys > 5000 ? [false] : [false, true]) {
      const msg = `seed ${seed}, ${nKeys} keys, uniqueItems ${uniqueItems}`
      const { bytes, model } = buildBoth(seed, nKeys, uniqueItems)
      const h = parseHeader(bytes)
      assert.equal(h.size, bytes.length, msg)
      assert.equal(h.numKeys, model.keys.length, msg)
      assert.equal(h.numUniqueValues, model.uniq.length, msg)
      for (let id = 1; id <= h.numUniqueValues; id++) assert.equal(hex(valueBytes(bytes, id)), model.uniq[id - 1], msg)
      let numValues = 0
      let multiset = false
      const order: string[] = []
      for (let i = 0; i < h.numKeys; i++) {
        const { key, ids } = keyRecord(bytes, i)
        const k = hex(key)
        order.push(k)
        let want = [...model.ids.get(k)!].sort((a, b) => a - b)
        if (uniqueItems) want = want.filter((x, j) => j === 0 || want[j - 1] !== x)
        else if (want.some((x, j) => j > 0 && want[j - 1] === x)) multiset = true
        assert.deepEqual(ids, want, `${msg}: key ${k}`)
        numValues += ids.length
        if (h.flags & 1 && i % Math.ceil(h.numKeys / 2000) === 0) assert.equal(chdIndex(bytes, key), i, `${msg}: hash of key ${k}`)
      }
      assert.equal(h.numValues, numValues, msg)
      assert.equal(h.flags, (nKeys > 25 ? 1 : 0) | (multiset ? 2 : 0), msg)
      if (nKeys <= 25) assert.deepEqual(order, model.keys, `${msg}: first-appearance order`)
      else assert.deepEqual([...order].sort(), [...model.keys].sort(), msg)
      // The reader agrees: every key found through its lookup, values in value-ID order.
      const db = DiscoDB.loads(bytes)
      const slot = new Map(order.map((k, i) => [k, i]))
      for (const k of model.keys) {
        const got = db.get(Buffer.from(k, 'hex'))
        assert.ok(got, `${msg}: get ${k}`)
        assert.deepEqual(db.idsOfKey(Buffer.from(k, 'hex')), Uint32Array.from(keyRecord(bytes, slot.get(k)!).ids), `${msg}: ids of ${k}`)
      }
      assert.equal(db.get(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)), undefined, `${msg}: absent key`)
    }
  }
})

/** Decodes one value with the table written by writeCodebookTable (spec 3.3, bit by bit). */
function decode(enc: Uint8Array, table: Uint8Array): Uint8Array {
  const bit = (k: number): number => ((enc[k >>> 3] ?? 0) >>> (k & 7)) & 1
  const read = (k: number, n: number): number => {
    let v = 0
    for (let i = 0; i < n; i++) v |= bit(k + i) << i
    return v >>> 0
  }
  const dv = new DataView(table.buffer, table.byteOffset)
  const out: number[] = []
  const end = enc.length * 8 - read(0, 3)
  for (let pos = 3; pos < end; ) {
    if (bit(pos)) {
      const slot = read(pos + 1, 16)
      const sym = dv.getUint32(slot * 8, true)
      const n = dv.getUint32(slot * 8 + 4, true)
      assert.ok(n >= 1 && n <= 16, `code length ${n}`)
      out.push(sym & 255, (sym >>> 8) & 255, (sym >>> 16) & 255, sym >>> 24)
      pos += n + 1
    } else {
      out.push(read(pos + 1, 8))
      pos += 9
    }
  }
  return Uint8Array.from(out)
}

test('Huffman codebook: a valid prefix code (lengths 1..16, full table), values decode exactly', () => {
  for (const seed of [11, 12, 13]) {
    const r = rng(seed)
    const words = Array.from({ length: 300 }, () => randomBytes(r, 7))
    const vals: Uint8Array[] = []
    for (let i = 0; i < 3000; i++) {
      const parts: number[] = []
      const n = Math.floor(r() * 12)
      for (let j = 0; j < n; j++) parts.push(...(r() < 0.8 ? words[Math.floor(r() ** 2 * words.length)]! : randomBytes(r, 5)))
      vals.push(Uint8Array.from(parts))
    }
    vals.push(new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(1, 2, 3, 4), new Uint8Array(70000).fill(7))
    const total = vals.reduce((s, v) => s + v.length, 0)
    const bytes = new Uint8Array(total)
    const offsets = new Uint32Array(vals.length + 1)
    vals.forEach((v, i) => {
      bytes.set(v, offsets[i]!)
      offsets[i + 1] = offsets[i]! + v.length
    })
    const scratch = makeScratch()
    const cb = buildCodebook(bytes, offsets, vals.length, scratch)
    assert.ok(cb.symbols.length > 0, `seed ${seed}: some symbols`)
    // Kraft: the code fills at most the 2^16 table; every length within 1..16.
    let kraft = 0
    for (const l of cb.lengths) {
      assert.ok(l >= 1 && l <= 16)
      kraft += 2 ** (16 - l)
    }
    assert.ok(kraft <= 65536, `seed ${seed}: Kraft sum ${kraft}`)
    const table = new Uint8Array(CODEBOOK_BYTES)
    writeCodebookTable(cb, table, 0)
    // Prefix-free: every symbol's table slots hold that symbol (no other code overwrote them).
    const dv = new DataView(table.buffer)
    cb.symbols.forEach((sym, i) => {
      for (let slot = cb.codes[i]!; slot < 65536; slot += 1 << cb.lengths[i]!) {
        assert.equal(dv.getUint32(slot * 8, true), sym)
        assert.equal(dv.getUint32(slot * 8 + 4, true), cb.lengths[i])
      }
    })
    const enc = new Uint8Array(Math.ceil((3 + 9 * 70000) / 8) + 8)
    for (const v of vals) {
      const n = encodeValue(cb, v, 0, v.length, enc, 0, scratch)
      assert.ok(n <= Math.ceil((3 + 9 * v.length) / 8))
      assert.equal(hex(decode(enc.subarray(0, n), table)), hex(v), `seed ${seed}: value of ${v.length} bytes`)
    }
    const empty = encodeValue(cb, new Uint8Array(0), 0, 0, enc, 0, scratch)
    assert.deepEqual([...enc.subarray(0, empty)], [0x05], 'an empty value is the single byte 0x05')
  }
})

test('compressed DB: ≥ 5 MiB of unique values with average ≥ 6 bytes are compressed, and read back', () => {
  const r = rng(99)
  const words = ['the ', 'cat ', 'sat ', 'on ', 'mat ', 'and ', 'dog ', 'ran ', 'far ', 'sky ']
  const c = new DiscoDBConstructor()
  const uniq: string[] = []
  let bytes = 0
  for (let i = 0; bytes < 5 * 1024 * 1024 + 1000; i++) {
    let s = `doc-${i}: `
    const n = 20 + Math.floor(r() * 100)
    for (let j = 0; j < n; j++) s += words[Math.floor(r() * words.length)]
    if (i % 50 === 0) s += String.fromCharCode(...Array.from({ length: 9 }, () => 0x100 + Math.floor(r() * 500)))
    c.add(`key-${i % 3001}`, s)
    uniq.push(hex(Buffer.from(s)))
    bytes += Buffer.byteLength(s)
  }
  c.add('special', ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'é'])
  uniq.push(...['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'é'].map((s) => hex(Buffer.from(s))))
  const out = c.finalizeBytes()
  const h = parseHeader(out)
  assert.equal(h.flags & 4, 4, 'compressed')
  assert.equal(h.codebookOffs, h.size - 65536 * 8)
  assert.ok(out.length < bytes * 0.6, `smaller than the raw values: ${out.length} vs ${bytes}`)
  for (let id = 1; id <= h.numUniqueValues; id++) assert.equal(hex(valueBytes(out, id)), uniq[id - 1], `value ${id}`)
})

test('public API: finalize, DiscoDB.build (pairs or a Map), dumps, dump + load', async () => {
  const { mkdtempSync, rmSync, readFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const pairs: [string, string[]][] = [['mammals', ['cow', 'dog', 'cat', 'whale']], ['pets', ['dog', 'cat', 'goldfish']], ['empty', []], ['pets', ['hamster']]]
  const c = new DiscoDBConstructor()
  for (const [k, vs] of pairs) c.add(k, vs)
  const db = c.finalize()
  assert.deepEqual(db.get('pets')!.toStrings(), ['dog', 'cat', 'goldfish', 'hamster'])
  assert.deepEqual(db.get('empty')!.toStrings(), [])
  assert.deepEqual(db.query('pets & ~mammals').toStrings(), ['goldfish', 'hamster'])
  const again = DiscoDB.build(pairs)
  assert.deepEqual(again.dumps(), db.dumps(), 'build = add + finalize')
  const fromMap = DiscoDB.build(new Map<string, string | string[]>([['a', ['1', '2']], ['b', '2']]), { uniqueItems: true })
  assert.deepEqual(fromMap.get('b')!.toStrings(), ['2'])
  assert.equal(db.dumps().length, db.header.size)
  const dir = mkdtempSync(join(tmpdir(), 'ddb-write-'))
  try {
    const path = join(dir, 'x.ddb')
    db.dump(path)
    assert.deepEqual(new Uint8Array(readFileSync(path)), db.dumps())
    assert.deepEqual(DiscoDB.load(path).get('mammals')!.toStrings(), ['cow', 'dog', 'cat', 'whale'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  assert.throws(() => DiscoDB.build([['a', 'b', 'c']] as unknown as [string, string][]), (e: any) => e.code === 'DDB_BAD_ARGUMENT')
  assert.throws(() => DiscoDB.build(5 as unknown as []), (e: any) => e.code === 'DDB_BAD_ARGUMENT')
})
