// The WebAssembly batch decoder of compressed values (huffman-wasm.ts, used by valueBatches)
// against the JavaScript decoder (valueAt, one value at a time), on generated DBs: random prefix
// codebooks with every code length 1..16, complete and with empty slots; values that are valid
// token streams, random bytes (which may reach an empty slot), the empty value, one-byte values and
// values at the very end of the value section. Same bytes for every value, and the same error
// (code and message) at the same value for damaged ones, whatever the batch size.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoDB, DiscoError } from 'disco-inferno'
import { rng } from './random.js'

type Rng = ReturnType<typeof rng>

/** A codebook of a random prefix code: symbol and length of each of the 65536 slots (length 0 = empty). */
interface Book {
  words: Uint32Array
  lens: Uint8Array
  /** Slots that hold a code (one per code). */
  codes: number[]
}

function randomBook(r: Rng, stop: number, empty: number): Book {
  const words = new Uint32Array(65536)
  const lens = new Uint8Array(65536)
  const codes: number[] = []
  const walk = (prefix: number, depth: number): void => {
    if (depth === 16 || (depth >= 1 && r.next() < stop)) {
      if (r.next() < empty) return
      const sym = (r.below(0x10000) * 0x10000 + r.below(0x10000)) >>> 0
      for (let j = 0; j < 1 << (16 - depth); j++) {
        words[prefix | (j << depth)] = sym
        lens[prefix | (j << depth)] = depth
      }
      codes.push(prefix)
      return
    }
    walk(prefix, depth + 1)
    walk(prefix | (1 << depth), depth + 1)
  }
  walk(0, 0)
  return { words, lens, codes }
}

/** LSB-first bits into bytes. */
class Bits {
  bytes: number[] = [0]
  n = 3
  put(value: number, width: number): void {
    for (let k = 0; k < width; k++) {
      if (this.n >> 3 === this.bytes.length) this.bytes.push(0)
      if ((value >>> k) & 1) this.bytes[this.n >> 3]! |= 1 << (this.n & 7)
      this.n++
    }
  }
  /** The stream with its padding count in bits 0..2. */
  done(): number[] {
    this.bytes[0]! |= (8 - (this.n & 7)) & 7
    return this.bytes
  }
}

/** A stored value: a valid token stream over `book`, or random bytes. */
function randomValue(r: Rng, book: Book): number[] {
  const kind = r.below(10)
  if (kind === 0) return [0x05] // the empty value
  if (kind <= 2) return Array.from({ length: 1 + r.below(kind === 1 ? 3 : 60) }, () => r.below(256))
  const b = new Bits()
  for (let t = r.below(40); t > 0; t--) {
    if (book.codes.length > 0 && r.next() < 0.4) {
      const slot = r.pick(book.codes)
      b.put(1, 1)
      b.put(slot, book.lens[slot]!)
    } else {
      b.put(0, 1)
      b.put(r.below(256), 8)
    }
  }
  return b.done()
}

