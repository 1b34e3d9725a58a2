import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AtomicWriter, NdjsonSink, RecordReader, RecordWriter, RunMerger, Sorter } from '#src/disco/runs.js'
import { ByteSink, ByteSource, RECORDS_MAGIC, compareKeyBytes } from '#src/disco/records.js'
import { crc32, crc32Bytes } from '#src/util/crc32.js'
import { isDiscoError } from 'disco-inferno'
import { rng, tempDir } from './helpers.js'

const SEED = Number(process.env.DISCO_TEST_SEED ?? 7)

/** JS `<` order (UTF-16 code units): the order Disco promises for keys. */
const jsOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Characters where byte order and UTF-16 order disagree, plus lone surrogates and controls. */
const ALPHABET = ['a', 'b', 'é', '\u0000', '\u0001', '\t', '"', '\uD7FF', '\uE000', '\uFFFF', '\u{1F600}', '\u{10FFFF}', '\uD800', '\uDC00', '中', 'z']

function randomKey(r: () => number): string {
  let s = ''
  const n = Math.floor(r() * 6)
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!
  return s
}

test('keys: encoded bytes round-trip and compare exactly like JS < on the strings', () => {
  const r = rng(SEED)
  const keys = Array.from({ length: 3000 }, () => randomKey(r))
  const sink = new ByteSink(16)
  const spans: [number, number][] = []
  for (const k of keys) {
    const at = sink.pos
    sink.text(k)
    const src = new ByteSource(sink.buf, at, sink.pos)
    const h = src.varint()
    spans.push([src.pos, src.pos + Math.floor(h / 2)])
  }
  const src = new ByteSource(sink.buf, 0, sink.pos)
  for (const k of keys) assert.equal(src.text(), k, `seed=${SEED}`)
  for (let i = 0; i + 1 < keys.length; i++) {
    const [as, ae] = spans[i]!
    const [bs, be] = spans[i + 1]!
    const got = Math.sign(compareKeyBytes(sink.buf, as, ae, sink.buf, bs, be))
    assert.equal(got, jsOrder(keys[i]!, keys[i + 1]!), `seed=${SEED} ${JSON.stringify(keys[i])} vs ${JSON.stringify(keys[i + 1])}`)
  }
})

test('values: typed encoding reads back as from JSON, plus exact bigints', () => {
  const values: unknown[] = [
    0, -0, 1, -1, 127, 128, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e300, -1.5, 0.1, NaN, Infinity, -Infinity,
    '', 'x', 'é中\u{1F600}', '\uD800 lone', 'a'.repeat(300), true, false, null, undefined,
    [], [1, [2, [3]]], [undefined, () => 1], { a: 1, b: undefined, c: () => 2, d: [null] }, { __proto__: null, x: 1 },
    JSON.parse('{"__proto__": 5}'), new Date(0), { toJSON: () => 'custom' }, new Map([[1, 2]]), Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
  ]
  const sink = new ByteSink(8)
  for (const v of values) sink.value(v)
  const src = new ByteSource(sink.buf, 0, sink.pos)
  values.forEach((v, i) => {
    const want = JSON.parse(JSON.stringify([v]))[0] as unknown
    assert.deepEqual(src.value(), want, `value ${i}`)
  })
  const big = [0n, 1n, -1n, 2n ** 64n + 3n, -(10n ** 40n)]
  const s2 = new ByteSink(8)
  s2.value(big)
  assert.deepEqual(new ByteSource(s2.buf, 0, s2.pos).value(), big)
})

test('crc32Bytes equals crc32 of the text, short and long', () => {
  for (const k of ['', 'hello', 'é中\u{1F600}', 'k'.repeat(200)]) {
    const b = Buffer.from(`xx${k}yy`)
    assert.equal(crc32Bytes(b, 2, b.length - 2), crc32(k))
  }
})

test('Sorter: spilled runs merged in rounds equal an in-memory stable sort, per partition', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED)
  const pairs: [string, number][] = []
  for (let i = 0; i < 900; i++) pairs.push([`k${Math.floor(r() * 50)}${r() < 0.1 ? 'é\t"' : ''}${r() < 0.05 ? '\u{1F600}' : r() < 0.05 ? '\uE000' : ''}`, i])
  const P = 3
  const partitionOf = (k: string): number => crc32(k) % P
  for (const fold of [undefined, (_k: string, a: unknown, b: unknown) => (a as number) + (b as number)]) {
    for (const spillEvery of [0, 7]) {
      const s = new Sorter(join(dir, 'tmp'), { partitions: P, partitionOf, ...(fold ? { fold } : {}), fanIn: 4 }) // fan-in 4: several rounds
      pairs.forEach(([k, v], i) => {
        s.add(k, v)
        if (spillEvery && i % spillEvery === spillEvery - 1) s.spill()
      })
      const got = new Map<number, [string, number][]>()
      s.finish((p) => new RecordWriter(join(dir, `out-${p}`)), (p, w) => {
        w.commit()
        const rows: [string, number][] = []
        const rd = new RecordReader(w.path)
        while (rd.next()) rows.push([rd.key(), rd.value() as number])
        got.set(p, rows)
      })
      for (let p = 0; p < P; p++) {
        let want = pairs.filter(([k]) => partitionOf(k) === p).sort((a, b) => jsOrder(a[0], b[0]))
        if (fold) {
          const m = new Map<string, number>()
          for (const [k, v] of want) m.set(k, (m.get(k) ?? 0) + v)
          want = [...m]
        }
        assert.deepEqual(got.get(p) ?? [], want, `seed=${SEED} fold=${!!fold} spill=${spillEvery} p=${p}`)
      }
    }
  }
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'spilled runs are removed')
})

