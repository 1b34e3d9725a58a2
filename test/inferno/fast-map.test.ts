// The map's fast path (bytes split on newlines, the field scanner) against the full path (text lines,
// the full reader) over hostile JSON lines: identical pairs, counters and bad-line samples.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defineKeyset, defineRule, mapBlob, mapBytes, newJobStats, ruleFields, withRule, type Parts, type Postprocessor, type Rule } from 'disco-inferno'
import { mulberry32 } from '#src/util/random.js'
import type { LineOptions } from '#src/ddfs/index.js'
import { mutate, objectLine, pick, stringLit, ws, type Rnd } from '../util/hostile-json.js'

const KEYS = ['ts', 'event', 'country', 'device', 'amount', 'user', 'zz', '__proto__']

/** Reads ts and event only (declared in preprocessReads). */
function enrich(parts: Parts): Parts | undefined {
  if (typeof parts.ts !== 'number' && typeof parts.ts !== 'bigint') return undefined
  parts.count = 1
  parts.day = String(parts.ts).slice(0, 2)
  parts.purchases = parts.event === 'purchase' ? 1 : 0
  return parts
}

const keep: Postprocessor = (key, values) => [key, values]

const rule = defineRule({
  name: 'fast',
  mapInputStream: 'json',
  partsPreprocess: [enrich],
  preprocessReads: ['ts', 'event'],
  fieldTransforms: { country: (v) => String(v).toLowerCase() },
  keysets: {
    by_day_event: defineKeyset({ keyParts: ['day', 'event'], valueParts: ['count', 'amount'] }),
    by_country_device: defineKeyset({ keyParts: ['country', 'device'], valueParts: ['count', 'purchases', 'amount', '_keyset'] }),
    by_user: defineKeyset({ keyParts: ['user'], valueParts: ['count', 'amount'], partsPostprocess: [keep] }),
  },
})

/** A record-like line: the rule's fields with hostile values, duplicates, extra keys. */
function recordLine(r: Rnd): string {
  if (r() < 0.5) return objectLine(r, KEYS)
  const members: string[] = []
  for (const k of KEYS) {
    if (r() < 0.2) continue
    const v = k === 'ts' ? pick(r, ['1', '12345678901234567890', '-0', '1.5e3', '"7"', 'null'])
      : k === 'amount' ? pick(r, ['1', '2.5', '9007199254740993', '-0', '1e400', '"3"', 'true', '[1]'])
        : pick(r, [stringLit(r, pick(r, ['purchase', 'US', 'Mobile', 'é€😀'])), stringLit(r), '1', '{"a":[1,2]}', 'false'])
    members.push(`${ws(r)}${stringLit(r, k)}${ws(r)}:${ws(r)}${v}${ws(r)}`)
  }
  return '{' + members.join(',') + '}'
}

function blob(seed: number, n: number): Buffer {
  const r = mulberry32(seed)
  const lines: Buffer[] = []
  for (let i = 0; i < n; i++) {
    let b: Buffer = Buffer.from(r() < 0.03 ? pick(r, ['', '   ', 'x,y', '[1]', '{"ts":1}\r', '"{"']) : recordLine(r), 'utf8')
    if (r() < 0.2) b = mutate(r, b)
    lines.push(Buffer.from(b.toString('latin1').replace(/\n/g, ' '), 'latin1'))
  }
  return Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
}

/** Pairs and counters of one map run. */
async function run(r: Rule, via: 'text' | 'bytes', bytes: Buffer, chunk: number, scanner: 'wasm' | 'js' = 'wasm', lines: LineOptions = {}) {
  const pairs: [string, unknown[]][] = []
  const stats = newJobStats()
  const emit = (k: string, v: unknown[]) => pairs.push([k, v])
  if (via === 'bytes') {
    const chunks: Buffer[] = []
    for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk))
    await mapBytes({ rule: r, params: {}, scanner }, chunks, emit, stats, lines)
  } else {
    // The full path as Disco fed it: the decoded text split on newlines, one \r dropped.
    const text = bytes.toString('utf8').split('\n')
    if (text[text.length - 1] === '') text.pop()
    await mapBlob({ rule: r, params: {} }, text.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), emit, stats)
  }
  return { pairs, stats }
}

test('ruleFields: the fast path applies only when the rule allows it', () => {
  // Fields the pre-processor sets are read too: a record may carry them when the pre-processor leaves them.
  assert.deepEqual(ruleFields(rule)?.sort(), ['amount', 'count', 'country', 'day', 'device', 'event', 'purchases', 'ts', 'user'])
  assert.equal(ruleFields(withRule(rule, { preprocessReads: undefined })), undefined)
  assert.equal(ruleFields(withRule(rule, { mapInputStream: 'csv' })), undefined)
  assert.equal(ruleFields(withRule(rule, { mapFunction: () => [] })), undefined)
  assert.deepEqual(ruleFields(defineRule({ mapInputStream: 'json', keyParts: ['a', '_keyset'], valueParts: ['n'] })), ['a', 'n'])
  assert.equal(ruleFields(defineRule({ mapInputStream: 'json', keyParts: ['__proto__'] })), undefined)
})

