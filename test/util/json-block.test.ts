// Differential test: the WebAssembly block scanner against the full parser (parseJson) over blocks of
// generated hostile lines. A line it calls valid must be a JSON object whose wanted fields decode to
// exactly what the full parser gives; the lines it leaves to the caller are only counted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BLOCK_BYTES, BlockScanner, LINE_END, LINE_START, LINE_VERDICT, PRESENT_SHIFT, SHORT_INT } from '#src/util/json-block.js'
import { FieldScanner } from '#src/util/json-fields.js'
import { parseJson } from '#src/util/json.js'
import { mulberry32 } from '#src/util/random.js'
import { FIELDS, mutate, objectLine, pick, stringLit, value, ws } from './hostile-json.js'

/** What the full reader decides for one line: the wanted fields' values, or undefined (not a record). */
function reference(bytes: Buffer): unknown[] | undefined {
  let v: unknown
  try {
    v = parseJson(bytes.toString('utf8').trimEnd())
  } catch {
    return undefined
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
  const o = v as Record<string, unknown>
  return FIELDS.map((f) => (Object.hasOwn(o, f) ? o[f] : undefined))
}

let shortInts = 0
let interned = 0

/** Scans `lines` (no newline inside) as one block; checks every line; returns [valid, left] counts. */
function check(b: BlockScanner, decoder: FieldScanner, lines: readonly Buffer[], where: string): [number, number] {
  // More than one block's bytes: in groups that fit.
  let size = 0
  for (let i = 0; i < lines.length; i++) {
    size += lines[i]!.length + 1
    if (size > BLOCK_BYTES && i > 0) {
      const [v1, l1] = check(b, decoder, lines.slice(0, i), where)
      const [v2, l2] = check(b, decoder, lines.slice(i), `${where} (from line ${i})`)
      return [v1 + v2, l1 + l2]
    }
  }
  const block = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
  assert.ok(block.length <= BLOCK_BYTES)
  block.copy(b.bytes, b.inputStart)
  const end = b.inputStart + block.length
  let p = b.inputStart
  let line = 0
  let valid = 0
  let left = 0
  while (p < end) {
    const n = b.scan(p, end)
    assert.ok(n > 0 && n <= b.maxLines, where)
    for (let i = 0; i < n; i++, line++) {
      const r = i * b.stride
      const s = b.out[r + LINE_START]!
      const e = b.out[r + LINE_END]!
      const bytes = lines[line]!
      const at = `${where} line ${line}: ${JSON.stringify(bytes.toString('latin1'))}`
      assert.equal(s, p, at)
      assert.equal(e - s, bytes.length, at)
      p = e + 1
      const verdict = b.out[r + LINE_VERDICT]!
      if (verdict === 0) {
        left++
        continue
      }
      valid++
      const want = reference(bytes)
      assert.ok(want !== undefined, `${at}: called valid, the full parser says no`)
      // Bit 1: some string held a byte >= 0x80; without it the line is pure ASCII.
      assert.equal((verdict & 2) !== 0, bytes.some((x) => x >= 0x80), at)
      // Bits 8 up: the present fields.
      assert.equal(verdict >>> PRESENT_SHIFT, FIELDS.reduce((m, _f, k) => (b.out[r + 3 + 3 * k] !== 0 ? m | (1 << k) : m), 0), at)
      const got = FIELDS.map((_f, k) => {
        const q = r + 3 + 3 * k
        const kind = b.out[q]!
        if (kind === 0) return undefined
        const v = decoder.decode(b.bytes, kind & 255, (kind >> 8) & 3, b.out[q + 1]!, b.out[q + 2]!)
        if (kind >= 65536) {
          interned++
          assert.equal(b.interned(kind, b.out[q + 1]!, b.out[q + 2]!), v, `${at}: field ${k} as an interned string`)
        }
        if ((kind & SHORT_INT) !== 0) {
          shortInts++
          assert.ok(Object.is(b.nums[i * FIELDS.length + k], v), `${at}: field ${k} as float64 ${b.nums[i * FIELDS.length + k]}, decoded ${String(v)}`)
        }
        return v
      })
      assert.deepStrictEqual(got, want, at)
    }
  }
  assert.equal(line, lines.length, where)
  return [valid, left]
}

const flat = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace(/\n/g, ' '), 'latin1')

