// Differential test: the byte-level field scanner against the full parser (parseJson, JSON.parse)
// over generated hostile lines. Records and bad-line verdicts must be identical.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FieldScanner, SCAN_BAD, SCAN_OK, SCAN_UNSURE } from '#src/util/json-fields.js'
import { parseJson } from '#src/util/json.js'
import { forEachByteLine } from '#src/util/byte-lines.js'
import { mulberry32 } from '#src/util/random.js'

const FIELDS = ['a', 'b', 'ts', 'é', 'x y', '', 'n']
const KEYS = [...FIELDS, 'zz', '__proto__', 'constructor', 'a\u0000', 'A']

type Rnd = () => number

const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!

/** Random JSON whitespace (mostly none). */
function ws(r: Rnd): string {
  if (r() < 0.7) return ''
  let s = ''
  const n = 1 + Math.floor(r() * 3)
  for (let i = 0; i < n; i++) s += pick(r, [' ', '\t', '\r', '  '])
  return s
}

const CHARS = ['a', 'z', ' ', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', 'é', '€', '😀',
  '\ud800', '\udfff', '\u2028', '{', '}', '[', ']', ',', ':', '1']

/** A string literal with random escapes (\uXXXX of any unit, lone surrogates included). */
function stringLit(r: Rnd, text?: string): string {
  const t = text ?? Array.from({ length: Math.floor(r() * 6) }, () => pick(r, CHARS)).join('')
  let s = '"'
  for (const ch of t) {
    for (let i = 0; i < ch.length; i++) {
      const u = ch.charCodeAt(i)
      const esc = r()
      if (u === 0x22) s += '\\"'
      else if (u === 0x5c) s += '\\\\'
      else if (u < 0x20 || esc < 0.2) s += '\\u' + u.toString(16).padStart(4, '0')[r() < 0.5 ? 'toUpperCase' : 'toLowerCase']()
      else if (u === 0x2f && esc < 0.5) s += '\\/'
      else if (u >= 0xd800 && u <= 0xdfff) s += '\\u' + u.toString(16) // a raw lone surrogate cannot be UTF-8
      else s += ch[i]
    }
  }
  return s + '"'
}

const NUMBERS = ['0', '-0', '1', '-1', '42', '0.5', '-0.0', '1e5', '1E+5', '1e-5', '2.5E-3', '123456789012345', '1234567890123456',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '12345678901234567890', '1e400', '-1e400',
  '0.30000000000000004', '0.12345678901234567890', '1e12345678901234567', '123456789012345678901234567890.5', '5e-324', '1.7976931348623157e308']

function value(r: Rnd, depth: number): string {
  const k = r()
  if (k < 0.3) return stringLit(r)
  if (k < 0.55) return pick(r, NUMBERS)
  if (k < 0.65) return pick(r, ['true', 'false', 'null'])
  if (depth <= 0) return '0'
  if (k < 0.8) {
    const n = Math.floor(r() * 4)
    return '[' + ws(r) + Array.from({ length: n }, () => value(r, depth - 1)).join(ws(r) + ',' + ws(r)) + ws(r) + ']'
  }
  const n = Math.floor(r() * 4)
  return '{' + ws(r) + Array.from({ length: n }, () => `${stringLit(r, pick(r, KEYS))}${ws(r)}:${ws(r)}${value(r, depth - 1)}`).join(ws(r) + ',' + ws(r)) + ws(r) + '}'
}

/** A deep nest of arrays or objects (beyond the scanner's own depth limit sometimes). */
function deep(r: Rnd): string {
  const n = Math.floor(r() * 200)
  const obj = r() < 0.5
  return (obj ? '{"k":'.repeat(n) : '['.repeat(n)) + '1' + (obj ? '}' : ']').repeat(n)
}

/** One object line: random keys (duplicates likely), whitespace everywhere. */
function objectLine(r: Rnd): string {
  const n = Math.floor(r() * 7)
  const members: string[] = []
  for (let i = 0; i < n; i++) {
    const v = r() < 0.05 ? deep(r) : value(r, 3)
    members.push(`${ws(r)}${stringLit(r, pick(r, KEYS))}${ws(r)}:${ws(r)}${v}${ws(r)}`)
  }
  return ws(r) + '{' + members.join(',') + (n === 0 ? ws(r) : '') + '}' + (r() < 0.1 ? pick(r, [' ', '\t', '\u00a0', '\u000b', '\ufeff', 'x', '}', ',', '\u2028']) : '')
}

/** Damages a line's bytes: truncation, a flipped, inserted or deleted byte, invalid UTF-8. */
function mutate(r: Rnd, bytes: Buffer): Buffer {
  const b = [...bytes]
  const n = 1 + Math.floor(r() * 2)
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (b.length + 1))
    const k = r()
    if (k < 0.25) b.length = at
    else if (k < 0.5) b.splice(at, 0, pick(r, [0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x20, 0x00, 0x0b, 0x30, 0x2d, 0x2e, 0x65, 0x80, 0xc3, 0xe2, 0xff, 0xed]))
    else if (k < 0.75) b.splice(at, 1)
    else if (at < b.length) b[at] = Math.floor(r() * 256)
  }
  return Buffer.from(b)
}

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

test('forEachByteLine: ranges across chunks, \\r\\n, a last line without newline', async () => {
  const text = 'ab\r\n\ncé\r\nlong-line-over-chunks\nlast'
  const bytes = Buffer.from(text, 'utf8')
  for (const size of [1, 2, 3, 5, 64]) {
    const chunks: Buffer[] = []
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
    const got: string[] = []
    const n = await forEachByteLine(chunks, (b, s, e) => got.push(b.toString('utf8', s, e)))
    assert.deepStrictEqual(got, ['ab', '', 'cé', 'long-line-over-chunks', 'last'], `chunk size ${size}`)
    assert.equal(n, 5)
  }
})