test('Sorter: ASCII keys (shared prefixes, short keys, NULs, in order or not, number rows) sort stably like JS <', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED + 1)
  const parts = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdeg', 'abcdefghij', 'a\u0000', 'a\u0000b', '\u0000', 'b', 'z~', '~']
  const key = (): string => parts[Math.floor(r() * parts.length)]! + (r() < 0.5 ? String(Math.floor(r() * 30)) : '')
  for (const inOrder of [false, true]) {
    const pairs: [string, unknown][] = []
    for (let i = 0; i < 3000; i++) pairs.push([key(), r() < 0.5 ? i : [i, -2 * i - 1]])
    if (inOrder) pairs.sort((a, b) => jsOrder(a[0], b[0]))
    const s = new Sorter(join(dir, 'tmp'), { partitions: 2 })
    for (const [i, [k, v]] of pairs.entries()) {
      if (Array.isArray(v)) {
        const kb = Buffer.from(`..${k}`, 'latin1')
        s.addNumberRow(kb, 2, kb.length, new Float64Array([7, ...(v as number[])]), 1, 2, i % 2)
      } else s.add(k, v, i % 2)
    }
    for (let p = 0; p < 2; p++) {
      const got: [string, unknown][] = []
      s.finish((q) => new RecordWriter(join(dir, `ord-${inOrder}-${q}`)), (q, w) => {
        w.commit()
        if (q !== p) return
        const rd = new RecordReader(w.path)
        while (rd.next()) got.push([rd.key(), rd.value()])
      })
      const want = pairs.filter((_, i) => i % 2 === p).sort((a, b) => jsOrder(a[0], b[0]))
      assert.deepEqual(got, want, `seed=${SEED + 1} inOrder=${inOrder} p=${p}`)
      // finish() empties the sorter: refill it for the other partition's check
      for (const [i, [k, v]] of pairs.entries()) s.add(k, v, i % 2)
    }
  }
})

test('Sorter: 16 partitions, short and long records, number rows, a spill: each partition sorted stably like JS < (records regrouped per partition)', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED + 2)
  const P = 16
  for (const spillAt of [-1, 7000]) {
    const pairs: [string, unknown, number][] = []
    for (let i = 0; i < 20_000; i++) {
      const k = `u${Math.floor(r() * 3000)}${r() < 0.1 ? '-a-longer-key-of-more-than-32-bytes' : ''}`
      const v = r() < 0.3 ? [Math.floor(r() * 100), i] : r() < 0.5 ? `${'v'.repeat(Math.floor(r() * 80))}${i}` : i
      pairs.push([k, v, Math.floor(r() * P)])
    }
    const s = new Sorter(join(dir, 'tmp'), { partitions: P })
    pairs.forEach(([k, v, p], i) => {
      if (Array.isArray(v)) {
        const kb = Buffer.from(`#${k}#`, 'latin1')
        s.addNumberRow(kb, 1, kb.length - 1, new Float64Array(v as number[]), 0, 2, p)
      } else s.add(k, v, p)
      if (i === spillAt) s.spill()
    })
    const got = new Map<number, [string, unknown][]>()
    s.finish((p) => new RecordWriter(join(dir, `big-${spillAt}-${p}`)), (p, w) => {
      w.commit()
      const rows: [string, unknown][] = []
      const rd = new RecordReader(w.path)
      while (rd.next()) rows.push([rd.key(), rd.value()])
      got.set(p, rows)
    })
    for (let p = 0; p < P; p++) {
      const want = pairs.filter((x) => x[2] === p).map(([k, v]): [string, unknown] => [k, v]).sort((a, b) => jsOrder(a[0], b[0]))
      assert.deepEqual(got.get(p) ?? [], want, `seed=${SEED + 2} spillAt=${spillAt} p=${p}`)
    }
  }
})

test('NdjsonSink writes result lines from binary records', (t) => {
  const dir = tempDir(t)
  const out = new AtomicWriter(join(dir, 'r.ndjson'))
  const s = new Sorter(join(dir, 'tmp'))
  s.add('b', [1, 'x'])
  s.add('a', { n: 2 })
  s.finish(() => new NdjsonSink(out), () => {})
  out.commit()
  assert.equal(readFileSync(out.path, 'utf8'), '["a",{"n":2}]\n["b",[1,"x"]]\n')
})