test('block scanner: a line it calls valid has exactly the full parser\'s fields (hostile lines, seeded)', () => {
  const b = BlockScanner.create(FIELDS)
  assert.ok(b, 'Node 20 has WebAssembly SIMD: the block scanner must compile')
  const decoder = new FieldScanner(FIELDS)
  let valid = 0
  let left = 0
  let parsable = 0
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = mulberry32(seed)
    const lines: Buffer[] = []
    for (let i = 0; i < 4000; i++) {
      let bytes: Buffer = Buffer.from(objectLine(r), 'utf8')
      if (r() < 0.4) bytes = mutate(r, bytes)
      if (r() < 0.02) bytes = Buffer.from(pick(r, ['', ' ', '\r', '{}', ' {} \r', '[]', '{"a":1}\r\r', '{"a":1} x']))
      lines.push(flat(bytes))
    }
    for (const l of lines) if (reference(l) !== undefined) parsable++
    const [v, n] = check(b, decoder, lines, `seed ${seed}`)
    valid += v
    left += n
  }
  // It decides most valid lines itself (not those with escaped or non-ASCII keys, deep nests, trailing bytes).
  assert.ok(valid > parsable * 0.25, JSON.stringify({ valid, left, parsable }))
})

test('block scanner: record-like lines (plain keys, hostile values, whitespace), all wanted fields', () => {
  const b = BlockScanner.create(FIELDS)
  assert.ok(b, 'Node 20 has WebAssembly SIMD: the block scanner must compile')
  const decoder = new FieldScanner(FIELDS)
  const keys = ['a', 'b', 'ts', 'x y', 'n', 'zz', 'aa', 'tss', 'A', '']
  for (const seed of [11, 12, 13]) {
    const r = mulberry32(seed)
    const lines: Buffer[] = []
    let parsable = 0
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(r() * 8)
      const members = Array.from({ length: n }, () => `${ws(r)}"${pick(r, keys)}"${ws(r)}:${ws(r)}${r() < 0.3 ? stringLit(r) : value(r, 3)}${ws(r)}`)
      let bytes: Buffer = Buffer.from(`${ws(r)}{${members.join(',')}${n === 0 ? ws(r) : ''}}${ws(r)}`, 'utf8')
      if (r() < 0.1) bytes = mutate(r, bytes)
      bytes = flat(bytes)
      if (reference(bytes) !== undefined) parsable++
      lines.push(bytes)
    }
    const [valid] = check(b, decoder, lines, `seed ${seed}`)
    // Only lines with a \r inside or an escaped wanted key... are left: nearly all valid lines are decided.
    assert.ok(valid > parsable * 0.9, JSON.stringify({ valid, parsable }))
  }
})

test('block scanner: more lines than one call records, blank lines, deep nests, a block of BLOCK_BYTES', () => {
  const b = BlockScanner.create(FIELDS)
  assert.ok(b, 'Node 20 has WebAssembly SIMD: the block scanner must compile')
  const decoder = new FieldScanner(FIELDS)
  const short = Array.from({ length: b.maxLines * 2 + 7 }, (_x, i) => Buffer.from(['{}', '', '{"a":1}', ' ', '{"n":[]}'][i % 5]!))
  assert.deepEqual(check(b, decoder, short, 'short lines'), [Math.ceil(short.length * 3 / 5) - (short.length % 5 >= 4 ? 1 : 0), short.filter((l) => l.length <= 1).length])
  const deep = (n: number) => Buffer.from(`{"a":${'['.repeat(n)}1${']'.repeat(n)},"b":${'{"k":'.repeat(n)}"é"${'}'.repeat(n)}}`)
  const [valid, left] = check(b, decoder, [deep(63), deep(64), deep(65), deep(200)], 'deep')
  assert.deepEqual([valid, left], [2, 2])
  // One block filled to the limit with long lines: the SIMD loads may read past its end (padding).
  const big: Buffer[] = []
  let size = 0
  for (let i = 0; size < BLOCK_BYTES - 70_000; i++) {
    const l = Buffer.from(`{"a":"${'x'.repeat(60_000 + i)}","b":${i}}`)
    big.push(l)
    size += l.length + 1
  }
  const tail = Buffer.from(`{"b":"${'y'.repeat(BLOCK_BYTES - size - 9)}"}`)
  big.push(tail)
  assert.equal(size + tail.length + 1, BLOCK_BYTES)
  assert.deepEqual(check(b, decoder, big, 'big'), [big.length, 0])
})

