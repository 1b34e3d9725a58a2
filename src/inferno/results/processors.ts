// Result merge, CSV / debug / JSON-record processors and retry with back-off (spec 2.6-2.8, 12).
import { DiscoError } from '../../errors.js'
import { MinHeap } from '../../util/heap.js'
import type { CsvDialect, ResultContext, ResultRow, Rule } from '../rules/rule.js'
import { compareRows } from '../keyset/map-reduce.js'
import { formatValue, type FloatFormat } from '../rules/values.js'
import { backoffDelay } from '../../util/backoff.js'

type AnyIterable<T> = Iterable<T> | AsyncIterable<T>

async function* toAsync<T>(it: AnyIterable<T>): AsyncGenerator<T> {
  yield* it
}

/**
 * k-way merge of individually sorted streams (section 2.6, IN-12). Unsorted inputs are merged
 * naively (head by head), duplicates are all kept, equal heads come from the earlier stream first.
 *
 * @example
 * await toArray(mergeSorted([[1, 3], [2, 4]], (a, b) => a - b)) // [1, 2, 3, 4]
 */
export async function* mergeSorted<T>(streams: readonly AnyIterable<T>[], compare: (a: T, b: T) => number): AsyncGenerator<T> {
  const its = streams.map((s) => toAsync(s)[Symbol.asyncIterator]())
  // Heap of [head, stream index]; ties go to the earlier stream.
  const heap = new MinHeap<[T, number]>((a, b) => {
    const c = compare(a[0], b[0])
    return c < 0 || (c === 0 && a[1] < b[1])
  })
  for (let i = 0; i < its.length; i++) {
    const n = await its[i]!.next()
    if (!n.done) heap.push([n.value, i])
  }
  while (heap.size > 0) {
    const [v, i] = heap.pop()!
    yield v
    const n = await its[i]!.next()
    if (!n.done) heap.push([n.value, i])
  }
}

/** Merges result rows of several partitions in key order (Q2). */
export function mergeRows(streams: readonly AnyIterable<ResultRow>[]): AsyncGenerator<ResultRow> {
  return mergeSorted(streams, compareRows)
}

