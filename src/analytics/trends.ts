// Trends: per day / ISO week / month, total events, unique users, WAU and MAU (rolling 7 / 30 days
// ending on the period's last day), for one event or all; optional breakdown by one property.
import { K, KIND_LETTER, propText } from './format.js'
import { intersectCount, unionAll, type Model, type Shard } from './model.js'
import { badParam, dayParam, enumParam, intParam, segmentRef, sides, type SegmentRef } from './params.js'
import type { Segment } from './segments.js'
import { PERIOD_KINDS, dayName, dayOf, periodAdd, periodEnd, periodLabel, periodName, periodStart, periodsBetween, type PeriodKind } from './time.js'

export type Measure = 'total' | 'unique' | 'wau' | 'mau'
export const MEASURES: readonly Measure[] = ['total', 'unique', 'wau', 'mau']

/** Trends question. */
export interface TrendsParams {
  /** One event name; absent: every event. */
  event?: string
  /** Default ['total', 'unique']. */
  measures?: Measure[]
  /** Default `day`. */
  period?: PeriodKind
  /** Periods holding [from, to]; else the last `last` periods up to the newest data (default 30 days / 12 weeks / 12 months). */
  from?: string
  to?: string
  last?: number
  /** Group events by this property (null when absent). */
  breakdown?: string
  segments?: (string | Segment)[]
}

export interface TrendSeries {
  measure: Measure
  /** The breakdown group (the property's value, null when absent); undefined without a breakdown. */
  group?: string | null
  values: number[]
}

export interface TrendsSide {
  segment: SegmentRef | null
  series: TrendSeries[]
}

export interface TrendsAnswer {
  question: 'trends'
  event: string | null
  period: PeriodKind
  measures: Measure[]
  breakdown: string | null
  periods: { period: string; label: string }[]
  results: TrendsSide[]
}

const ROLL: Record<'wau' | 'mau', number> = { wau: 7, mau: 30 }

/**
 * Answers a trends question (issue 14 semantics).
 * @example
 * const a = await trends(model, { event: 'view', measures: ['unique'], last: 7 })
 * a.results[0].series[0].values // [310, 298, …]
 */
export async function trends(model: Model, params: TrendsParams): Promise<TrendsAnswer> {
  if (!params || typeof params !== 'object') throw badParam('trends: expected parameters')
  const event = params.event === undefined || params.event === null || params.event === '' ? undefined : params.event
  if (event !== undefined && typeof event !== 'string') throw badParam('event: expected an event name')
  const kind = enumParam(params.period, 'period', PERIOD_KINDS, 'day')
  const measures = params.measures === undefined ? (['total', 'unique'] as Measure[]) : params.measures
  if (!Array.isArray(measures) || measures.length === 0) throw badParam('measures: expected a list of total, unique, wau, mau')
  for (const m of measures) enumParam(m, 'measures', MEASURES, 'total')
  const from = dayParam(params.from, 'from')
  const to = dayParam(params.to, 'to')
  if (from !== undefined && to !== undefined && from > to) throw badParam(`from ${params.from} is after to ${params.to}`)
  const last = intParam(params.last, 'last', 1, 5000) ?? (kind === 'day' ? 30 : 12)
  const prop = params.breakdown
  if (prop !== undefined && (typeof prop !== 'string' || prop === '')) throw badParam('breakdown: expected a property name')
  const info = await model.info()
  const shards = await model.shards()
  let periods: number[] = []
  if (from !== undefined || to !== undefined) {
    if (info.lastDay !== null || (from !== undefined && to !== undefined)) periods = periodsBetween(kind, from ?? info.firstDay!, to ?? info.lastDay!)
  } else if (info.lastDay !== null) {
    const newest = periodStart(kind, info.lastDay)
    for (let i = last - 1; i >= 0; i--) periods.push(periodAdd(kind, newest, -i))
  }
  if (periods.length > 5000) throw badParam(`range: expected at most 5000 periods, found ${periods.length}`)
  const L = KIND_LETTER[kind]
  const results: TrendsSide[] = []
  for (const seg of await sides(model, params.segments)) {
    if (prop !== undefined) {
      results.push({ segment: segmentRef(seg), series: await breakdown(shards, seg, event, kind, periods, measures, prop) })
      continue
    }
    const series: TrendSeries[] = measures.map((m) => ({ measure: m, values: periods.map(() => 0) }))
    for (const sh of shards) {
      const within = seg?.users[sh.id]
      let member: Uint8Array | undefined
      if (within) {
        member = new Uint8Array(sh.users + 1)
        for (const g of within) member[g] = 1
      }
      const days = new Map<number, Uint32Array>()
      const dayUsers = (d: number): Uint32Array => {
        let u = days.get(d)
        if (!u) days.set(d, (u = sh.usersOf(K.period('d', dayName(d), event))))
        return u
      }
      for (const s of series) {
        for (let i = 0; i < periods.length; i++) {
          const P = periods[i]!
          const end = periodEnd(kind, P)
          let v = 0
          if (s.measure === 'total') {
            for (let d = P; d <= end; d++) {
              if (!member) v += sh.total(K.total(dayName(d), event))
              else sh.forEachCount(K.counts(dayName(d), event), (g, c) => { if (member![g]) v += c })
            }
          } else if (s.measure === 'unique') {
            const key = K.period(L, periodName(kind, P), event)
            v = within ? intersectCount(sh.usersOf(key), within) : sh.countOf(key)
          } else {
            const lists: Uint32Array[] = []
            for (let d = end - ROLL[s.measure] + 1; d <= end; d++) {
              const u = dayUsers(d)
              if (u.length) lists.push(u)
            }
            const u = unionAll(lists)
            v = within ? intersectCount(u, within) : u.length
          }
          s.values[i]! += v
        }
      }
    }
    results.push({ segment: segmentRef(seg), series })
  }
  return {
    question: 'trends', event: event ?? null, period: kind, measures, breakdown: prop ?? null,
    periods: periods.map((p) => ({ period: periodName(kind, p), label: periodLabel(kind, p) })), results,
  }
}

