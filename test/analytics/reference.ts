// A naive reference for every analytics question, straight from the event lines by plain loops
// (no DiscoDB, no index): the issue 14 semantics read literally.
import { readFileSync } from 'node:fs'

const DAY = 86_400_000

export interface RefEvent {
  user: string
  event: string
  t: number
  props: Record<string, unknown> | null
  order: number
}

/** Strict timestamp check written independently of the library: round-trip through toISOString. */
function refTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 8.64e15 ? v : undefined
  if (typeof v !== 'string') return undefined
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d\d\d)?Z$/.test(v)) return undefined
  const t = Date.parse(v)
  if (Number.isNaN(t)) return undefined
  const back = new Date(t).toISOString()
  const want = v.length === 20 ? v.slice(0, 19) + '.000Z' : v
  return back === want ? t : undefined
}

/** Valid events of the files, in input order; `invalid` counts the rest (blank lines ignored). */
export function readEvents(paths: string[]): { events: RefEvent[]; invalid: number } {
  const events: RefEvent[] = []
  let invalid = 0
  for (const p of paths) {
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      let r: any
      try { r = JSON.parse(line) } catch { invalid++; continue }
      const user = typeof r?.user === 'string' && r.user !== '' ? r.user : typeof r?.user === 'number' ? String(r.user) : undefined
      const event = typeof r?.event === 'string' && r.event !== '' ? r.event : undefined
      const t = refTime(r?.time)
      if (user === undefined || event === undefined || t === undefined) { invalid++; continue }
      const props = r.props && typeof r.props === 'object' && !Array.isArray(r.props) ? r.props : null
      events.push({ user, event, t, props, order: events.length })
    }
  }
  return { events, invalid }
}