/** A compressed DB image with no keys and these stored values (spec 2). */
function image(values: number[][], book: Book): Uint8Array {
  const U = values.length
  const keyToc = 72
  const id2v = keyToc + 8
  let off = id2v + (U + 1) * 8
  const starts: number[] = []
  for (const v of values) {
    starts.push(off)
    off += v.length
  }
  starts.push(off)
  const codebook = off + 4
  const size = codebook + 65536 * 8
  const b = new Uint8Array(size)
  const dv = new DataView(b.buffer)
  dv.setUint32(0, 0x1d14de5b, true)
  dv.setUint32(4, 0x04d85be6, true)
  dv.setUint32(8, size, true)
  dv.setUint32(16, 0, true)
  dv.setUint32(20, U, true)
  dv.setUint32(32, 4, true) // F_COMPRESSED
  dv.setUint32(40, keyToc, true)
  dv.setUint32(48, id2v, true)
  dv.setUint32(56, 72, true)
  dv.setUint32(64, codebook, true)
  dv.setUint32(keyToc, id2v, true)
  starts.forEach((s, i) => dv.setUint32(id2v + i * 8, s, true))
  values.forEach((v, i) => b.set(v, starts[i]!))
  for (let i = 0; i < 65536; i++) {
    dv.setUint32(codebook + i * 8, book.words[i]!, true)
    dv.setUint32(codebook + i * 8 + 4, book.lens[i]!, true)
  }
  return b
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Each value (hex) in ID order up to the first error, then the error as `CODE: message`. */
function oneByOne(db: DiscoDB): string[] {
  const out: string[] = []
  try {
    for (let id = 1; id <= db.numUniqueValues; id++) out.push(hex(db.valueAt(id)))
  } catch (e) {
    if (!(e instanceof DiscoError)) throw e
    out.push(`${e.code}: ${e.message}`)
  }
  return out
}

function byBatches(db: DiscoDB, size: number): string[] {
  const out: string[] = []
  try {
    for (const b of db.valueBatches(size)) {
      assert.equal(b.firstId, out.length + 1)
      for (let k = 0; k < b.length; k++) out.push(hex(b.bytes.subarray(b.offsets[k]!, b.offsets[k + 1]!)))
    }
  } catch (e) {
    if (!(e instanceof DiscoError)) throw e
    out.push(`${e.code}: ${e.message}`)
  }
  return out
}

/**
 * `got` (from batches) matches `want` (value by value): the same values, or, when a value is
 * damaged, the same error after a prefix of the values (the batch holding the damaged value is
 * not handed out).
 */
function sameAs(got: string[], want: string[], where: string): void {
  const last = want[want.length - 1]
  if (last === undefined || !last.startsWith('DDB_')) {
    assert.deepEqual(got, want, where)
    return
  }
  assert.equal(got[got.length - 1], last, where)
  assert.ok(got.length <= want.length, where)
  assert.deepEqual(got.slice(0, -1), want.slice(0, got.length - 1), where)
}

test('WebAssembly batch decoding = the JavaScript decoder on random codebooks and streams', () => {
  const lengthsSeen = new Set<number>()
  let damaged = 0
  let clean = 0
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(7000 + seed)
    const book = randomBook(r, [0.02, 0.1, 0.3, 0.6][seed % 4]!, seed % 3 === 0 ? 0.2 : 0)
    for (const l of book.lens) lengthsSeen.add(l)
    const values = Array.from({ length: 1 + r.below(300) }, () => randomValue(r, book))
    const bytes = image(values, book)
    const want = oneByOne(DiscoDB.loads(bytes))
    if (want[want.length - 1]!.startsWith('DDB_')) damaged++
    else clean++
    for (const size of [1, 1 + r.below(7), 4096]) {
      // A fresh DB per size: the decoder is made by the first scan.
      sameAs(byBatches(DiscoDB.loads(bytes), size), want, `seed ${seed} batch ${size}`)
    }
    // Followed by other bytes (the window never reads them: the DB's bytes end at its size).
    const padded = new Uint8Array(bytes.length + 16).fill(0xff)
    padded.set(bytes)
    sameAs(byBatches(DiscoDB.loads(padded), 1 + r.below(50)), want, `seed ${seed} padded`)
  }
  for (let l = 1; l <= 16; l++) assert.ok(lengthsSeen.has(l), `code length ${l} covered`)
  assert.ok(damaged > 0 && clean > 0, `damaged ${damaged}, clean ${clean}`)
})

test('WebAssembly batch decoding: a codebook of one 1-bit code, and values too large for a batch', () => {
  const book: Book = { words: new Uint32Array(65536), lens: new Uint8Array(65536), codes: [0] }
  for (let i = 0; i < 65536; i += 2) {
    book.words[i] = 0x64636261 // "abcd"
    book.lens[i] = 1
  }
  const stream = (tokens: number): number[] => {
    const b = new Bits()
    for (let t = 0; t < tokens; t++) {
      if (t % 3 === 2) {
        b.put(0, 1)
        b.put(0x7a, 8) // a literal "z"
      } else b.put(0b01, 2) // the codeword of code 0: "abcd"
    }
    return b.done()
  }
  // 150,000 tokens take 36 KiB: their worst case (16 bytes per stored byte) exceeds a batch.
  const values = [stream(5), stream(150_000), [0x05], stream(1), [0x07, 0xfe]]
  const bytes = image(values, book)
  const want = oneByOne(DiscoDB.loads(bytes))
  assert.equal(want.length, values.length)
  assert.equal(want[1], hex(new Uint8Array(Buffer.from('abcdabcdz'.repeat(50_000)))))
  for (const size of [1, 2, 5]) assert.deepEqual(byBatches(DiscoDB.loads(bytes), size), want, `batch ${size}`)
  // A codeword of code 1 reaches an empty (odd) slot: DDB_CORRUPT, after the values before it.
  const damaged = image([...values, [0x1b]], book)
  const wantDamaged = oneByOne(DiscoDB.loads(damaged))
  assert.match(wantDamaged[values.length]!, /^DDB_CORRUPT: .*empty codebook slot/)
  for (const size of [1, 2, 6]) sameAs(byBatches(DiscoDB.loads(damaged), size), wantDamaged, `damaged, batch ${size}`)
})

test('two scans at once: the second decodes in JavaScript, both see every value', () => {
  const r = rng(5)
  const book = randomBook(r, 0.3, 0)
  const values = Array.from({ length: 200 }, () => randomValue(r, book))
  const db = DiscoDB.loads(image(values, book))
  const want = oneByOne(db)
  const outer: string[] = []
  for (const b of db.valueBatches(64)) {
    for (let k = 0; k < b.length; k++) outer.push(hex(b.bytes.subarray(b.offsets[k]!, b.offsets[k + 1]!)))
    // A nested scan while the outer one holds the decoder.
    assert.deepEqual(byBatches(db, 7), want)
    // The outer batch is still intact.
    assert.equal(hex(b.bytes.subarray(b.offsets[0]!, b.offsets[1]!)), want[b.firstId - 1])
  }
  assert.deepEqual(outer, want)
  // Given back at the end: a later scan (and one after a break) works.
  for (const _ of db.valueBatches(3)) break
  assert.deepEqual(byBatches(db, 50), want)
})
