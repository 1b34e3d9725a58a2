// Retention: cohorts (recurring or first-time) by day, ISO week or month, with "on" and
// "on or after" return columns; and Bitdeli's weekly matrix (recurring, weeks +1…+10, normalised
// to the largest cell). All answers are set operations over the period keys of the index.
import { K, KIND_LETTER } from './format.js'
import { intersect, intersectCount, union, type Model, type Shard } from './model.js'
import { badParam, dayParam, enumParam, intParam, segmentRef, sides, stringParam, type SegmentRef } from './params.js'
import type { Segment } from './segments.js'
import { PERIOD_KINDS, dayName, periodAdd, periodLabel, periodName, periodStart, periodsBetween, type PeriodKind } from './time.js'

export type RetentionMode = 'on' | 'on-or-after' | 'bitdeli'
export type CohortKind = 'recurring' | 'first-time'

/** Retention question. */
export interface RetentionParams {
  /** The cohort's event. */
  start: string
  /** The return event (default: the start event). */
  return?: string
  /** Default `recurring`. */
  cohort?: CohortKind
  /** Default `week`. */
  period?: PeriodKind
  /** Default `on`; `bitdeli` gives Bitdeli's normalised weekly matrix. */
  mode?: RetentionMode
  /** Cohort periods: those holding [from, to], else the last `last` (default 10) up to the newest data. */
  from?: string
  to?: string
  last?: number
  /** Columns 0 … columns-1 (default: as many as there are rows). */
  columns?: number
  segments?: (string | Segment)[]
}

/** One cohort row: column 0 is the cohort size; null beyond the data. */
export interface RetentionRow {
  period: string
  label: string
  size: number
  cells: (number | null)[]
  /** cells / size (0 for an empty cohort). */
  rates: (number | null)[]
}

export interface RetentionSide {
  segment: SegmentRef | null
  rows: RetentionRow[]
}

export interface RetentionAnswer {
  question: 'retention'
  start: string
  return: string
  cohort: CohortKind
  period: PeriodKind
  mode: RetentionMode
  columns: number
  results: RetentionSide[]
}

/** Per shard: users whose first-ever `event` falls in each day (multi-batch safe). */
function firstDays(sh: Shard, event: string | undefined, first: number, last: number): Map<number, Uint32Array> {
  const out = new Map<number, Uint32Array>()
  if (sh.parts.length <= 1) {
    for (let d = first; d <= last; d++) {
      const u = sh.usersOf(K.first('d', dayName(d), event))
      if (u.length) out.set(d, u)
    }
    return out
  }
  const seen = new Uint8Array(sh.users + 1)
  for (let d = first; d <= last; d++) {
    const u = sh.usersOf(K.first('d', dayName(d), event))
    const keep: number[] = []
    for (const g of u) if (!seen[g]) { seen[g] = 1; keep.push(g) }
    if (keep.length) out.set(d, Uint32Array.from(keep))
  }
  return out
}

/** mask[g] |= bit for every user g of `users`. */
function orBits(mask: Uint32Array, users: Uint32Array, bit: number): void {
  for (let j = 0; j < users.length; j++) mask[users[j]!]! |= bit
}

/** Counts the users of `c` by their `w` mask bits from bit `shift` on. */
function histogramBits(c: Uint32Array, mask: Uint32Array, shift: number, w: number, hist: Int32Array): void {
  if (shift >= 32) {
    hist[0]! += c.length
    return
  }
  const wmask = (1 << w) - 1
  for (let i = 0; i < c.length; i++) hist[(mask[c[i]!]! >>> shift) & wmask]!++
}

/** Counts the users of `c` by how many periods after `idx` they last returned (capped at `w`; none or earlier: not counted). */
function histogramTop(c: Uint32Array, mask: Uint32Array, idx: number, w: number, hist: Int32Array): void {
  for (let i = 0; i < c.length; i++) {
    const m = mask[c[i]!]!
    const top = m === 0 ? -1 : 31 - Math.clz32(m)
    if (top > idx) hist[top - idx > w ? w : top - idx]!++
  }
}

