// Daemon schedules (spec §11.2): time deltas, once a day after an hour, once on a weekday. All UTC.
import { DiscoError } from '../../errors.js'

/** A plain interval, measured start-to-start from the last launch. */
export interface DeltaSchedule {
  weeks?: number
  days?: number
  hours?: number
  minutes?: number
  seconds?: number
  milliseconds?: number
}

/** Once a day after `oclock`:00 UTC; or once on `weekday` after `oclock`:00 (default 4). */
export interface ClockSchedule {
  oclock?: number
  weekday?: string
}

/** A rule's `time_delta`. */
export type TimeDelta = DeltaSchedule & ClockSchedule

/** The original's default: every 5 minutes. */
export const DEFAULT_TIME_DELTA: TimeDelta = Object.freeze({ minutes: 5 })

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']
const DELTA_MS: Record<keyof DeltaSchedule, number> = {
  weeks: 7 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
}

/**
 * Checks a `time_delta` value and returns it normalised; unknown keys, negative or non-numeric
 * values, an hour outside 0..23 and an unknown weekday are `INFERNO_SCHEDULE_INVALID`.
 *
 * @example
 * parseTimeDelta({ weekday: 'Monday' }) // { weekday: 'monday', oclock: 4 }
 */
export function parseTimeDelta(value: unknown, rule = 'rule'): TimeDelta {
  const bad = (why: string) => new DiscoError('INFERNO_SCHEDULE_INVALID', `${rule}: time_delta ${why}`)
  if (value === undefined || value === null) return { ...DEFAULT_TIME_DELTA }
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(`expected a mapping such as {minutes: 5}, found ${JSON.stringify(value)}`)
  const out: TimeDelta = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'weekday') {
      const w = String(v).toLowerCase()
      if (!WEEKDAYS.includes(w)) throw bad(`expected a weekday name (monday … sunday), found "${String(v)}"`)
      out.weekday = w
    } else if (k === 'oclock') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 23) throw bad(`expected oclock 0..23, found ${JSON.stringify(v)}`)
      out.oclock = v as number
    } else if (k in DELTA_MS) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`expected a non-negative number for ${k}, found ${JSON.stringify(v)}`)
      out[k as keyof DeltaSchedule] = v
    } else {
      throw bad(`expected keys weeks/days/hours/minutes/seconds/milliseconds/oclock/weekday, found "${k}"`)
    }
  }
  const clock = out.oclock !== undefined || out.weekday !== undefined
  const delta = Object.keys(out).some((k) => k in DELTA_MS)
  if (clock && delta) throw bad('mixes an interval with oclock/weekday; use one form')
  if (!clock && !delta) throw bad('is empty; expected e.g. {minutes: 5}')
  if (out.weekday !== undefined && out.oclock === undefined) out.oclock = 4
  return out
}

/** Milliseconds of an interval schedule. */
export function deltaMs(d: DeltaSchedule): number {
  let ms = 0
  for (const k of Object.keys(DELTA_MS) as (keyof DeltaSchedule)[]) ms += (d[k] ?? 0) * DELTA_MS[k]
  return ms
}

function utcDay(d: Date): number {
  return Math.floor(d.getTime() / 86_400_000)
}

/**
 * True when a rule last launched at `lastRun` is due at `now`:
 * * interval: `lastRun + delta < now`;
 * * `{oclock: H}`: not yet run today (UTC) and now is at or past H:00;
 * * `{weekday: W, oclock: H}`: today is W, now is at or past H:00, and not yet run today.
 *
 * @example
 * isDue({ oclock: 3 }, new Date('2026-11-19T01:00:00Z'), new Date('2026-11-20T03:00:00Z')) // true
 */
export function isDue(td: TimeDelta, lastRun: Date, now: Date): boolean {
  if (td.oclock === undefined && td.weekday === undefined) return lastRun.getTime() + deltaMs(td) < now.getTime()
  if (utcDay(now) <= utcDay(lastRun)) return false
  if (td.weekday !== undefined && WEEKDAYS[now.getUTCDay()] !== td.weekday) return false
  return now.getUTCHours() >= (td.oclock ?? 0)
}