test('RunMerger: ties keep file order; records longer than the read buffer', (t) => {
  const dir = tempDir(t)
  const big = 'v'.repeat(700_000)
  const files = [0, 1].map((f) => {
    const w = new RecordWriter(join(dir, `f${f}`))
    w.pair('a', f)
    w.pair('b', big + f)
    w.commit()
    return w.path
  })
  const m = new RunMerger(files)
  const got: [string, unknown][] = []
  for (let r = m.next(); r; r = m.next()) got.push([r.key(), r.value()])
  assert.deepEqual(got, [['a', 0], ['a', 1], ['b', big + 0], ['b', big + 1]])
})

/**
 * Writes file f's keys (value = index in the file), sorted, to run file `${prefix}${f}` and merges
 * the files: the merged [key, file, value] triples, what a stable sort of all the rows gives, and
 * the merger (ended).
 */
function mergeFiles(dir: string, prefix: string, keys: string[][]): { got: [string, number, number][]; want: [string, number, number][]; merger: RunMerger } {
  const want: [string, number, number][] = []
  const files = keys.map((ks, f) => {
    const rows = ks.map((k, i): [string, number] => [k, i]).sort((a, b) => jsOrder(a[0], b[0]) || a[1] - b[1])
    const w = new RecordWriter(join(dir, `${prefix}${f}`))
    for (const [k, v] of rows) {
      w.pair(k, v)
      want.push([k, f, v])
    }
    w.commit()
    return w.path
  })
  want.sort((a, b) => jsOrder(a[0], b[0]) || a[1] - b[1] || a[2] - b[2])
  const merger = new RunMerger(files)
  const got: [string, number, number][] = []
  for (let rd = merger.next(); rd; rd = merger.next()) got.push([rd.key(), rd.order, rd.value() as number])
  return { got, want, merger }
}

test('RunMerger: many sorted files merge in JS < order, ties in file order (6-byte prefixes, NULs, bytes >= 0xED)', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED + 3)
  const stems = ['', 'u1', 'u12345', 'u123456', 'u12345\u0000', 'abcdef', 'abcdeg', 'abcdef\u0000x', '\u0000\u0000', 'é', '\uE000', '\uFFFF', '\u{1F600}', '\uD800']
  const key = (): string => (r() < 0.5 ? stems[Math.floor(r() * stems.length)]! : '') + (r() < 0.6 ? randomKey(r) : String(Math.floor(r() * 500)))
  const { got, want } = mergeFiles(dir, 'm', Array.from({ length: 9 }, () => Array.from({ length: 400 }, key)))
  assert.deepEqual(got, want, `seed=${SEED + 3}`)
  // Keys of at most 6 bytes whose 6-byte prefixes are equal (trailing NULs), in every file: ties.
  const short = ['', '\u0000', 'a', 'a\u0000', 'a\u0000\u0000', 'ab', 'ab\u0000\u0000\u0000\u0000', 'u12345', 'u1234', 'u1234\u0000', '\u0000\u0000\u0000\u0000\u0000\u0000']
  const s2 = mergeFiles(dir, 's', Array.from({ length: 16 }, () => Array.from({ length: 60 }, () => short[Math.floor(r() * short.length)]!)))
  assert.deepEqual(s2.got, s2.want, `short keys, seed=${SEED + 3}`)
})

test('RunMerger (loser tree): 0 to 17 files, empty ones and uneven lengths, equal a stable sort; ends for good', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED + 4)
  for (const n of [0, 1, 2, 3, 5, 8, 16, 17]) {
    // Some files empty (MAGIC only), some short, some long; few distinct keys, so ties abound.
    const keys = Array.from({ length: n }, () => Array.from({ length: r() < 0.2 ? 0 : Math.floor(r() * (r() < 0.5 ? 5 : 300)) }, () => `k${Math.floor(r() * 40)}`))
    const { got, want, merger } = mergeFiles(dir, `n${n}-`, keys)
    assert.deepEqual(got, want, `${n} files, seed=${SEED + 4}`)
    assert.equal(merger.next(), undefined)
    assert.equal(merger.next(), undefined)
    merger.close()
  }
})

test('a corrupt or foreign intermediate file is a coded error naming the file', (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'text'), '["a",1]\n')
  assert.throws(() => new RunMerger([join(dir, 'text')]), (e) => isDiscoError(e, 'DISCO_BAD_RECORD') && /text/.test((e as Error).message))
  const w = new RecordWriter(join(dir, 'ok'))
  w.pair('a', [1, 2, 3])
  w.commit()
  const bytes = readFileSync(w.path)
  writeFileSync(join(dir, 'cut'), bytes.subarray(0, bytes.length - 2))
  assert.throws(() => { const m = new RunMerger([join(dir, 'cut')]); while (m.next()); }, (e) => isDiscoError(e, 'DISCO_BAD_RECORD') && /cut \(record 1\)/.test((e as Error).message))
  const bad = Buffer.from(bytes)
  bad[bad.length - 4] = 99 // an unknown value tag
  writeFileSync(join(dir, 'tag'), bad)
  assert.throws(() => { const m = new RunMerger([join(dir, 'tag')]); for (let r = m.next(); r; r = m.next()) r.value() }, (e) => isDiscoError(e, 'DISCO_BAD_RECORD'))
  assert.equal(RECORDS_MAGIC.length, 4)
})
