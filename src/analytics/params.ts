// Shared parameter handling of the questions: checked inputs (ANALYTICS_BAD_PARAM), date ranges,
// durations and the segments a question answers for side by side.
import { DiscoError } from '../errors.js'
import type { Model } from './model.js'
import { loadSegment, type Segment } from './segments.js'
import { DAY_MS, parseDay } from './time.js'

/** A bad parameter. */
export function badParam(message: string): DiscoError {
  return new DiscoError('ANALYTICS_BAD_PARAM', message)
}

/** A `YYYY-MM-DD` parameter as a day number (undefined when absent). */
export function dayParam(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const d = typeof v === 'string' ? parseDay(v) : undefined
  if (d === undefined) throw badParam(`${what}: expected a date YYYY-MM-DD, found ${JSON.stringify(v)}`)
  return d
}

/** A positive integer parameter. */
export function intParam(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw badParam(`${what}: expected an integer from ${min} to ${max}, found ${JSON.stringify(v)}`)
  return n
}

/** One of a fixed set of strings. */
export function enumParam<T extends string>(v: unknown, what: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined || v === null || v === '') return dflt
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T
  throw badParam(`${what}: expected one of ${allowed.join(', ')}, found ${JSON.stringify(v)}`)
}

/** A non-empty string parameter. */
export function stringParam(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw badParam(`${what}: expected a non-empty string, found ${JSON.stringify(v)}`)
  return v
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }

/**
 * A duration: milliseconds as a number, or text like `14d`, `36h`, `90m`, `30s`, `2w`.
 * @example durationParam('14d', 'window') // 1209600000
 */
export function durationParam(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  const m = typeof v === 'string' ? /^(\d+)(ms|s|m|h|d|w)?$/.exec(v.trim()) : null
  if (!m) throw badParam(`${what}: expected a duration like 14d, 36h or 90m, found ${JSON.stringify(v)}`)
  return Number(m[1]) * UNITS[m[2] ?? 'ms']!
}

/** How a result names the users it covers. */
export interface SegmentRef {
  name: string
  label: string
  size: number
}

/**
 * The user filters a question answers for: none → all users; one segment → all users and the
 * segment; two → both segments.
 */
export async function sides(model: Model, segments: readonly (string | Segment)[] | undefined): Promise<(Segment | null)[]> {
  const list = segments ?? []
  if (!Array.isArray(list) || list.length > 2) throw badParam('segments: expected at most two segment names')
  const loaded: Segment[] = []
  for (const s of list) loaded.push(typeof s === 'string' ? await loadSegment(model, s) : s)
  if (loaded.length === 0) return [null]
  if (loaded.length === 1) return [null, loaded[0]!]
  return loaded
}

/** The public reference to a side's segment. */
export function segmentRef(s: Segment | null): SegmentRef | null {
  return s === null ? null : { name: s.name, label: s.label, size: s.size }
}

/** Median of numbers (mean of the two middle ones for an even count); null when empty. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const a = Float64Array.from(xs).sort()
  const m = a.length >> 1
  return a.length % 2 === 1 ? a[m]! : (a[m - 1]! + a[m]!) / 2
}

/** Mean of numbers; null when empty. */
export function mean(xs: number[]): number | null {
  if (xs.length === 0) return null
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}
