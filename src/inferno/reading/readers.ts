// Readers (spec inferno.md 2.2): JSON lines, CSV, dynamic per line. Bad lines are counted, never fatal.
import type { CsvDialect, Parts } from '../rules/rule.js'
import { newReadStats, type BlobStats, type ReadStats } from '../results/stats.js'
import { parseJson } from '../../util/json.js'

export { parseJson }

export { newReadStats, mergeReadStats, type ReadStats } from '../results/stats.js'

/** Options of a reader. */
export interface ReaderOptions {
  readonly kind: 'csv' | 'json' | 'dynamic'
  readonly csvFields?: readonly string[] | undefined
  readonly dialect?: CsvDialect
  /** How many bad lines to keep as a sample (default 5). */
  readonly sampleSize?: number
  /** Most lines one CSV record may span (default {@link DEFAULT_CSV_RECORD_LINES}). */
  readonly maxRecordLines?: number
  /** Most characters one CSV record may hold (default {@link DEFAULT_CSV_RECORD_CHARS}). */
  readonly maxRecordChars?: number
}

/**
 * Counts one bad line and keeps it in the sample (`json line error: "…"`, cut at 200 characters)
 * while there is room.
 *
 * @example
 * noteBadLine(stats, 'json', '{bad') // stats.badLines === 1
 */
export function noteBadLine(stats: ReadStats, kind: string, line: string, sampleSize = 5): void {
  stats.badLines++
  if (stats.badSample.length < sampleSize) stats.badSample.push(`${kind} line error: ${JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line)}`)
}

/**
 * Counts lines skipped as longer than the maximum record size as bad lines and as too-long lines
 * (`sample`: the first few as `line N (S+ bytes)`), in the totals and in the blob's own entry.
 *
 * @example
 * addOversized(stats, { count: 1, sample: ['line 3 (1048577+ bytes)'] }) // stats.badLines += 1
 */
export function addOversized(stats: ReadStats, o: { readonly count: number; readonly sample: readonly string[] }, blob?: BlobStats, sampleSize = 5): void {
  stats.lines += o.count
  stats.badLines += o.count
  stats.tooLongLines += o.count
  if (blob) {
    blob.lines += o.count
    blob.badLines += o.count
    blob.tooLongLines += o.count
  }
  for (const s of o.sample) if (stats.badSample.length < sampleSize) stats.badSample.push(`record too large line error: ${s}`)
}

/**
 * Splits one CSV record (section 2.2, Python `csv` semantics, non-strict): quoted fields may hold
 * the delimiter, newlines and doubled quotes. Returns `undefined` when a quote is still open at the
 * end (the reader joins the next line, see {@link csvQuoteOpen}). An empty line gives `[]`.
 *
 * @example
 * splitCsv('a,"b,c",d', { delimiter: ',', quotechar: '"' }) // ['a', 'b,c', 'd']
 */
export function splitCsv(line: string, dialect: CsvDialect): string[] | undefined {
  const { delimiter: d, quotechar: q } = dialect
  const out: string[] = []
  if (line.length === 0) return out
  let i = 0
  for (;;) {
    let field = ''
    if (line[i] === q) {
      i++
      let closed = false
      while (i < line.length) {
        const c = line[i]!
        if (c === q) {
          if (line[i + 1] === q) { field += q; i += 2; continue }
          i++
          closed = true
          break
        }
        field += c
        i++
      }
      if (!closed) return undefined
      // Text after the closing quote up to the delimiter is kept as it is (Python non-strict mode).
      while (i < line.length && line[i] !== d) field += line[i++]
    } else {
      const j = line.indexOf(d, i)
      const end = j < 0 ? line.length : j
      field = line.slice(i, end)
      i = end
    }
    out.push(field)
    if (i >= line.length) return out
    i++ // past the delimiter
    if (i === line.length) { out.push(''); return out }
  }
}

/**
 * True when a quoted CSV field is still open at the end of `line` (same rules as {@link splitCsv});
 * `inQuote`: the line starts inside a quoted field continued from the previous line. One pass over
 * the line, so a record spread over many lines is scanned once, not once per line added.
 */
export function csvQuoteOpen(line: string, dialect: CsvDialect, inQuote: boolean): boolean {
  const { delimiter: d, quotechar: q } = dialect
  let i = 0
  for (;;) {
    if (inQuote) {
      for (;;) {
        const j = line.indexOf(q, i)
        if (j < 0) return true
        if (line[j + 1] === q) { i = j + 2; continue }
        i = j + 1
        break
      }
      inQuote = false
    } else if (line[i] === q) {
      inQuote = true
      i++
      continue
    }
    // Up to the next delimiter: text after a closing quote, or an unquoted field, is literal.
    const k = line.indexOf(d, i)
    if (k < 0) return false
    i = k + 1
  }
}

/** Stateful per-blob line decoder: `push(line, emit)` emits 0..n records; `end(emit)` flushes. */
export interface RecordReader {
  push(line: string, emit: (record: Parts) => void): void
  /** Call at the end of a blob (an open quoted CSV field then counts as a bad line). */
  end(emit: (record: Parts) => void): void
  readonly stats: ReadStats
}

/** Most lines one CSV record may span (a quoted field holding newlines) by default. */
export const DEFAULT_CSV_RECORD_LINES = 1000
/** Most characters one CSV record may hold by default (1 MiB). */
export const DEFAULT_CSV_RECORD_CHARS = 1024 * 1024