test('block scanner: keys predicted from earlier lines (same key order, near misses, 14- and 15-byte keys; seeded)', () => {
  const b = BlockScanner.create(FIELDS)
  assert.ok(b, 'Node 20 has WebAssembly SIMD: the block scanner must compile')
  const decoder = new FieldScanner(FIELDS)
  // Keys sharing bytes with wanted ones or each other, around the 16-byte prediction limit.
  const NEAR = ['a', 'ab', 'b', 'ts', 't', 'tss', 'x y', 'x', '', 'n', 'A', 'k'.repeat(13), 'k'.repeat(14), 'k'.repeat(15), 'a"', 'ts\\"']
  for (const seed of [41, 42, 43]) {
    const r = mulberry32(seed)
    const lines: Buffer[] = []
    let order: string[] = []
    let parsable = 0
    for (let i = 0; i < 6000; i++) {
      if (i % 40 === 0) order = Array.from({ length: Math.floor(r() * 40) }, () => pick(r, NEAR))
      const keys = r() < 0.2 ? order.map((k) => (r() < 0.1 ? pick(r, NEAR) : k)) : order
      const members = keys.map((k) => `"${k}"${r() < 0.05 ? ws(r) : ''}:${value(r, 1)}`)
      let bytes: Buffer = Buffer.from('{' + members.join(',') + '}', 'utf8')
      if (r() < 0.1) bytes = mutate(r, bytes)
      bytes = flat(bytes)
      if (reference(bytes) !== undefined) parsable++
      lines.push(bytes)
    }
    const [valid] = check(b, decoder, lines, `seed ${seed}`)
    assert.ok(valid > parsable * 0.5, JSON.stringify({ valid, parsable }))
  }
})

test('block scanner: short integers were checked as float64s, short strings as interned ones', () => {
  assert.ok(shortInts > 1000 && interned > 1000, JSON.stringify({ shortInts, interned }))
})

test('block scanner without string ids (strings: false): the same records, no ids', () => {
  const withIds = BlockScanner.create(FIELDS)
  const without = BlockScanner.create(FIELDS, { strings: false })
  assert.ok(withIds && without)
  const r = mulberry32(9)
  // Many distinct short strings (past the string table's limit) and repeated ones.
  const lines: string[] = []
  for (let i = 0; i < 8000; i++) lines.push(r() < 0.5 ? objectLine(r) : `{"a":"s${Math.floor(r() * 6000)}","b":"x","n":${i}}`)
  const text = Buffer.from(lines.map((l) => l.replace(/\n/g, ' ')).join('\n') + '\n')
  let ids = 0
  for (let start = 0; start < text.length;) {
    const end = Math.min(text.length, text.lastIndexOf(10, start + (1 << 16)) + 1)
    const records: Int32Array[] = []
    for (const b of [withIds, without]) {
      b.bytes.set(text.subarray(start, end), b.inputStart)
      const n = b.scan(b.inputStart, b.inputStart + end - start)
      records.push(b.out.slice(0, n * b.stride))
    }
    const [a, z] = records as [Int32Array, Int32Array]
    assert.equal(a.length, z.length)
    for (let i = 0; i < a.length; i++) {
      const kind: boolean = i % withIds.stride >= 3 && (i % withIds.stride - 3) % 3 === 0
      if (kind && a[i]! >>> 16 !== 0) ids++
      if (kind) assert.equal(z[i]! >>> 16, 0, `no string id, word ${i}`)
      assert.equal(kind ? a[i]! & 0xffff : a[i], z[i], `word ${i}`)
    }
    start = end
  }
  assert.ok(ids > 1000, `the default scanner gave string ids (${ids})`)
})

test('block scanner: integers of every length from 1 to 17 digits, both signs, -0, fractions and exponents', () => {
  const b = BlockScanner.create(FIELDS)
  assert.ok(b)
  const decoder = new FieldScanner(FIELDS)
  const lines: Buffer[] = []
  for (let d = 1; d <= 17; d++) {
    const digits = '9876543210123456789'.slice(0, d)
    for (const n of [digits, `-${digits}`, `1${'0'.repeat(d - 1)}`, `${digits}.5`, `${digits}e2`, `-${digits}E-2`]) lines.push(Buffer.from(`{"a":${n},"n":${n},"b":"${n}"}`))
  }
  for (const n of ['0', '-0', '0.0', '-0.0', '0e0', '9007199254740993', '100000000', '99999999', '123456789012345']) lines.push(Buffer.from(`{"a":${n}}`))
  const [valid, left] = check(b, decoder, lines, 'numbers')
  assert.deepEqual([valid, left], [lines.length, 0])
})
