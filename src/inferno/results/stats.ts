// The counters of an Inferno run in one place: what the readers saw (per blob and in total), what
// the keyset map dropped, the map/reduce errors, and the warnings they imply. Every engine and
// reader feeds these objects; runner, CLI and daemon only read them.

/** Counters a reader keeps while it decodes one or more blobs. */
export interface ReadStats {
  /** Lines seen (including skipped and bad ones). */
  lines: number
  /** Records produced. */
  records: number
  /** Lines that could not be decoded (JSON that is not an object, an unclosed CSV quote). */
  badLines: number
  /** JSON-reader lines without `{` (empty, scalars, arrays of scalars): skipped, not records. */
  skippedLines: number
  /** Lines holding U+FFFD, the mark of bytes that were not UTF-8: dropped, so distinct bytes never merge into one key. */
  invalidUtf8Lines: number
  /** Lines longer than the maximum record size, skipped unread (also counted in `badLines`). */
  tooLongLines: number
  /** The first few bad lines, each prefixed by its kind (`json line error: …`). */
  badSample: string[]
}

/** What the keyset map did with the records it was given. */
export interface MapCounts {
  /** Records given to the keyset map. */
  recordsIn: number
  /** Records that came out of the rule-level pre-processors and field transforms. */
  preprocessedOut: number
  /** Record copies dropped by a keyset because a key part was missing (null/undefined). */
  missingKeyParts: number
  /** Value fields that were not numbers (nor numeric text, booleans or bigints); they count as 0. */
  nonNumericValues: number
}

/** Counters and a sample of the errors met by map or reduce (never fatal). */
export interface ErrorStats {
  errors: number
  errorSample: string[]
}

/** The counters of one input blob (or file): its reader's counters and what its map dropped. */
export interface BlobStats extends Omit<ReadStats, 'badSample'>, Pick<MapCounts, 'missingKeyParts' | 'nonNumericValues'> {
  /** The blob's first URL (or the file). */
  readonly blob: string
}

/** Counters of one job. */
export interface JobStats {
  read: ReadStats
  map: MapCounts
  mapErrors: ErrorStats
  reduceErrors: ErrorStats
  blobsDone: number
  /** One entry per mapped blob, in completion order. */
  blobs: BlobStats[]
}

const SAMPLE = 5

/** Fresh, zeroed reader counters. */
export function newReadStats(): ReadStats {
  return { lines: 0, records: 0, badLines: 0, skippedLines: 0, invalidUtf8Lines: 0, tooLongLines: 0, badSample: [] }
}

/** Adds `b` into `a` (the sample keeps its size limit). */
export function mergeReadStats(a: ReadStats, b: ReadStats, sampleSize = SAMPLE): ReadStats {
  a.lines += b.lines
  a.records += b.records
  a.badLines += b.badLines
  a.skippedLines += b.skippedLines ?? 0
  a.invalidUtf8Lines += b.invalidUtf8Lines ?? 0
  a.tooLongLines += b.tooLongLines ?? 0
  for (const s of b.badSample) if (a.badSample.length < sampleSize) a.badSample.push(s)
  return a
}

/** Fresh map counters. */
export function newMapCounts(): MapCounts {
  return { recordsIn: 0, preprocessedOut: 0, missingKeyParts: 0, nonNumericValues: 0 }
}

/** Fresh error counters. */
export function newErrorStats(): ErrorStats {
  return { errors: 0, errorSample: [] }
}

/** Adds `from` into `into` (the sample keeps its size limit). */
export function addErrors(into: ErrorStats, from: ErrorStats): void {
  into.errors += from.errors
  for (const s of from.errorSample) if (into.errorSample.length < SAMPLE) into.errorSample.push(s)
}

/** Fresh counters of one job. @example newJobStats().blobsDone // 0 */
export function newJobStats(): JobStats {
  return { read: newReadStats(), map: newMapCounts(), mapErrors: newErrorStats(), reduceErrors: newErrorStats(), blobsDone: 0, blobs: [] }
}

/** The per-blob entry of one blob's reader and map counters (map counters: the difference `after − before`). */
export function blobStats(blob: string, read: ReadStats, before: MapCounts, after: MapCounts): BlobStats {
  return {
    blob, lines: read.lines, records: read.records, badLines: read.badLines, skippedLines: read.skippedLines,
    invalidUtf8Lines: read.invalidUtf8Lines, tooLongLines: read.tooLongLines, missingKeyParts: after.missingKeyParts - before.missingKeyParts,
    nonNumericValues: after.nonNumericValues - before.nonNumericValues,
  }
}

/** Adds a job's counters (e.g. one Disco map task's) into another's. */
export function mergeJobStats(into: JobStats, from: Partial<JobStats>): JobStats {
  if (from.read) mergeReadStats(into.read, from.read)
  if (from.map) for (const k of Object.keys(into.map) as (keyof MapCounts)[]) into.map[k] += from.map[k] ?? 0
  if (from.mapErrors) addErrors(into.mapErrors, from.mapErrors)
  if (from.reduceErrors) addErrors(into.reduceErrors, from.reduceErrors)
  into.blobsDone += from.blobsDone ?? 0
  if (from.blobs) into.blobs.push(...from.blobs)
  return into
}

/** True when a blob had anything worth reporting. */
export function blobHasProblems(b: BlobStats): boolean {
  return b.badLines + b.skippedLines + b.invalidUtf8Lines + b.missingKeyParts + b.nonNumericValues > 0
}

/**
 * Warnings a finished run deserves (stderr; `--strict` makes them fail the run): every line bad,
 * pre-processors that dropped every record, records in but no rows out (`rowsOut` undefined: the
 * result processor did not read the rows, so nothing is said).
 *
 * @example
 * runWarnings(stats, 0) // ['read 12 records but wrote 0 rows']
 */
export function runWarnings(stats: JobStats, rowsOut: number | undefined, hasPreprocessors: boolean): string[] {
  const out: string[] = []
  const r = stats.read
  if (r.lines > 0 && r.records === 0 && r.badLines + r.invalidUtf8Lines + r.skippedLines > 0) {
    out.push(`no line gave a record: ${r.lines} lines, ${r.badLines} bad, ${r.skippedLines} skipped (no {), ${r.invalidUtf8Lines} invalid UTF-8`)
  }
  if (hasPreprocessors && stats.map.recordsIn > 0 && stats.map.preprocessedOut === 0) {
    out.push(`the pre-processors dropped every record (${stats.map.recordsIn} in, 0 out)`)
  } else if (r.records > 0 && rowsOut === 0) {
    out.push(`read ${r.records} records but wrote 0 rows${stats.map.missingKeyParts > 0 ? ` (${stats.map.missingKeyParts} dropped for a missing key part)` : ''}`)
  }
  return out
}