/** Trends with a breakdown: straight from the timelines of the users active in the window. */
async function breakdown(shards: Shard[], seg: Segment | null, event: string | undefined, kind: PeriodKind, periods: number[], measures: Measure[], prop: string): Promise<TrendSeries[]> {
  const np = periods.length
  const out = new Map<string, TrendSeries>()
  const seriesOf = (m: Measure, g: string | null): TrendSeries => {
    const k = `${m}\u0000${g === null ? '\u0001' : g}`
    let s = out.get(k)
    if (!s) out.set(k, (s = { measure: m, group: g, values: new Array(np).fill(0) }))
    return s
  }
  if (np === 0) return []
  const lo = periods[0]!
  const hi = periodEnd(kind, periods[np - 1]!)
  const ends = periods.map((p) => periodEnd(kind, p))
  const rolls = measures.filter((m): m is 'wau' | 'mau' => m === 'wau' || m === 'mau')
  const earliest = lo - (rolls.includes('mau') ? 29 : rolls.length ? 6 : 0)
  const periodIndex = (d: number): number => {
    const p = periodStart(kind, d)
    let a = 0
    let b = np - 1
    while (a <= b) {
      const m = (a + b) >> 1
      if (periods[m]! === p) return m
      if (periods[m]! < p) a = m + 1
      else b = m - 1
    }
    return -1
  }
  for (const sh of shards) {
    const keys: string[] = []
    for (let d = earliest; d <= hi; d++) keys.push(K.period('d', dayName(d), event))
    let users = sh.usersOfAny(keys)
    const within = seg?.users[sh.id]
    if (within) users = users.filter((g) => hasSorted(within, g))
    for (const g of users) {
      const ev = sh.events(g)
      const seen = new Set<string>()
      const activeDays = new Map<string | null, number[]>()
      for (let i = 0; i < ev.n; i++) {
        if (event !== undefined && ev.events[i] !== event) continue
        const d = dayOf(ev.times[i]!)
        if (d < earliest || d > hi) continue
        const grp = propText(ev.props(i)?.[prop]) ?? null
        const pi = d >= lo ? periodIndex(d) : -1
        if (pi >= 0) {
          if (measures.includes('total')) seriesOf('total', grp).values[pi]!++
          if (measures.includes('unique')) {
            const k = `${pi}\u0000${grp}`
            if (!seen.has(k)) {
              seen.add(k)
              seriesOf('unique', grp).values[pi]!++
            }
          }
        }
        if (rolls.length) {
          let a = activeDays.get(grp)
          if (!a) activeDays.set(grp, (a = []))
          if (a[a.length - 1] !== d) a.push(d)
        }
      }
      for (const [grp, daysList] of activeDays) {
        daysList.sort((x, y) => x - y)
        for (const m of rolls) {
          const s = seriesOf(m, grp)
          for (let i = 0; i < np; i++) {
            const end = ends[i]!
            // any active day in [end - n + 1, end]?
            let a = 0
            let b = daysList.length
            while (a < b) {
              const mid = (a + b) >> 1
              if (daysList[mid]! < end - ROLL[m] + 1) a = mid + 1
              else b = mid
            }
            if (a < daysList.length && daysList[a]! <= end) s.values[i]!++
          }
        }
      }
    }
  }
  const order = (a: TrendSeries, b: TrendSeries): number => {
    const ma = measures.indexOf(a.measure)
    const mb = measures.indexOf(b.measure)
    if (ma !== mb) return ma - mb
    if (a.group === b.group) return 0
    if (a.group === null) return -1
    if (b.group === null) return 1
    return a.group! < b.group! ? -1 : 1
  }
  return [...out.values()].filter((s) => s.values.some((v) => v > 0)).sort(order)
}

function hasSorted(a: Uint32Array, x: number): boolean {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const m = (lo + hi) >>> 1
    if (a[m]! < x) lo = m + 1
    else hi = m
  }
  return lo < a.length && a[lo] === x
}