/**
 * Answers a retention question (issue 14 semantics).
 * @example
 * const a = await retention(model, { start: 'signup', return: 'login', period: 'week', last: 8 })
 * a.results[0].rows[0].cells // [120, 64, 40, …]
 */
export async function retention(model: Model, params: RetentionParams): Promise<RetentionAnswer> {
  if (!params || typeof params !== 'object') throw badParam('retention: expected parameters')
  const start = stringParam(params.start, 'start')
  const ret = params.return === undefined || params.return === '' ? start : stringParam(params.return, 'return')
  const mode = enumParam(params.mode, 'mode', ['on', 'on-or-after', 'bitdeli'] as const, 'on')
  const cohortParam = enumParam(params.cohort, 'cohort', ['recurring', 'first-time'] as const, 'recurring')
  const cohort: CohortKind = mode === 'bitdeli' ? 'recurring' : cohortParam
  const kind = mode === 'bitdeli' ? 'week' : enumParam(params.period, 'period', PERIOD_KINDS, 'week')
  const from = dayParam(params.from, 'from')
  const to = dayParam(params.to, 'to')
  if (from !== undefined && to !== undefined && from > to) throw badParam(`from ${params.from} is after to ${params.to}`)
  const last = intParam(params.last, 'last', 1, 1000) ?? 10
  const info = await model.info()
  const shards = await model.shards()
  const L = KIND_LETTER[kind]
  // Cohort periods.
  let cohorts: number[] = []
  if (info.lastDay !== null) {
    if (mode === 'bitdeli') {
      const newest = periodStart('week', info.lastDay)
      for (let i = 0; i < 10; i++) cohorts.push(periodAdd('week', newest, -i))
    } else if (from !== undefined || to !== undefined) {
      cohorts = periodsBetween(kind, from ?? info.firstDay!, to ?? info.lastDay)
    } else {
      const newest = periodStart(kind, info.lastDay)
      for (let i = last - 1; i >= 0; i--) cohorts.push(periodAdd(kind, newest, -i))
    }
  }
  if (cohorts.length > 1000) throw badParam(`range: expected at most 1000 cohort periods, found ${cohorts.length}`)
  const columns = mode === 'bitdeli' ? 11 : intParam(params.columns, 'columns', 1, 1000) ?? Math.max(1, cohorts.length)
  const lastPeriod = info.lastDay === null ? -Infinity : periodStart(kind, info.lastDay)
  const results: RetentionSide[] = []
  for (const seg of await sides(model, params.segments)) {
    const sizes = cohorts.map(() => 0)
    const cells = cohorts.map(() => new Array<number>(columns).fill(0))
    for (const sh of shards) {
      const within = seg?.users[sh.id]
      const returned = new Map<number, Uint32Array>()
      const returnSet = (p: number): Uint32Array => {
        let r = returned.get(p)
        if (!r) returned.set(p, (r = sh.usersOf(K.period(L, periodName(kind, p), ret))))
        return r
      }
      const after = new Map<number, Uint32Array>()
      const returnFrom = (p: number): Uint32Array => {
        // Users who returned in any period ≥ p that the data covers (built from the newest back).
        if (p > lastPeriod) return new Uint32Array(0)
        let r = after.get(p)
        if (r) return r
        const stack: number[] = []
        for (let q = p; q <= lastPeriod && !after.has(q); q = periodAdd(kind, q, 1)) stack.push(q)
        for (let i = stack.length - 1; i >= 0; i--) {
          const q = stack[i]!
          const next = periodAdd(kind, q, 1)
          const tail = next > lastPeriod ? undefined : after.get(next)
          after.set(q, tail ? union(returnSet(q), tail) : returnSet(q))
        }
        return after.get(p)!
      }
      // Fast path: each user's return periods as bits of one word (periods from the oldest cohort
      // to the last one a cell can reach), then per cohort a histogram of the users' bit patterns:
      // the cells come from the histogram, not from one intersection per cell.
      let mask: Uint32Array | undefined
      const spanIndex = new Map<number, number>()
      if (cohorts.length > 0 && columns - 1 <= 16) {
        const lo = Math.min(...cohorts)
        const hi = mode === 'on-or-after' ? lastPeriod : Math.min(lastPeriod, periodAdd(kind, Math.max(...cohorts), columns - 1))
        const span: number[] = []
        for (let q = lo; q <= hi && span.length <= 32; q = periodAdd(kind, q, 1)) span.push(q)
        if (span.length <= 32) {
          mask = new Uint32Array(sh.users + 1)
          for (let i = 0; i < span.length; i++) {
            spanIndex.set(span[i]!, i)
            orBits(mask, returnSet(span[i]!), (1 << i) >>> 0)
          }
        }
      }
      const W = columns - 1
      const hist = mask ? new Int32Array(mode === 'on-or-after' ? 33 : 1 << W) : undefined
      const sums = new Float64Array(columns)
      let firsts: Map<number, Uint32Array> | undefined
      for (let r = 0; r < cohorts.length; r++) {
        const P = cohorts[r]!
        let c: Uint32Array
        if (cohort === 'recurring') c = sh.usersOf(K.period(L, periodName(kind, P), start))
        else if (sh.parts.length <= 1) c = sh.usersOf(K.first(L, periodName(kind, P), start))
        else {
          firsts ??= info.firstDay === null ? new Map() : firstDays(sh, start, info.firstDay, info.lastDay!)
          const lists: number[] = []
          for (let d = P; d < periodAdd(kind, P, 1); d++) for (const g of firsts.get(d) ?? []) lists.push(g)
          c = Uint32Array.from(lists).sort()
        }
        if (within) c = intersect(c, within)
        sizes[r]! += c.length
        if (c.length === 0) continue
        const row = cells[r]!
        if (mask && hist) {
          const idx = spanIndex.get(P)
          if (idx === undefined) continue // no period after it has data
          hist.fill(0)
          sums.fill(0)
          if (mode === 'on-or-after') {
            // The newest period each user returned in decides every column.
            histogramTop(c, mask, idx, W, hist)
            let acc = 0
            for (let n = W; n >= 1; n--) sums[n] = acc += hist[n]!
          } else {
            histogramBits(c, mask, idx + 1, W, hist)
            for (let pat = 1; pat < hist.length; pat++) {
              const h = hist[pat]!
              if (h === 0) continue
              for (let b = 0; b < W; b++) if ((pat >>> b) & 1) sums[b + 1]! += h
            }
          }
          for (let n = 1; n < columns; n++) {
            if (periodAdd(kind, P, n) > lastPeriod) break
            row[n]! += sums[n]!
          }
          continue
        }
        for (let n = 1; n < columns; n++) {
          const q = periodAdd(kind, P, n)
          if (q > lastPeriod) break
          row[n]! += intersectCount(c, mode === 'on-or-after' ? returnFrom(q) : returnSet(q))
        }
      }
    }
    const rows: RetentionRow[] = cohorts.map((P, r) => {
      const size = sizes[r]!
      const cs: (number | null)[] = cells[r]!.map((v, n) => (n === 0 ? size : periodAdd(kind, P, n) > lastPeriod && mode !== 'bitdeli' ? null : v))
      return { period: periodName(kind, P), label: periodLabel(kind, P), size, cells: cs, rates: cs.map((v) => (v === null ? null : size > 0 ? v / size : 0)) }
    })
    if (mode === 'bitdeli') {
      // Weeks +1 … +10 only, each cell the cohort share, then divided by the largest cell.
      let max = 0
      for (const row of rows) {
        row.cells = row.cells.slice(1)
        row.rates = row.rates.slice(1)
        for (const v of row.rates) if (v! > max) max = v!
      }
      for (const row of rows) row.rates = row.rates.map((v) => (max > 0 ? v! / max : 0))
    }
    results.push({ segment: segmentRef(seg), rows })
  }
  return { question: 'retention', start, return: ret, cohort, period: kind, mode, columns: mode === 'bitdeli' ? 10 : columns, results }
}
