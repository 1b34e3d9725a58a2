// Fuzz targets (issue 10): each takes arbitrary bytes and must either succeed or fail with a coded
// DiscoError; anything else (another exception, a broken invariant) is a defect, thrown as
// `Defect`. Used by the coverage-guided fuzzer (fuzz/run.ts) and by the corpus replay test.
import {
  DiscoDB, DiscoDBConstructor, DiscoError, LineSplitter, Q, csvQuoteOpen, newReadStats, readLines, splitCsv,
  type Inquiry, type ReaderOptions,
} from 'disco-inferno'
import { isDeepStrictEqual } from 'node:util'
import { BLOCK_BYTES, BlockScanner, LINE_END, LINE_START, LINE_VERDICT, PRESENT_SHIFT, SHORT_INT } from '#src/util/json-block.js'
import { FieldScanner } from '#src/util/json-fields.js'
import { parseJson } from '#src/util/json.js'

/** A broken promise of the code under test (not a coded error). */
export class Defect extends Error {
  override readonly name = 'Defect'
}

/** One fuzz target. */
export interface Target {
  readonly name: string
  /** Inputs to start from when the corpus is empty. */
  seeds(): Uint8Array[]
  /** Tokens the mutator may insert (operators, quotes, magic numbers). */
  readonly dictionary: readonly Uint8Array[]
  /** Longest input the mutator makes. */
  readonly maxLength: number
  /** Runs one input; throws Defect on a defect. */
  run(input: Uint8Array): void
}

const enc = new TextEncoder()
const bytes = (s: string): Uint8Array => enc.encode(s)

/** Rethrows anything that is not a coded DiscoError as a Defect. */
function coded(e: unknown, what: string): void {
  if (e instanceof DiscoError && typeof e.code === 'string' && e.code.length > 0) return
  if (e instanceof Defect) throw e
  const err = e as Error
  throw new Defect(`${what}: expected a coded DiscoError, found ${err?.name ?? typeof e}: ${err?.message ?? String(e)}`, { cause: e })
}

/** At most `n` items of an iterable. */
function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return
  for (const x of it) {
    yield x
    if (--n <= 0) return
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Defect(what)
}

/**
 * Reads an inquiry (bounded) and its count. On a corrupt file count() is the stored count, which
 * need not match what iterates (the original library behaves the same), so only its type is checked.
 */
function drain(q: Inquiry | undefined, limit: number): void {
  if (q === undefined) return
  for (const v of take(q, limit)) check(v instanceof Uint8Array, 'values are bytes')
  const n = q.count()
  check(Number.isSafeInteger(n) && n >= 0, `count() is a non-negative integer, found ${n}`)
}

/** A small DB the query target evaluates against (keys name other keys, for dereference). */
function queryDb(): DiscoDB {
  const c = new DiscoDBConstructor()
  c.add('a', ['b', 'c', 'x'])
  c.add('b', ['c', 'd'])
  c.add('c', ['a', 'x'])
  c.add('d', [])
  c.add('new york', ['big apple', 'a'])
  c.add('x', ['b'])
  return DiscoDB.loads(c.finalizeBytes())
}
let qdb: DiscoDB | undefined

/** Every seed DB: a few shapes from the writer (hashed, unhashed, compressed, multiset). */
function seedDbs(): Uint8Array[] {
  const out: Uint8Array[] = []
  const shapes: Array<[Record<string, string[]>, { unique?: boolean; compress?: boolean }]> = [
    [{ a: ['1', '2'], b: ['2', '3'], c: [] }, {}],
    [{ pets: ['dog', 'cat'], mammals: ['dog', 'cow', 'whale'], aquatic: ['whale'] }, { unique: true }],
    [{ k: Array.from({ length: 40 }, (_, i) => `value number ${i % 9}`) }, { compress: true }],
    [Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`key${i}`, [`v${i % 4}`, `w${i % 3}`]])), {}],
  ]
  for (const [kv, o] of shapes) {
    const c = new DiscoDBConstructor()
    for (const [k, vs] of Object.entries(kv)) c.add(k, vs)
    out.push(c.finalizeBytes({ uniqueItems: o.unique ?? false, disableCompression: !(o.compress ?? false) }))
  }
  return out
}