/** Collects an (async) iterable into an array. */
export async function toArray<T>(it: AnyIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const EXCEL: CsvDialect = { delimiter: ',', quotechar: '"' }

/**
 * One CSV line, Excel dialect (minimal quoting, doubled quotes, CRLF), as Python's csv writer.
 *
 * @example
 * csvLine(['a', 'b,c', 'say "hi"']) // 'a,"b,c","say ""hi"""\r\n'
 */
export function csvLine(fields: readonly string[], dialect: CsvDialect = EXCEL): string {
  const { delimiter: d, quotechar: q } = dialect
  if (fields.length === 1 && fields[0] === '') return `${q}${q}\r\n`
  return fields.map((f) => (f.includes(d) || f.includes(q) || f.includes('\n') || f.includes('\r')
    ? q + f.split(q).join(q + q) + q : f)).join(d) + '\r\n'
}

/** The header of a keyset block: key parts without `_keyset`, then value parts, renamed by mappings. */
export function keysetHeader(rule: Rule, keyset: string): string[] {
  const ks = rule.keysets[keyset]
  if (!ks) return []
  const m = ks.columnMappings
  return [...ks.keyParts.slice(1), ...ks.valueParts].map((c) => m[c] ?? c)
}

/** Options of the CSV writers. */
export interface CsvOptions {
  readonly floatFormat?: FloatFormat
  /** Write the whole key, keyset name included, and no header (`--debug`, section 2.7). */
  readonly debug?: boolean
  /** Delimiter and quote (default Excel: `,` and `"`; TSV: a tab). */
  readonly dialect?: CsvDialect
}

/**
 * Writes rows as CSV (section 2.7 `keyset_result`): a header row every time the keyset changes in
 * the stream; rows are key parts without the keyset name, then the values. With `debug`, no header
 * and the whole key (`reduce_result`). Returns the number of data rows.
 *
 * @example
 * await writeCsv(rule, rows, (s) => process.stdout.write(s)) // 'last,count\r\nSimpson,5\r\n'
 */
export async function writeCsv(rule: Rule, rows: AnyIterable<ResultRow>, out: (text: string) => void,
  opts: CsvOptions = {}): Promise<number> {
  const ff = opts.floatFormat ?? 'g12'
  let current: string | undefined
  let n = 0
  let buf = ''
  for await (const [key, values] of rows) {
    if (!opts.debug && key[0] !== current) {
      current = key[0]
      buf += csvLine(keysetHeader(rule, current ?? ''), opts.dialect)
    }
    const cells = (opts.debug ? key : key.slice(1)).concat(values.map((v) => formatValue(v, ff)))
    buf += csvLine(cells, opts.dialect)
    n++
    // Flushed in batches, as the original's reduce_result (every 5000 rows).
    if (n % 5000 === 0) { out(buf); buf = '' }
  }
  if (buf) out(buf)
  return n
}

/**
 * The default result processor (`keyset_result`): CSV to the context's output (the original's
 * Excel dialect, CRLF), or with `ctx.format` TSV (a tab instead of the comma) or JSON (one record
 * per line, the shape of saved results).
 *
 * @example
 * defineRule({ resultProcessor: keysetResult })
 */
export async function keysetResult(rows: AsyncIterable<ResultRow>, ctx: ResultContext): Promise<void> {
  if (ctx.format === 'json') {
    let buf = ''
    let n = 0
    for await (const row of rows) {
      buf += jsonRecordLine(ctx.rule, row) + '\n'
      if (++n % 5000 === 0) { ctx.out(buf); buf = '' }
    }
    if (buf) ctx.out(buf)
    return
  }
  await writeCsv(ctx.rule, rows, ctx.out, { floatFormat: ctx.floatFormat, ...(ctx.format === 'tsv' ? { dialect: TSV } : {}) })
}

const TSV: CsvDialect = { delimiter: '\t', quotechar: '"' }

/** The `--debug` processor (`reduce_result`): whole key and values, no header. */
export async function reduceResult(rows: AsyncIterable<ResultRow>, ctx: ResultContext): Promise<void> {
  await writeCsv(ctx.rule, rows, ctx.out, { floatFormat: ctx.floatFormat, debug: true })
}

/**
 * One JSON record of a result row (`json_reduce_output_stream`, section 2.7): the keyset's key parts
 * (with `_keyset`) zipped with the key, then the value parts zipped with the values. Extra values
 * appended by post-processors are kept under `_extra`.
 *
 * @example
 * jsonRecord(rule, [['_default', 'Homer', 'Simpson'], [1]]) // {_keyset:'_default', first:'Homer', last:'Simpson', count:1}
 */
export function jsonRecord(rule: Rule, row: ResultRow): Record<string, unknown> {
  const [key, values] = row
  const ks = rule.keysets[key[0]!]
  const rec: Record<string, unknown> = {}
  const keyNames = ks ? ks.keyParts : ['_keyset']
  key.forEach((k, i) => { rec[keyNames[i] ?? `_key${i}`] = k })
  const valueNames = ks ? ks.valueParts : []
  const extra: unknown[] = []
  values.forEach((v, i) => {
    if (i < valueNames.length) rec[valueNames[i]!] = v
    else extra.push(v)
  })
  if (extra.length > 0) rec._extra = extra
  return rec
}

/** JSON-lines text of a row (bigints beyond 2^53 written as exact numbers). */
export function jsonRecordLine(rule: Rule, row: ResultRow): string {
  return bigJson(jsonRecord(rule, row))
}

/** JSON.stringify that writes bigints as exact number literals. */
export function bigJson(v: unknown): string {
  const marks: string[] = []
  const s = JSON.stringify(v, (_k, x) => {
    if (typeof x !== 'bigint') return x
    marks.push(x.toString())
    return `\u0000big${marks.length - 1}`
  })
  return marks.length === 0 ? s : s.replace(/"\\u0000big(\d+)"/g, (_, i: string) => marks[Number(i)]!)
}

/** Back-off policy for retried steps (Q12). */
export interface RetryPolicy {
  /** Total attempts (default 6, as the original). */
  readonly attempts?: number
  /** Maximum sleep before attempt i (1-based, i ≥ 2) in ms; default 2^(i+3) s (32 s … 512 s). */
  readonly maxDelayMs?: (attempt: number) => number
  /** Sleep function (tests inject a fake). */
  readonly sleep?: (ms: number) => Promise<void>
  /** Random source in [0, 1) (default Math.random). */
  readonly random?: () => number
  /** Called after each failed attempt. */
  readonly onRetry?: (attempt: number, error: unknown, delayMs: number) => void
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Runs `fn`, retrying on any error with random back-off (section 2.8 `try_to_execute`): sleeps a
 * random 1 s … 2^(n+4) s between attempts, gives up after `attempts` and throws
 * `INFERNO_RETRY_EXHAUSTED` with the last error as cause.
 *
 * @example
 * await withRetry(() => writeToDb(rows), { attempts: 3 })
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T> | T, policy: RetryPolicy = {},
  what = 'step'): Promise<T> {
  const attempts = policy.attempts ?? 6
  const sleep = policy.sleep ?? realSleep
  const random = policy.random ?? Math.random
  const maxDelay = policy.maxDelayMs ?? ((i: number) => 2 ** (i + 3) * 1000)
  let last: unknown
  for (let i = 1; i <= attempts; i++) {
    try {
      return await fn(i)
    } catch (e) {
      last = e
      if (i === attempts) break
      const max = Math.max(1000, maxDelay(i + 1))
      const delay = Math.round(backoffDelay(1, max, max, { spread: true, floorMs: 1000, random }))
      policy.onRetry?.(i, e, delay)
      await sleep(delay)
    }
  }
  const msg = last instanceof Error ? last.message : String(last)
  throw new DiscoError('INFERNO_RETRY_EXHAUSTED', `${what} failed ${attempts} times; last error: ${msg}`, { cause: last })
}
