// Differential test: the byte-level field scanner against the full parser (parseJson, JSON.parse)
// over generated hostile lines. Records and bad-line verdicts must be identical.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FieldScanner, SCAN_BAD, SCAN_OK, SCAN_UNSURE } from '#src/util/json-fields.js'
import { parseJson } from '#src/util/json.js'
import { mulberry32 } from '#src/util/random.js'
import { mutate, objectLine, stringLit, value, ws } from './hostile-json.js'

import { FIELDS } from './hostile-json.js'

type Verdict = { kind: 'skip' } | { kind: 'bad' } | { kind: 'record'; values: unknown[] }

/** What the full reader decides for one line (text decoded from bytes, trimEnd, parseJson). */
function reference(bytes: Buffer): Verdict {
  const line = bytes.toString('utf8')
  if (!line.includes('{')) return { kind: 'skip' }
  let v: unknown
  try {
    v = parseJson(line.trimEnd())
  } catch {
    return { kind: 'bad' }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { kind: 'bad' }
  const o = v as Record<string, unknown>
  return { kind: 'record', values: FIELDS.map((f) => (Object.hasOwn(o, f) ? o[f] : undefined)) }
}

test('field scanner: identical records and bad-line verdicts to the full parser on hostile lines (seeded)', () => {
  const scanner = new FieldScanner(FIELDS)
  const counts = { ok: 0, bad: 0, unsure: 0 }
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const r = mulberry32(seed)
    for (let i = 0; i < 4000; i++) {
      let bytes: Buffer = Buffer.from(objectLine(r), 'utf8')
      if (r() < 0.4) bytes = mutate(r, bytes)
      // Embed the line in a larger buffer: the scanner must respect its range.
      const pad = Buffer.from('}"\\ ')
      const buf = Buffer.concat([pad, bytes, pad])
      const out: unknown[] = []
      const got = scanner.scan(buf, pad.length, pad.length + bytes.length, out)
      const want = reference(bytes)
      const where = `seed ${seed} line ${i}: ${JSON.stringify(bytes.toString('latin1'))}`
      if (got === SCAN_OK) {
        counts.ok++
        assert.equal(want.kind, 'record', where)
        // nonAscii false promises a pure ASCII line (no UTF-8 check needed)
        assert.equal(scanner.nonAscii, bytes.some((b) => b >= 0x80), where)
        assert.deepStrictEqual(out.slice(0, FIELDS.length), (want as { values: unknown[] }).values, where)
      } else if (got === SCAN_BAD) {
        counts.bad++
        assert.equal(want.kind, 'bad', where)
      } else {
        assert.equal(got, SCAN_UNSURE, where)
        counts.unsure++
      }
    }
  }
  // The scanner decides most lines itself (deep nests, trailing bytes and non-objects go to the full parser).
  assert.ok(counts.ok > 10_000 && counts.bad > 5_000, JSON.stringify(counts))
  assert.ok(counts.unsure < (counts.ok + counts.bad) / 3, JSON.stringify(counts))
})