const discodb: Target = {
  name: 'discodb',
  maxLength: 1 << 16,
  dictionary: [
    new Uint8Array([0, 0, 0, 0]), new Uint8Array([0xff, 0xff, 0xff, 0xff]), new Uint8Array([1, 0, 0, 0]),
    new Uint8Array([0x80, 0, 0, 0]), new Uint8Array([0xff, 0xff, 0xff, 0x7f]), new Uint8Array([0, 0, 0, 0x80]),
  ],
  seeds: seedDbs,
  run(input) {
    let db: DiscoDB
    try {
      db = DiscoDB.loads(input)
    } catch (e) {
      return coded(e, 'DiscoDB.loads')
    }
    try {
      const h = db.header
      check(h.numKeys >= 0 && h.numValues >= 0, 'header counts are non-negative')
      const keys = [...take(db.keys(), 64)]
      for (const k of keys.slice(0, 8)) drain(db.get(k), 256)
      drain(db.values(), 256)
      drain(db.uniqueValues(), 256)
      for (const [k, vs] of take(db.items(), 8)) {
        check(k instanceof Uint8Array, 'item keys are bytes')
        drain(vs, 64)
      }
      if (keys.length >= 2 && !h.multiset) {
        drain(db.query(Q.fromCnf([[[keys[0]!, false]], [[keys[1]!, false], [keys[0]!, true]]])), 256)
        drain(db.query(Q.fromCnf([[[keys[1]!, true]]])), 256)
      }
    } catch (e) {
      coded(e, 'reading a loaded DiscoDB')
    }
  },
}

const query: Target = {
  name: 'query',
  maxLength: 4096,
  dictionary: ['&', '|', '~', '*', '+', '(', ')', ' ', '~(', ')|(', 'a', 'new york', '\t', '\u0000', '\xff'].map(bytes),
  seeds: () => ['a', 'a & b', 'a | b & ~c', '~(a | b) & *c', '*(a & ~b) | +x', '((a|b)&(c|d))|~new york', '~~*a', '~*d'].map(bytes),
  run(input) {
    let q: Q
    try {
      q = Q.parse(input)
    } catch (e) {
      return coded(e, 'Q.parse')
    }
    // The text form parses back to the same query (terms of plain printable ASCII only).
    if (input.every((b) => b >= 0x20 && b < 0x7f)) {
      let again: Q | undefined
      try {
        again = Q.parse(String(q))
      } catch (e) {
        coded(e, 'Q.parse(String(q))')
      }
      if (again !== undefined && q.clauses.length > 0) check(again.id === q.id, `String(q) parses back to q: ${JSON.stringify(String(q))}`)
    }
    try {
      const db = (qdb ??= queryDb())
      drain(db.query(q), 1000)
      for (const [mq, vs] of take(db.metaquery(q), 16)) {
        check(mq instanceof Q, 'metaquery yields queries')
        drain(vs, 1000)
      }
    } catch (e) {
      coded(e, 'evaluating a parsed query')
    }
  },
}

/** Splits bytes into text lines the way the line readers do (latin1 keeps every byte). */
function textOf(input: Uint8Array): string[] {
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8').split('\n')
}

/** The line splitter over two arbitrary pieces equals a plain split on `\n`. */
function checkSplitter(input: Uint8Array): void {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const cut = input.length === 0 ? 0 : input[0]! % (input.length + 1)
  const max = 64
  const split = new LineSplitter(max, () => {})
  const got: string[] = []
  const sink = (b: Buffer, s: number, e: number): void => { got.push(b.toString('latin1', s, e)) }
  split.push(buf.subarray(0, cut), sink)
  split.push(buf.subarray(cut), sink)
  split.end(sink)
  const all = buf.toString('latin1').split('\n')
  if (all.at(-1) === '') all.pop()
  const want = all.filter((l) => l.length <= max)
  check(JSON.stringify(got) === JSON.stringify(want), 'LineSplitter equals a plain split on newline (long lines skipped)')
  check(split.tooLong === all.length - want.length, 'LineSplitter counts the long lines it skipped')
}

/** Runs a reader over lines and checks its counters. */
function checkReader(lines: string[], opts: ReaderOptions): void {
  const stats = newReadStats()
  let n = 0
  try {
    for (const p of readLines(lines, opts, stats)) {
      check(p !== null && typeof p === 'object', 'records are objects')
      n++
    }
  } catch (e) {
    // Readers count bad lines; they never throw, not even a coded error.
    throw new Defect(`reader ${opts.kind} threw: ${(e as Error)?.message}`, { cause: e })
  }
  check(stats.records === n, 'records counted equal records produced')
  check(stats.lines === lines.length, 'every line is counted')
  check(stats.badLines <= stats.lines, 'bad lines are lines')
}

const BLOCK_FIELDS = ['a', 'b', 'n', 's', '']
let blockScanner: BlockScanner | undefined
const blockDecoder = new FieldScanner(BLOCK_FIELDS)

/**
 * The WebAssembly block scanner on the input's lines: its line ends are the newlines, and a line
 * it calls valid parses (parseJson) to an object with exactly the fields it gives.
 */