function byUser(events: RefEvent[]): Map<string, RefEvent[]> {
  const m = new Map<string, RefEvent[]>()
  for (const e of events) {
    if (!m.has(e.user)) m.set(e.user, [])
    m.get(e.user)!.push(e)
  }
  for (const list of m.values()) list.sort((a, b) => a.t - b.t || a.order - b.order)
  return m
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

const day = (t: number) => Math.floor(t / DAY)
function monday(d: number): number {
  const wd = new Date(d * DAY).getUTCDay() // 0 Sunday
  return d - ((wd + 6) % 7)
}
function monthStart(d: number): number {
  const x = new Date(d * DAY)
  return Date.UTC(x.getUTCFullYear(), x.getUTCMonth(), 1) / DAY
}
function start(kind: string, d: number): number {
  return kind === 'day' ? d : kind === 'week' ? monday(d) : monthStart(d)
}
function next(kind: string, p: number): number {
  if (kind === 'day') return p + 1
  if (kind === 'week') return p + 7
  const x = new Date(p * DAY)
  return Date.UTC(x.getUTCFullYear(), x.getUTCMonth() + 1, 1) / DAY
}
function add(kind: string, p: number, n: number): number {
  if (n >= 0) { for (let i = 0; i < n; i++) p = next(kind, p); return p }
  for (let i = 0; i < -n; i++) p = start(kind, p - 1)
  return p
}
function name(kind: string, p: number): string {
  const s = new Date(p * DAY).toISOString().slice(0, 10)
  return kind === 'month' ? s.slice(0, 7) : s
}
const dateDay = (s: string) => Date.parse(s + 'T00:00:00Z') / DAY

function med(xs: number[]): number | null {
  if (!xs.length) return null
  const a = [...xs].sort((x, y) => x - y)
  const m = Math.floor(a.length / 2)
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2
}
function avg(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null
}

export interface RefFunnel {
  steps: { event: string; users: number; medianMs: number | null; meanMs: number | null }[]
  groups?: Map<string | null, { users: number; medianMs: number | null; meanMs: number | null }[]>
}

/** The funnel of the semantics; `users` limits to a set of user ids. */
export function refFunnel(events: RefEvent[], p: { steps: string[]; mode: string; windowMs: number; from?: string; to?: string; breakdown?: string }, users?: Set<string>): RefFunnel {
  const lo = p.from ? dateDay(p.from) * DAY : -Infinity
  const hi = p.to ? (dateDay(p.to) + 1) * DAY : Infinity
  const n = p.steps.length
  const counts = new Array(n).fill(0)
  const times: number[][] = Array.from({ length: n }, () => [])
  const groups = new Map<string | null, { c: number[]; t: number[][] }>()
  const grp = (g: string | null) => {
    if (!groups.has(g)) groups.set(g, { c: new Array(n).fill(0), t: Array.from({ length: n }, () => []) })
    return groups.get(g)!
  }
  for (const [u, evs] of byUser(events)) {
    if (users && !users.has(u)) continue
    if (p.mode === 'bitdeli') {
      const did = new Set(evs.map((e) => e.event))
      for (let k = 0; k < n; k++) {
        if (p.steps.slice(0, k + 1).every((s) => did.has(s))) counts[k]++
      }
      continue
    }
    if (p.mode === 'any-order') {
      const best = new Map<string | null, number>()
      for (let i = 0; i < evs.length; i++) {
        const e = evs[i]!
        if (!p.steps.includes(e.event) || e.t < lo || e.t >= hi) continue
        const inWin = evs.filter((x) => x.t >= e.t && x.t <= e.t + p.windowMs)
        // match events to step positions, each event at most once
        const used = new Array(n).fill(false)
        let m = 0
        for (const x of inWin) {
          const k = p.steps.findIndex((s, j) => s === x.event && !used[j])
          if (k >= 0) { used[k] = true; m++ }
        }
        const g = p.breakdown ? text(e.props?.[p.breakdown]) : null
        best.set(g, Math.max(best.get(g) ?? 0, m))
      }
      let all = 0
      for (const [g, m] of best) {
        all = Math.max(all, m)
        if (p.breakdown) for (let k = 0; k < m; k++) grp(g).c[k]++
      }
      for (let k = 0; k < all; k++) counts[k]++
      continue
    }
    // ordered / strict: every attempt, in order
    const first = new Map<string | null, (number | undefined)[]>()
    for (let i = 0; i < evs.length; i++) {
      const e = evs[i]!
      if (e.event !== p.steps[0] || e.t < lo || e.t >= hi) continue
      const g = p.breakdown ? text(e.props?.[p.breakdown]) : null
      if (!first.has(g)) first.set(g, new Array(n).fill(undefined))
      const f = first.get(g)!
      const t0 = e.t
      if (f[0] === undefined) f[0] = 0
      let j = i
      for (let k = 1; k < n; k++) {
        let found = -1
        if (p.mode === 'strict') {
          if (j + 1 < evs.length && evs[j + 1]!.event === p.steps[k] && evs[j + 1]!.t <= t0 + p.windowMs) found = j + 1
        } else {
          for (let x = j + 1; x < evs.length; x++) {
            if (evs[x]!.t > t0 + p.windowMs) break
            if (evs[x]!.event === p.steps[k]) { found = x; break }
          }
        }
        if (found < 0) break
        j = found
        if (f[k] === undefined) f[k] = evs[j]!.t - t0
      }
    }
    // overall: each step's time from the first attempt (over all groups) reaching it
    const overall: (number | undefined)[] = new Array(n).fill(undefined)
    {
      for (let i = 0; i < evs.length; i++) {
        const e = evs[i]!
        if (e.event !== p.steps[0] || e.t < lo || e.t >= hi) continue
        if (overall[0] === undefined) overall[0] = 0
        let j = i
        for (let k = 1; k < n; k++) {
          let found = -1
          if (p.mode === 'strict') {
            if (j + 1 < evs.length && evs[j + 1]!.event === p.steps[k] && evs[j + 1]!.t <= e.t + p.windowMs) found = j + 1
          } else {
            for (let x = j + 1; x < evs.length; x++) {
              if (evs[x]!.t > e.t + p.windowMs) break
              if (evs[x]!.event === p.steps[k]) { found = x; break }
            }
          }
          if (found < 0) break
          j = found
          if (overall[k] === undefined) overall[k] = evs[j]!.t - e.t
        }
      }
    }
    for (let k = 0; k < n; k++) if (overall[k] !== undefined) { counts[k]++; times[k]!.push(overall[k]!) }
    if (p.breakdown) {
      for (const [g, f] of first) {
        const a = grp(g)
        for (let k = 0; k < n; k++) if (f[k] !== undefined) { a.c[k]++; a.t[k]!.push(f[k]!) }
      }
    }
  }
  const timed = p.mode === 'ordered' || p.mode === 'strict'
  const out: RefFunnel = {
    steps: p.steps.map((event, k) => ({ event, users: counts[k], medianMs: timed ? med(times[k]!) : null, meanMs: timed ? avg(times[k]!) : null })),
  }
  if (p.breakdown) {
    out.groups = new Map()
    for (const [g, a] of groups) out.groups.set(g, a.c.map((c, k) => ({ users: c, medianMs: timed ? med(a.t[k]!) : null, meanMs: timed ? avg(a.t[k]!) : null })))
  }
  return out
}

/** Retention rows: [period name, size, cells (null beyond data)]. */
export function refRetention(events: RefEvent[], p: { start: string; ret: string; cohort: string; period: string; mode: string; cohorts: string[]; columns: number }, users?: Set<string>): { period: string; size: number; cells: (number | null)[] }[] {
  const kind = p.period
  const lastData = Math.max(...events.map((e) => day(e.t)))
  const lastP = start(kind, lastData)
  const firstStart = new Map<string, number>()
  const did = new Map<string, Map<number, Set<string>>>() // event → period → users
  const mark = (ev: string, per: number, u: string) => {
    if (!did.has(ev)) did.set(ev, new Map())
    const m = did.get(ev)!
    if (!m.has(per)) m.set(per, new Set())
    m.get(per)!.add(u)
  }
  for (const [u, evs] of byUser(events)) {
    for (const e of evs) {
      mark(e.event, start(kind, day(e.t)), u)
      if (e.event === p.start && !firstStart.has(u)) firstStart.set(u, start(kind, day(e.t)))
    }
  }
  return p.cohorts.map((pn) => {
    const P = start(kind, dateDay(kind === 'month' ? pn + '-01' : pn))
    let cohort: string[]
    if (p.cohort === 'recurring') cohort = [...(did.get(p.start)?.get(P) ?? [])]
    else cohort = [...firstStart].filter(([, q]) => q === P).map(([u]) => u)
    if (users) cohort = cohort.filter((u) => users.has(u))
    const cells: (number | null)[] = [cohort.length]
    for (let n = 1; n < p.columns; n++) {
      const Q = add(kind, P, n)
      if (Q > lastP) { cells.push(p.mode === 'bitdeli' ? 0 : null); continue }
      let c = 0
      for (const u of cohort) {
        let back = false
        if (p.mode === 'on-or-after') {
          for (let q = Q; q <= lastP; q = next(kind, q)) if (did.get(p.ret)?.get(q)?.has(u)) { back = true; break }
        } else back = did.get(p.ret)?.get(Q)?.has(u) ?? false
        if (back) c++
      }
      cells.push(c)
    }
    return { period: name(kind, P), size: cohort.length, cells }
  })
}

/** Trend values per measure (and per group with a breakdown: key `measure|group`). */
export function refTrends(events: RefEvent[], p: { event?: string; period: string; periods: string[]; measures: string[]; breakdown?: string }, users?: Set<string>): Map<string, number[]> {
  const kind = p.period
  const starts = p.periods.map((s) => dateDay(kind === 'month' ? s + '-01' : s))
  const ends = starts.map((s) => next(kind, s) - 1)
  const evs = events.filter((e) => (p.event === undefined || e.event === p.event) && (!users || users.has(e.user)))
  const groupsOf = p.breakdown ? [...new Set(evs.map((e) => text(e.props?.[p.breakdown!])))] : [null]
  const out = new Map<string, number[]>()
  for (const g of groupsOf) {
    const ge = p.breakdown ? evs.filter((e) => text(e.props?.[p.breakdown!]) === g) : evs
    for (const m of p.measures) {
      const vals = starts.map((s, i) => {
        const e = ends[i]!
        if (m === 'total') return ge.filter((x) => day(x.t) >= s && day(x.t) <= e).length
        if (m === 'unique') return new Set(ge.filter((x) => day(x.t) >= s && day(x.t) <= e).map((x) => x.user)).size
        const w = m === 'wau' ? 7 : 30
        return new Set(ge.filter((x) => day(x.t) >= e - w + 1 && day(x.t) <= e).map((x) => x.user)).size
      })
      if (!p.breakdown || vals.some((v) => v > 0)) out.set(p.breakdown ? `${m}|${g}` : m, vals)
    }
  }
  return out
}

/** Users matching a CNF of terms (event names or prop=value, values cut to 64 code points). */
export function refSegment(events: RefEvent[], cnf: [string, boolean][][]): Set<string> {
  const facts = new Map<string, Set<string>>()
  for (const e of events) {
    if (!facts.has(e.user)) facts.set(e.user, new Set())
    const f = facts.get(e.user)!
    f.add('e:' + e.event)
    for (const [k, v] of Object.entries(e.props ?? {})) {
      const t = text(v)
      if (t !== null) f.add(`p:${k}=${[...t].slice(0, 64).join('')}`)
    }
  }
  const eventNames = new Set(events.map((e) => e.event))
  const key = (term: string) => {
    const i = term.indexOf('=')
    if (i > 0 && !eventNames.has(term)) return `p:${term.slice(0, i)}=${[...term.slice(i + 1)].slice(0, 64).join('')}`
    return 'e:' + term
  }
  const out = new Set<string>()
  for (const [u, f] of facts) {
    if (cnf.every((c) => c.some(([t, neg]) => f.has(key(t)) !== neg))) out.add(u)
  }
  return out
}