test('fast path: identical pairs, counters and bad-line samples to the full path (seeded hostile lines)', async () => {
  const slow = withRule(rule, { preprocessReads: undefined })
  for (const seed of [1, 2, 3, 4]) {
    const bytes = blob(seed, 3000)
    const want = await run(rule, 'text', bytes, 0)
    assert.ok(want.stats.read.records > 1000 && want.stats.read.badLines > 100, JSON.stringify(want.stats.read))
    for (const [r, chunk, scanner] of [[rule, 7, 'wasm'], [rule, 1 << 16, 'wasm'], [rule, 1 << 22, 'wasm'], [rule, 1 << 16, 'js'],
      [rule, 333, 'js'], [slow, 4096, 'wasm']] as const) {
      const got = await run(r, 'bytes', bytes, chunk, scanner)
      const where = `seed ${seed}, chunk ${chunk}, ${scanner} scanner, ${r === slow ? 'slow' : 'fast'} rule`
      assert.deepStrictEqual(got.stats, want.stats, where)
      assert.deepStrictEqual(got.pairs, want.pairs, where)
    }
  }
})

test('the combiner of a map task that failed midway never holds sums of the next task of the same rule', async () => {
  const bytes = blob(9, 2000)
  const want = await run(withRule(rule, {}), 'bytes', bytes, 1 << 12) // a fresh rule: its own key slots
  const failing = async function* (): AsyncGenerator<Buffer> {
    yield bytes.subarray(0, bytes.length >> 1)
    throw new Error('input lost')
  }
  await assert.rejects(mapBytes({ rule, params: {} }, failing(), () => {}, newJobStats()), /input lost/)
  const got = await run(rule, 'bytes', bytes, 1 << 12)
  assert.deepStrictEqual(got.pairs, want.pairs)
  assert.deepStrictEqual(got.stats, want.stats)
})

test('fast path: lines longer than a scanner block and than the line limit, in chunks of every size', async () => {
  const r = mulberry32(31)
  const lines: string[] = []
  for (let i = 0; i < 400; i++) lines.push(recordLine(r).replace(/\n/g, ' '))
  // Valid lines of 1.5 MB and 2.5 MB (past the block scanner's 1 MiB), then a short one.
  lines.splice(100, 0, `{"ts":1,"event":"purchase","user":"${'u'.repeat(1_500_000)}","amount":2}`)
  lines.splice(300, 0, `{"ts":2,"event":"x","country":"${'é'.repeat(1_250_000)}","device":"d"}`, '{"ts":3}')
  const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8')
  const want = await run(rule, 'text', bytes, 0)
  assert.ok(want.stats.read.records > 100, JSON.stringify(want.stats.read))
  for (const [chunk, scanner] of [[1 << 16, 'wasm'], [1 << 20, 'wasm'], [1 << 23, 'wasm'], [1 << 23, 'js']] as const) {
    const got = await run(rule, 'bytes', bytes, chunk, scanner)
    assert.deepStrictEqual(got.stats, want.stats, `chunk ${chunk}, ${scanner}`)
    assert.deepStrictEqual(got.pairs, want.pairs, `chunk ${chunk}, ${scanner}`)
  }
  // With a line limit of 2 MB the 2.5 MB line is skipped and reported, by either scanner, wherever the chunks cut.
  const reports: string[][] = []
  for (const [chunk, scanner] of [[1 << 16, 'wasm'], [1 << 23, 'wasm'], [1 << 23, 'js']] as const) {
    const seen: string[] = []
    const got = await run(rule, 'bytes', bytes, chunk, scanner, { maxLine: 2_000_000, onTooLong: (n, len) => seen.push(`${n}:${len > 2_000_000}`) })
    assert.equal(got.stats.read.records, want.stats.read.records - 1)
    reports.push(seen)
  }
  assert.deepStrictEqual(reports, [['301:true'], ['301:true'], ['301:true']])
})