function checkBlockScanner(input: Uint8Array): void {
  const b = (blockScanner ??= BlockScanner.create(BLOCK_FIELDS))
  check(b !== undefined, 'the block scanner compiles')
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const block = text.length > 0 && text[text.length - 1] !== 10 ? Buffer.concat([text, Buffer.from('\n')]) : text
  if (block.length === 0 || block.length > BLOCK_BYTES) return
  block.copy(b!.bytes, b!.inputStart)
  const end = b!.inputStart + block.length
  let p = b!.inputStart
  while (p < end) {
    const n = b!.scan(p, end)
    check(n > 0, 'a scan call records a line')
    for (let i = 0; i < n; i++) {
      const r = i * b!.stride
      const s = b!.out[r + LINE_START]!
      const e = b!.out[r + LINE_END]!
      check(s === p && e < end && b!.bytes[e] === 10 && b!.bytes.subarray(s, e).indexOf(10) < 0, `line ${s}-${e} ends at the first newline`)
      p = e + 1
      const verdict = b!.out[r + LINE_VERDICT]!
      if (verdict === 0) continue
      const line = b!.bytes.subarray(s, e)
      let v: unknown
      try {
        v = parseJson(line.toString('utf8'))
      } catch {
        throw new Defect(`block scanner called ${JSON.stringify(line.toString('latin1'))} valid; the full parser says no`)
      }
      check(v !== null && typeof v === 'object' && !Array.isArray(v), 'a valid line is an object')
      check(((verdict & 2) !== 0) === line.some((x) => x >= 0x80), 'the non-ASCII bit')
      BLOCK_FIELDS.forEach((f, k) => {
        const q = r + 3 + 3 * k
        const kind = b!.out[q]!
        check(((verdict >>> PRESENT_SHIFT) & (1 << k)) !== 0 === (kind !== 0), 'the present-fields mask')
        const want = Object.hasOwn(v as object, f) ? (v as Record<string, unknown>)[f] : undefined
        const got = kind === 0 ? undefined : kind >= 65536 ? b!.interned(kind, b!.out[q + 1]!, b!.out[q + 2]!)
          : (kind & SHORT_INT) !== 0 ? b!.nums[i * BLOCK_FIELDS.length + k] : blockDecoder.decode(b!.bytes, kind & 255, (kind >> 8) & 3, b!.out[q + 1]!, b!.out[q + 2]!)
        check(isDeepStrictEqual(got, want), `field ${JSON.stringify(f)} of ${JSON.stringify(line.toString('latin1'))}: ${String(got)} vs ${String(want)}`)
      })
    }
  }
}

const ndjson: Target = {
  name: 'ndjson',
  maxLength: 4096,
  dictionary: ['{', '}', '[', ']', '"', ':', ',', '\\', '\\u0000', '\\ud800', '1e999', '-0', '12345678901234567890', 'null', '\n', '\r\n'].map(bytes),
  seeds: () => ['{"a":1}\n{"b":"x"}\n', '{"n": 12345678901234567890, "s": "\\u00e9"}\n[1,2]\n{bad}\n', '\n\n{"a":{"b":[1,{"c":null}]}}\r\n'].map(bytes),
  run(input) {
    checkReader(textOf(input), { kind: 'json' })
    checkReader(textOf(input), { kind: 'dynamic' })
    checkSplitter(input)
    checkBlockScanner(input)
  },
}

const XL = { delimiter: ',', quotechar: '"' }
const csv: Target = {
  name: 'csv',
  maxLength: 4096,
  dictionary: ['"', '""', ',', '\n', '\r\n', ',"', '",', '{'].map(bytes),
  seeds: () => ['a,b\n1,2\n', 'a,"b,c",d\n"x""y",z\n', 'h1,h2\n1,"open\n2,two\n', '"multi\nline",x\n'].map(bytes),
  run(input) {
    const lines = textOf(input)
    checkReader(lines, { kind: 'csv' })
    checkReader(lines, { kind: 'csv', maxRecordLines: 2, maxRecordChars: 64 })
    for (const l of lines) {
      check(csvQuoteOpen(l, XL, false) === (splitCsv(l, XL) === undefined), `csvQuoteOpen agrees with splitCsv on ${JSON.stringify(l)}`)
      check(csvQuoteOpen(l, XL, true) === (splitCsv(`"${l}`, XL) === undefined), `csvQuoteOpen (continued) agrees with splitCsv on ${JSON.stringify(l)}`)
    }
  },
}

/** Every target by name. */
export const targets: Readonly<Record<string, Target>> = { discodb, query, ndjson, csv }
