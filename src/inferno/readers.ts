// Readers (spec inferno.md 2.2): JSON lines, CSV, dynamic per line. Bad lines are counted, never fatal.
import type { CsvDialect, Parts } from './rule.js'
import { parseJson } from '../util/json.js'

export { parseJson }

/** Counters a reader keeps while it decodes one or more blobs. */
export interface ReadStats {
  /** Lines seen (including skipped and bad ones). */
  lines: number
  /** Records produced. */
  records: number
  /** Lines that could not be decoded. */
  badLines: number
  /** The first few bad lines, each prefixed by its kind (`json line error: …`). */
  badSample: string[]
}

/** Options of a reader. */
export interface ReaderOptions {
  readonly kind: 'csv' | 'json' | 'dynamic'
  readonly csvFields?: readonly string[] | undefined
  readonly dialect?: CsvDialect
  /** How many bad lines to keep as a sample (default 5). */
  readonly sampleSize?: number
}

/** Fresh, zeroed counters. */
export function newReadStats(): ReadStats {
  return { lines: 0, records: 0, badLines: 0, badSample: [] }
}

/** Adds `b` into `a` (the sample keeps its size limit). */
export function mergeReadStats(a: ReadStats, b: ReadStats, sampleSize = 5): ReadStats {
  a.lines += b.lines
  a.records += b.records
  a.badLines += b.badLines
  for (const s of b.badSample) if (a.badSample.length < sampleSize) a.badSample.push(s)
  return a
}

/**
 * Splits one CSV line (section 2.2, Python `csv` semantics, non-strict): quoted fields may hold the
 * delimiter and doubled quotes. Returns `undefined` when a quote is still open at the end of the
 * line (the caller joins the next line). An empty line gives `[]`.
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

/** Stateful per-blob line decoder: `push(line)` returns 0..1 record; `end()` flushes. */
export interface LineReader {
  push(line: string): Parts | undefined
  /** Call at the end of a blob (an open quoted CSV field then counts as a bad line). */
  end(): Parts | undefined
  readonly stats: ReadStats
}

const EXCEL: CsvDialect = { delimiter: ',', quotechar: '"' }

/**
 * A reader for one blob's lines (section 2.2, dynamic reader per Q4: per line, JSON when the line
 * holds `{`, else CSV). CSV field names default to `"0"`, `"1"`, … from the first row of the blob.
 *
 * @example
 * const r = createLineReader({ kind: 'json' })
 * r.push('{"a":1}') // { a: 1 }
 * r.push('{bad}') // undefined; r.stats.badLines === 1
 */
export function createLineReader(opts: ReaderOptions, stats: ReadStats = newReadStats()): LineReader {
  const dialect = opts.dialect ?? EXCEL
  const sampleSize = opts.sampleSize ?? 5
  let fields: readonly string[] | undefined = opts.csvFields && opts.csvFields.length > 0 ? opts.csvFields : undefined
  let pending: string | undefined

  const bad = (kind: string, line: string): undefined => {
    stats.badLines++
    if (stats.badSample.length < sampleSize) stats.badSample.push(`${kind} line error: ${JSON.stringify(line)}`)
    return undefined
  }
  const json = (line: string): Parts | undefined => {
    let v: unknown
    try {
      v = parseJson(line.trimEnd())
    } catch {
      return bad('json', line)
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('json', line)
    stats.records++
    return v as Parts
  }
  const csv = (line: string): Parts | undefined => {
    const text = pending === undefined ? line : `${pending}\n${line}`
    const row = splitCsv(text, dialect)
    if (row === undefined) { pending = text; return undefined }
    pending = undefined
    if (row.length === 0) return undefined
    if (fields === undefined) fields = row.map((_, i) => String(i))
    const parts: Parts = {}
    for (let i = 0; i < fields.length; i++) parts[fields[i]!] = i < row.length ? row[i] : null
    stats.records++
    return parts
  }
  const strip = (line: string) => (line.endsWith('\n') ? line.slice(0, line.endsWith('\r\n') ? -2 : -1) : line.endsWith('\r') ? line.slice(0, -1) : line)
  return {
    stats,
    push(raw: string) {
      stats.lines++
      const line = strip(raw)
      switch (opts.kind) {
        case 'json':
          // A line without `{` (empty, whitespace, scalars, arrays of scalars) is skipped silently.
          return line.includes('{') ? json(line) : undefined
        case 'csv':
          return csv(line)
        case 'dynamic':
          // Q4, as intended: a line holding `{` is JSON (an error when it is not an object), else CSV.
          if (pending === undefined && line.includes('{')) return json(line)
          return csv(line)
      }
    },
    end() {
      if (pending === undefined) return undefined
      const p = pending
      pending = undefined
      return bad('csv', p)
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
  const r = createLineReader(opts, stats)
  for (const line of lines) {
    const p = r.push(line)
    if (p !== undefined) yield p
  }
  const last = r.end()
  if (last !== undefined) yield last
}