test('fast path: a rule reading more fields than a present-fields mask holds (30), both scanners', async () => {
  const names = Array.from({ length: 30 }, (_x, i) => `f${i}`)
  const wide = defineRule({ name: 'wide', mapInputStream: 'json', keysets: {
    a: defineKeyset({ keyParts: names.slice(0, 15), valueParts: ['n'] }),
    b: defineKeyset({ keyParts: names.slice(15), valueParts: ['n'] }),
  } })
  const r = mulberry32(77)
  const lines: string[] = []
  for (let i = 0; i < 2000; i++) {
    const members = names.filter(() => r() < 0.97).map((f) => `"${f}":${pick(r, ['"x"', '"y"', '1', '2.5', 'null', 'true'])}`)
    if (r() < 0.8) members.push(`"n":${pick(r, ['1', '2', '12345678901234567890', '"z"'])}`)
    lines.push(`{${members.join(',')}}`)
  }
  const bytes = Buffer.from(lines.join('\n') + '\n')
  const want = await run(wide, 'text', bytes, 0)
  assert.ok(want.pairs.length > 0)
  for (const scanner of ['wasm', 'js'] as const) {
    const got = await run(wide, 'bytes', bytes, 1 << 14, scanner)
    assert.deepStrictEqual(got.stats, want.stats, scanner)
    assert.deepStrictEqual(got.pairs, want.pairs, scanner)
  }
})

test('fast path: pre-processors get plain objects as the full path gives them (prototype, own keys in order, fields added after)', async () => {
  const seen: Record<'text' | 'bytes', string[]> = { text: [], bytes: [] }
  let via: 'text' | 'bytes' = 'text'
  const look = (parts: Parts): Parts => {
    parts.added = 1
    parts.more = 'x'
    // (the fast path sets the input fields in the rule's field order: compared as sets)
    const desc = Object.getOwnPropertyNames(parts).sort().map((k) => [k, Object.getOwnPropertyDescriptor(parts, k)])
    seen[via].push(JSON.stringify([Object.getPrototypeOf(parts) === Object.prototype, parts.constructor === Object,
      Object.isExtensible(parts), desc, Object.keys(parts).slice(-2)]))
    return parts
  }
  // A field Object.prototype has too: those rules' records are made by literals (set by definition).
  for (const names of [['b', 'a', 'n'], ['b', 'a', 'toString', 'n']]) {
    const r = defineRule({ name: 'plain', mapInputStream: 'json', partsPreprocess: [look], preprocessReads: names,
      keysets: { k: defineKeyset({ keyParts: ['a'], valueParts: ['n', 'added'] }) } })
    // (a field the pre-processor reads only in the rule that declares it)
    const lines = ['{"a":"x","b":1,"n":2}', '{"n":3,"a":"y"}', '{"a":"z","b":[1],"n":-0}', '{"a":"x","b":1,"n":2}']
    if (names.includes('toString')) lines.push('{"toString":"t","a":"x","n":1.5}', '{"a":"x","toString":"u"}')
    const bytes = Buffer.from(lines.join('\n') + '\n')
    seen.text = []
    seen.bytes = []
    via = 'text'
    const want = await run(r, 'text', bytes, 0)
    via = 'bytes'
    const got = await run(r, 'bytes', bytes, 7)
    assert.deepStrictEqual(got.pairs, want.pairs)
    assert.equal(seen.text.length, lines.length)
    assert.deepStrictEqual(seen.bytes, seen.text)
  }
})

test('fast path over borrowed chunks (one buffer read into again): the pairs and counters of the full path', async () => {
  const r = mulberry32(77)
  const lines: string[] = []
  for (let i = 0; i < 3000; i++) lines.push(recordLine(r).replace(/\n/g, ' '))
  lines.splice(1000, 0, `{"ts":4,"event":"purchase","user":"${'v'.repeat(1_200_000)}","amount":3}`)
  const bytes = Buffer.concat([Buffer.from(lines.join('\n') + '\n', 'utf8'), blob(78, 2000)])
  const want = await run(rule, 'text', bytes, 0)
  for (const [chunk, scanner] of [[1 << 12, 'wasm'], [1 << 16, 'wasm'], [1 << 20, 'wasm'], [1 << 16, 'js']] as const) {
    // As a reused read buffer: each chunk lives in the same memory, overwritten (first with junk
    // that would make any kept view wrong) once the map asks for the next.
    const one = Buffer.alloc(chunk)
    const chunks = (function* () {
      for (let i = 0; i < bytes.length; i += chunk) {
        one.fill(0x7b)
        const n = bytes.copy(one, 0, i, Math.min(bytes.length, i + chunk))
        yield one.subarray(0, n)
      }
    })()
    const pairs: [string, unknown[]][] = []
    const stats = newJobStats()
    await mapBytes({ rule, params: {}, scanner, borrowed: true }, chunks, (k, v) => pairs.push([k, v]), stats)
    assert.deepStrictEqual(stats, want.stats, `chunk ${chunk}, ${scanner}`)
    assert.deepStrictEqual(pairs, want.pairs, `chunk ${chunk}, ${scanner}`)
  }
})
