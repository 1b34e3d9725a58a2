// The CHD evaluation (spec 4.7) against a BigInt reference: the u16 path (small displacements,
// as CMPH makes them), the division-free fast path (bins below 2^26, every displacement split into
// p0, p1 < bins), the general path they fall back to, the word-wise hash of the reader's lookups,
// and the rank of empty bins.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type Chd, binKey, chdBin, chdBinWords, jenkins, prepareChd } from '#src/discodb/chd.js'
import { rng } from './random.js'

/** The bin of `key` computed with BigInt, straight from the spec's formula. */
function referenceBin(chd: Chd, key: Uint8Array): number {
  const [h0, h1, h2] = jenkins(chd.seed, key).map(BigInt) as [bigint, bigint, bigint]
  const n = BigInt(chd.bins)
  const d = BigInt(chd.displacements[Number(h0 % BigInt(chd.displacements.length))]!)
  const p0 = d % n
  const p1 = d / n
  const h = (h2 % (n - 1n)) + 1n
  return Number(((h1 % n) + h * p0 + p1) % n)
}

function randomKey(r: ReturnType<typeof rng>): Uint8Array {
  const key = new Uint8Array(r.below(40))
  for (let i = 0; i < key.length; i++) key[i] = r.below(256)
  return key
}

/** A CHD of `bins` bins and `buckets` random displacements below `dMax`, no empty bins. */
function randomChd(r: ReturnType<typeof rng>, bins: number, buckets: number, dMax: number): Chd {
  const disp = new Float64Array(buckets)
  for (let i = 0; i < buckets; i++) disp[i] = Math.floor(r.next() * dMax)
  // Bins next to the limit of dMax: the largest displacement too.
  disp[0] = dMax - 1
  return prepareChd(r.below(2 ** 32), bins, disp, new Uint32Array(0))
}

test('chdBin: the fast path equals the BigInt formula, up to 2^26 - 1 bins', () => {
  const seed = 20261127
  const r = rng(seed)
  const sizes = [2, 3, 31, 32, 33, 1000, 99_991, 2 ** 20 + 7, 2 ** 26 - 1, ...Array.from({ length: 8 }, () => 2 + r.below(2 ** 26 - 2))]
  for (const bins of sizes) {
    const chd = randomChd(r, bins, 1 + r.below(5000), bins * bins)
    assert.notEqual(chd.pairs, null, `seed ${seed}: bins ${bins} takes the fast path`)
    assert.equal(chd.small, null, `seed ${seed}: bins ${bins}: not the u16 path`)
    for (let k = 0; k < 500; k++) {
      const key = randomKey(r)
      assert.equal(chdBin(chd, key), referenceBin(chd, key), `seed ${seed}: bins ${bins}, key ${Array.from(key)}`)
    }
  }
})

test('chdBin: the general path (bins from 2^26, or a displacement with p1 >= bins) equals the BigInt formula', () => {
  const seed = 7
  const r = rng(seed)
  const cases: [number, number][] = [
    [2 ** 26, 2 ** 34],
    [2 ** 32 - 1, 2 ** 33],
    [1000, 2 ** 33],
    [5, 2 ** 33],
  ]
  for (const [bins, dMax] of cases) {
    const chd = randomChd(r, bins, 1 + r.below(100), dMax)
    assert.equal(chd.pairs, null, `seed ${seed}: bins ${bins}, displacements below ${dMax} take the general path`)
    assert.equal(chd.small, null, `seed ${seed}: bins ${bins}: not the u16 path`)
    for (let k = 0; k < 500; k++) {
      const key = randomKey(r)
      assert.equal(chdBin(chd, key), referenceBin(chd, key), `seed ${seed}: bins ${bins}, key ${Array.from(key)}`)
    }
  }
})

test('binKey: a bin maps to its rank among occupied bins, an empty bin to -1', () => {
  const seed = 99
  const r = rng(seed)
  for (const bins of [2, 31, 32, 33, 64, 65, 1000]) {
    const empty = new Set<number>()
    const want = Math.floor(bins * r.next())
    while (empty.size < Math.min(want, bins - 1)) empty.add(r.below(bins))
    const chd = prepareChd(1, bins, Float64Array.of(0), Uint32Array.from([...empty].sort((a, b) => a - b)))
    let rank = 0
    for (let bin = 0; bin < bins; bin++) {
      if (empty.has(bin)) assert.equal(binKey(chd, bin), -1, `seed ${seed}: bins ${bins}, empty bin ${bin}`)
      else assert.equal(binKey(chd, bin), rank++, `seed ${seed}: bins ${bins}, bin ${bin}`)
    }
  }
})

test('chdBin: the u16 path (every displacement below 2^16 and bins) equals the BigInt formula', () => {
  const seed = 31
  const r = rng(seed)
  const sizes = [2, 3, 33, 1000, 65_535, 65_536, 65_537, 200_003, 2 ** 26 - 1, ...Array.from({ length: 6 }, () => 2 + r.below(2 ** 26 - 2))]
  for (const bins of sizes) {
    const chd = randomChd(r, bins, 1 + r.below(5000), Math.min(bins, 0x10000))
    assert.notEqual(chd.small, null, `seed ${seed}: bins ${bins} takes the u16 path`)
    assert.equal(chd.pairs, null, `seed ${seed}: bins ${bins}: no pairs beside the u16 table`)
    for (let k = 0; k < 500; k++) {
      const key = randomKey(r)
      assert.equal(chdBin(chd, key), referenceBin(chd, key), `seed ${seed}: bins ${bins}, key ${Array.from(key)}`)
    }
  }
  // One displacement at the u16 limit (or at bins) sends the table to the pairs path.
  for (const bins of [1000, 70_000]) {
    const chd = randomChd(r, bins, 10, Math.min(bins, 0x10000) + 1)
    assert.equal(chd.small, null, `seed ${seed}: bins ${bins}: a displacement of ${Math.min(bins, 0x10000)} is not small`)
    assert.notEqual(chd.pairs, null)
  }
})

/** `key` as little-endian words, zero past its end (the reader's lookup form). */
function keyWords(key: Uint8Array): Int32Array {
  const words = new Int32Array((key.length >>> 2) + 1)
  new Uint8Array(words.buffer).set(key)
  return words
}

test('chdBinWords: the same bin as chdBin for every key length on all three paths', () => {
  const seed = 4242
  const r = rng(seed)
  const tables = [randomChd(r, 200_003, 25_001, 50), randomChd(r, 99_991, 5000, 99_991 * 99_991), randomChd(r, 1000, 100, 2 ** 33)]
  for (const chd of tables) {
    for (let len = 0; len <= 40; len++) {
      for (let k = 0; k < 20; k++) {
        const key = new Uint8Array(len)
        for (let i = 0; i < len; i++) key[i] = r.below(256)
        assert.equal(chdBinWords(chd, keyWords(key), len), chdBin(chd, key), `seed ${seed}: key ${Array.from(key)}`)
      }
    }
  }
})
