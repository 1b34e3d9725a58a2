// UTC time for analytics: strict timestamp parsing and calendar periods (days, ISO weeks, months).
// Periods are named by their first day (`YYYY-MM-DD`) or, for months, `YYYY-MM`; all arithmetic
// is on whole UTC days (day numbers since 1970-01-01), so there is no DST anywhere.
import { DiscoError } from '../errors.js'

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000
/** The largest |time| a JavaScript Date holds. */
const MAX_TIME = 8.64e15

/** A period kind: UTC calendar day, ISO week (Monday first) or calendar month. */
export type PeriodKind = 'day' | 'week' | 'month'
export const PERIOD_KINDS: readonly PeriodKind[] = ['day', 'week', 'month']

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?Z$/

/** Days in `month` (1-12) of `year` (proleptic Gregorian). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/**
 * A timestamp as epoch milliseconds, or undefined when it is not one: an integer number of
 * milliseconds, or a string `YYYY-MM-DDTHH:MM:SS[.sss]Z` naming a real UTC calendar time.
 * @example parseTimestamp('2026-02-28T10:00:00Z') // 1772272800000
 * @example parseTimestamp('2026-02-30T10:00:00Z') // undefined
 */
export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= MAX_TIME ? v : undefined
  if (typeof v !== 'string') return undefined
  const m = ISO.exec(v)
  if (!m) return undefined
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return undefined
  const t = Date.UTC(y, mo - 1, d, h, mi, s, m[7] === undefined ? 0 : Number(m[7]))
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear puts them back.
  if (y < 100) {
    const date = new Date(t)
    date.setUTCFullYear(y)
    return date.getTime()
  }
  return t
}

/** The UTC day number (days since 1970-01-01) of a time. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS)
}

const dayNames = new Map<number, string>()

/** `YYYY-MM-DD` of a day number (remembered: questions name the same days over and over). */
export function dayName(day: number): string {
  let s = dayNames.get(day)
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10)
    if (dayNames.size >= 100_000) dayNames.clear()
    dayNames.set(day, s)
  }
  return s
}

/** The day number of `YYYY-MM-DD` (a real date), or undefined. */
export function parseDay(s: string): number | undefined {
  const t = parseTimestamp(`${s}T00:00:00Z`)
  return t === undefined ? undefined : t / DAY_MS
}

/** The first day of the period of kind `kind` holding `day`. */
export function periodStart(kind: PeriodKind, day: number): number {
  if (kind === 'day') return day
  if (kind === 'week') return day - ((day + 3) % 7 + 7) % 7 // 1970-01-01 was a Thursday
  const d = new Date(day * DAY_MS)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS
}

/** The first day of the period `n` periods after the one starting at `start`. */
export function periodAdd(kind: PeriodKind, start: number, n: number): number {
  if (kind === 'day') return start + n
  if (kind === 'week') return start + 7 * n
  const d = new Date(start * DAY_MS)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1) / DAY_MS
}

/** The last day of the period starting at `start`. */
export function periodEnd(kind: PeriodKind, start: number): number {
  return periodAdd(kind, start, 1) - 1
}

/** The key-space name of a period: `YYYY-MM-DD` for days and weeks (the Monday), `YYYY-MM` for months. */
export function periodName(kind: PeriodKind, start: number): string {
  const s = dayName(start)
  return kind === 'month' ? s.slice(0, 7) : s
}

/** A human label: `2026-11-23`, `2026-W48`, `2026-11`. */
export function periodLabel(kind: PeriodKind, start: number): string {
  if (kind !== 'week') return periodName(kind, start)
  const thursday = start + 3
  const year = new Date(thursday * DAY_MS).getUTCFullYear()
  const jan1 = Date.UTC(year, 0, 1) / DAY_MS
  const week = Math.floor((thursday - jan1) / 7) + 1
  return `${year}-W${String(week).padStart(2, '0')}`
}

/** Period starts from the period holding `from` to the one holding `to`, inclusive. */
export function periodsBetween(kind: PeriodKind, from: number, to: number): number[] {
  const out: number[] = []
  for (let p = periodStart(kind, from); p <= to; p = periodAdd(kind, p, 1)) out.push(p)
  return out
}

/** Checks a period kind from user input (ANALYTICS_BAD_PARAM otherwise). */
export function checkPeriod(v: unknown, what = 'period'): PeriodKind {
  if (v === 'day' || v === 'week' || v === 'month') return v
  throw new DiscoError('ANALYTICS_BAD_PARAM', `${what}: expected day, week or month, found ${JSON.stringify(v)}`)
}