test('field scanner: keys predicted from earlier lines (same key order, near misses, long keys, many members; seeded)', () => {
  const scanner = new FieldScanner(FIELDS)
  const LONG = 'k'.repeat(31)
  // Keys that share bytes with wanted ones or with each other, escaped spellings, keys past the prediction limits.
  const NEAR = ['a', 'ab', 'b', 'ts', 't', 'tss', 'x y', 'x', '', 'n', 'é', LONG, LONG + 'k', LONG + 'kk', 'a\\u0000', '\\u0061', 'A']
  const counts = { ok: 0, bad: 0 }
  for (const seed of [21, 22, 23]) {
    const r = mulberry32(seed)
    let order = [] as string[]
    for (let i = 0; i < 6000; i++) {
      // A new key order now and then; in between, lines repeat it with other values (and some damage).
      if (i % 50 === 0) order = Array.from({ length: Math.floor(r() * 40) }, () => NEAR[Math.floor(r() * NEAR.length)]!)
      const keys = r() < 0.1 ? order.map((k) => (r() < 0.1 ? NEAR[Math.floor(r() * NEAR.length)]! : k)) : order
      const members = keys.map((k) => {
        const key = r() < 0.05 ? stringLit(r, JSON.parse(`"${k}"`) as string) : `"${k}"`
        return `${ws(r)}${key}${ws(r)}:${ws(r)}${value(r, 1)}`
      })
      let bytes: Buffer = Buffer.from('{' + members.join(',') + '}', 'utf8')
      if (r() < 0.2) bytes = mutate(r, bytes)
      const out: unknown[] = []
      const got = scanner.scan(bytes, 0, bytes.length, out)
      const want = reference(bytes)
      const where = `seed ${seed} line ${i}: ${JSON.stringify(bytes.toString('latin1'))}`
      if (got === SCAN_OK) {
        counts.ok++
        assert.equal(want.kind, 'record', where)
        assert.deepStrictEqual(out.slice(0, FIELDS.length), (want as { values: unknown[] }).values, where)
      } else if (got === SCAN_BAD) {
        counts.bad++
        assert.equal(want.kind, 'bad', where)
      }
    }
  }
  assert.ok(counts.ok > 10_000 && counts.bad > 1_000, JSON.stringify(counts))
})

test('field scanner: fixed cases (escapes, surrogates, duplicates, numbers, nesting, trailing bytes)', () => {
  const s = new FieldScanner(['a', 'b'])
  const scan = (text: string | Buffer) => {
    const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')
    const out: unknown[] = []
    const v = s.scan(buf, 0, buf.length, out)
    return v === SCAN_OK ? out : v === SCAN_BAD ? 'bad' : 'unsure'
  }
  assert.deepStrictEqual(scan('{"a":1,"b":"x"}'), [1, 'x'])
  assert.deepStrictEqual(scan('{"a":1,"a":2}'), [2, undefined])
  assert.deepStrictEqual(scan('{"\\u0061":"\\ud83d\\ude00","b":"\\ud800"}'), ['😀', '\ud800'])
  assert.deepStrictEqual(scan('{"a":-0,"b":12345678901234567890}'), [-0, 12345678901234567890n])
  assert.deepStrictEqual(scan('{"a":0.30000000000000004,"b":1E2}'), [0.30000000000000004, 100])
  assert.deepStrictEqual(scan('{"a":{"n":12345678901234567890},"b":[1,[2,{}]]}'), [{ n: 12345678901234567890n }, [1, [2, {}]]])
  assert.deepStrictEqual(scan(' \t{ "a" : true , "b" : null } \r'), [true, null])
  assert.deepStrictEqual(scan(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xc3, 0x22, 0x7d])), ['\ufffd\ufffd', undefined])
  for (const bad of ['{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":"\t"}', '{"a":"\\x"}', '{"a":"\\u12G4"}', '{"a":tru}',
    '{"a":1,}', '{,"a":1}', '{"a" 1}', '{"a":[1,]}', '{"a":{"b"}}', '{"a":NaN}', '{"a":1', '{\u00a0"a":1}', '{"a":[}', '{"a":012345678901234567890}']) {
    assert.equal(scan(bad), 'bad', bad)
    assert.throws(() => JSON.parse(bad), SyntaxError, bad)
  }
  assert.equal(scan('{"a":1}\u00a0'), 'unsure') // trimEnd drops it: the full parser decides
  assert.equal(scan('{"a":1}x'), 'unsure')
  assert.equal(scan('[1]'), 'unsure')
  assert.equal(scan('{"a":' + '['.repeat(70) + ']'.repeat(70) + '}'), 'unsure')
})

test('parseJson keeps fraction and exponent digits out of the big-integer rule', () => {
  assert.deepStrictEqual(parseJson('{"x":0.30000000000000004}'), { x: 0.30000000000000004 })
  assert.deepStrictEqual(parseJson('[1e12345678901234567, -1E-12345678901234567]'), [Infinity, -0])
  assert.deepStrictEqual(parseJson('[12345678901234567890, -12345678901234567890, 1234567890123456]'),
    [12345678901234567890n, -12345678901234567890n, 1234567890123456])
})