const EXCEL: CsvDialect = { delimiter: ',', quotechar: '"' }

/**
 * A reader for one blob's lines (section 2.2, dynamic reader per Q4: per line, JSON when the line
 * holds `{`, else CSV). CSV field names default to `"0"`, `"1"`, … from the first row of the blob.
 * A quoted CSV field may span lines, but a record is bounded by `maxRecordLines` lines and
 * `maxRecordChars` characters: past either, its first line is a bad line and reading resumes at
 * the line after it (an unbalanced quote costs one line, never the rest of the blob).
 *
 * @example
 * const r = createRecordReader({ kind: 'json' })
 * const out: Parts[] = []
 * r.push('{"a":1}', (p) => out.push(p)) // out: [{ a: 1 }]
 * r.push('{bad}', (p) => out.push(p)) // r.stats.badLines === 1
 */
export function createRecordReader(opts: ReaderOptions, stats: ReadStats = newReadStats()): RecordReader {
  const dialect = opts.dialect ?? EXCEL
  const sampleSize = opts.sampleSize ?? 5
  const maxLines = opts.maxRecordLines ?? DEFAULT_CSV_RECORD_LINES
  const maxChars = opts.maxRecordChars ?? DEFAULT_CSV_RECORD_CHARS
  let fields: readonly string[] | undefined = opts.csvFields && opts.csvFields.length > 0 ? opts.csvFields : undefined
  /** Lines of a CSV record whose quoted field is still open (undefined: none). */
  let pending: string[] | undefined
  let pendingChars = 0

  const bad = (kind: string, line: string): void => {
    noteBadLine(stats, kind, line, sampleSize)
  }
  const json = (line: string, emit: (p: Parts) => void): void => {
    let v: unknown
    try {
      v = parseJson(line.trimEnd())
    } catch {
      return bad('json', line)
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('json', line)
    stats.records++
    emit(v as Parts)
  }
  const record = (text: string, emit: (p: Parts) => void): void => {
    const row = splitCsv(text, dialect)
    if (row === undefined) return bad('csv', text)
    if (row.length === 0) return
    if (fields === undefined) fields = row.map((_, i) => String(i))
    const parts: Parts = {}
    for (let i = 0; i < fields.length; i++) parts[fields[i]!] = i < row.length ? row[i] : null
    stats.records++
    emit(parts)
  }
  /** One line in CSV mode (or, for `dynamic`, a line that is not JSON). */
  const csv = (line: string, emit: (p: Parts) => void): void => {
    if (pending === undefined) {
      if (!csvQuoteOpen(line, dialect, false)) return record(line, emit)
      pending = [line]
      pendingChars = line.length
      return
    }
    pending.push(line)
    pendingChars += line.length + 1
    if (!csvQuoteOpen(line, dialect, true)) {
      const text = pending.join('\n')
      pending = undefined
      return record(text, emit)
    }
    if (pending.length > maxLines || pendingChars > maxChars) overflow(emit)
  }
  /** The open record is too long: its first line is bad, the others are read again. */
  const overflow = (emit: (p: Parts) => void): void => {
    const lines = pending!
    pending = undefined
    bad('csv', lines[0]!)
    for (let i = 1; i < lines.length; i++) one(lines[i]!, emit)
  }
  const one = (line: string, emit: (p: Parts) => void): void => {
    switch (opts.kind) {
      case 'json':
        // A line without `{` (empty, whitespace, scalars, arrays of scalars) is skipped and counted.
        if (line.includes('{')) json(line, emit)
        else stats.skippedLines++
        return
      case 'csv':
        return csv(line, emit)
      case 'dynamic':
        // Q4, as intended: a line holding `{` is JSON (an error when it is not an object), else CSV.
        if (pending === undefined && line.includes('{')) return json(line, emit)
        return csv(line, emit)
    }
  }
  const strip = (line: string) => (line.endsWith('\n') ? line.slice(0, line.endsWith('\r\n') ? -2 : -1) : line.endsWith('\r') ? line.slice(0, -1) : line)
  return {
    stats,
    push(raw, emit) {
      stats.lines++
      const line = strip(raw)
      // U+FFFD marks bytes that were not UTF-8 (decoders replace them): such a line would merge
      // distinct byte sequences into one key, so it is counted and dropped.
      if (line.indexOf('\uFFFD') >= 0) {
        stats.invalidUtf8Lines++
        if (stats.badSample.length < sampleSize) stats.badSample.push(`invalid UTF-8 line: ${JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line)}`)
        return
      }
      one(line, emit)
    },
    end(emit) {
      // A quote still open at the end of the blob: its first line is bad, the rest read again.
      while (pending !== undefined) overflow(emit)
    },
  }
}

/**
 * Decodes all lines of one blob into records.
 *
 * @example
 * [...readLines(['a,b', '', 'c'], { kind: 'csv' })] // [{0:'a',1:'b'}, {0:'c',1:null}]
 */
export function* readLines(lines: Iterable<string>, opts: ReaderOptions, stats?: ReadStats): Generator<Parts> {
  const r = createRecordReader(opts, stats)
  const out: Parts[] = []
  const emit = (p: Parts): void => { out.push(p) }
  for (const line of lines) {
    r.push(line, emit)
    if (out.length > 0) yield* out.splice(0)
  }
  r.end(emit)
  yield* out
}
