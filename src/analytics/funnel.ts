// Funnels: Bitdeli's unordered "ever did E1 … Ek" (pure set intersections over the index), and
// the windowed ordered / strict / any-order funnels over per-user timelines (issue 14 semantics).
import { K, propText } from './format.js'
import { StepScratch, intersect, unionAll, type Model, type Shard, type UserEvents } from './model.js'
import { badParam, dayParam, durationParam, enumParam, segmentRef, sides, type SegmentRef } from './params.js'
import type { Segment } from './segments.js'
import { DAY_MS, dayName } from './time.js'
import type { ScanResult, ScanTask } from './pool.js'

export type FunnelMode = 'bitdeli' | 'ordered' | 'strict' | 'any-order'
export const FUNNEL_MODES: readonly FunnelMode[] = ['ordered', 'strict', 'any-order', 'bitdeli']
/** Default conversion window: 14 days. */
export const DEFAULT_WINDOW_MS = 14 * DAY_MS

/** Funnel question. */
export interface FunnelParams {
  steps: string[]
  /** Default `ordered`. */
  mode?: FunnelMode
  /** Conversion window: milliseconds, or `14d` / `36h` … (default 14 days). */
  window?: number | string
  /** Step 1 must lie in [from, to] (UTC days, inclusive). */
  from?: string
  to?: string
  /** Group attempts by this property of their step-1 event. */
  breakdown?: string
  /** One or two saved segment names (or loaded segments). */
  segments?: (string | Segment)[]
}

/** One step of a funnel. */
export interface FunnelStep {
  event: string
  users: number
  /** users / users of step 1 (null when step 1 has none). */
  conversion: number | null
  /** users / users of the previous step. */
  stepConversion: number | null
  /** Users of the previous step who did not reach this one (0 for step 1). */
  dropOff: number
  medianMs: number | null
  meanMs: number | null
}

/** A funnel for one side (all users or a segment). */
export interface FunnelSide {
  segment: SegmentRef | null
  steps: FunnelStep[]
  breakdown?: { property: string; groups: { value: string | null; steps: FunnelStep[] }[] }
}

export interface FunnelAnswer {
  question: 'funnel'
  mode: FunnelMode
  steps: string[]
  windowMs: number
  from: string | null
  to: string | null
  results: FunnelSide[]
}

/** Per-step accumulators: users, and times to convert in growable typed arrays. */
class Acc {
  readonly users: number[]
  times: Float64Array[]
  readonly counts: Int32Array
  constructor(n: number) {
    this.users = new Array(n).fill(0)
    this.times = Array.from({ length: n }, () => new Float64Array(16))
    this.counts = new Int32Array(n)
  }
  /** Records the time to convert of one user at step k (k > 0). */
  addTime(k: number, t: number): void {
    let a = this.times[k]!
    const c = this.counts[k]!
    if (c === a.length) {
      const b = new Float64Array(a.length * 2)
      b.set(a)
      this.times[k] = a = b
    }
    a[c] = t
    this.counts[k] = c + 1
  }
  /** Adds a scan's partial answer (steps 2… only; step 1 is counted from the candidates). */
  merge(r: ScanResult): void {
    for (let k = 1; k < this.users.length; k++) {
      this.users[k]! += r.users[k]!
      const t = r.times[k]!
      for (let i = 0; i < r.counts[k]!; i++) this.addTime(k, t[i]!)
    }
  }
  /** Records one user's reached steps (times undefined beyond the last reached). */
  addTimes(t: (number | undefined)[], withTimes: boolean): void {
    for (let k = 0; k < t.length; k++) {
      if (t[k] === undefined) continue
      this.users[k]!++
      // Step 1's time to convert is 0 by definition: not stored.
      if (withTimes && k > 0) this.addTime(k, t[k]!)
    }
  }
  steps(names: string[], withTimes: boolean): FunnelStep[] {
    const u = this.users
    return names.map((event, k) => {
      const times = this.times[k]!.subarray(0, this.counts[k]!)
      return {
        event,
        users: u[k]!,
        conversion: u[0]! > 0 ? u[k]! / u[0]! : null,
        stepConversion: k === 0 ? (u[0]! > 0 ? 1 : null) : u[k - 1]! > 0 ? u[k]! / u[k - 1]! : null,
        dropOff: k === 0 ? 0 : u[k - 1]! - u[k]!,
        medianMs: !withTimes ? null : k === 0 ? (u[0]! > 0 ? 0 : null) : medianOf(times),
        meanMs: !withTimes ? null : k === 0 ? (u[0]! > 0 ? 0 : null) : meanOf(times),
      }
    })
  }
}

/** Median of a typed array (reordered in place by selection, linear time; mean of the two middle values for an even count); null when empty. */
function medianOf(a: Float64Array): number | null {
  const len = a.length
  if (len === 0) return null
  const m = len >> 1
  select(a, m)
  if (len % 2 === 1) return a[m]!
  // After selecting m, everything before it is ≤ a[m]: the largest of them is the lower middle.
  let lower = -Infinity
  for (let i = 0; i < m; i++) if (a[i]! > lower) lower = a[i]!
  return (lower + a[m]!) / 2
}

/** Reorders `a` so that a[k] is the k-th smallest, smaller ones before it, larger after (Hoare's selection). */
function select(a: Float64Array, k: number): void {
  let lo = 0
  let hi = a.length - 1
  while (hi > lo) {
    const mid = (lo + hi) >> 1
    // Median of three as the pivot.
    const x = a[lo]!, y = a[mid]!, z = a[hi]!
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y)
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        const tmp = a[i]!
        a[i] = a[j]!
        a[j] = tmp
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return
  }
}

function meanOf(a: Float64Array): number | null {
  if (a.length === 0) return null
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]!
  return s / a.length
}

/**
 * The ordered / strict funnel of one user without groups (the hot path): each step's time to
 * convert from the first attempt (by t0) that reaches it into `out` (NaN: not reached). Returns
 * how many steps were reached. Same rules as {@link userFunnel}.
 */
export function userFunnelPlain(T: ArrayLike<number>, E: ArrayLike<number>, len: number, steps: ArrayLike<number>, strict: boolean, windowMs: number, lo: number, hi: number, out: Float64Array): number {
  const n = steps.length
  out.fill(NaN, 0, n)
  let reached = 0
  const first = steps[0]!
  for (let i = 0; i < len && reached < n; i++) {
    if (E[i] !== first) continue
    const t0 = T[i]!
    if (t0 < lo || t0 >= hi) continue
    const lim = t0 + windowMs
    if (reached === 0) {
      out[0] = 0
      reached = 1
    }
    let j = i
    for (let k = 1; k < n; k++) {
      const nj = nextStepAt(E, T, len, j, steps[k]!, lim, strict)
      if (nj < 0) break
      j = nj
      if (out[k] !== out[k]) { // NaN: not reached before
        out[k] = T[j]! - t0
        reached++
      }
    }
  }
  return reached
}

/**
 * The index of the event that takes an attempt from event j to step `want`: the next such event
 * at or before `lim` (strict: only the very next event may be it), or -1.
 */
function nextStepAt(E: ArrayLike<number>, T: ArrayLike<number>, len: number, j: number, want: number, lim: number, strict: boolean): number {
  let nj = j + 1
  if (strict) return nj < len && E[nj] === want && T[nj]! <= lim ? nj : -1
  while (nj < len && T[nj]! <= lim && E[nj] !== want) nj++
  return nj < len && T[nj]! <= lim ? nj : -1
}

/** One user's events as funnels see them: times, step-name ids (-1: other events), groups. */
export interface StepEvents {
  n: number
  times: ArrayLike<number>
  ids: ArrayLike<number>
  /** The breakdown group of event i (only asked for when grouping). */
  group(i: number): string | null
}

/** A user's merged events as StepEvents (the general path: several batches, breakdowns). */
function stepEventsOf(ev: UserEvents, names: Map<string, number>, prop: string | undefined): StepEvents {
  const ids = new Int32Array(ev.n)
  for (let i = 0; i < ev.n; i++) ids[i] = names.get(ev.events[i]!) ?? -1
  return { n: ev.n, times: ev.times, ids, group: (i) => (prop === undefined ? null : propText(ev.props(i)?.[prop]) ?? null) }
}

const NO_GROUP = (): null => null

/**
 * Ordered / strict funnel of one user: per group, each step's time to convert from the first
 * attempt (by t0) that reaches it; undefined when no attempt does. `steps` are name ids.
 */
export function userFunnel(ev: StepEvents, steps: number[], strict: boolean, windowMs: number, lo: number, hi: number, grouped: boolean): Map<string | null, (number | undefined)[]> {
  const n = steps.length
  const out = new Map<string | null, (number | undefined)[]>()
  const done = new Map<string | null, number>()
  const T = ev.times
  const E = ev.ids
  const len = ev.n
  const first = steps[0]!
  for (let i = 0; i < len; i++) {
    if (E[i] !== first || T[i]! < lo || T[i]! >= hi) continue
    const g = grouped ? ev.group(i) : null
    let st = out.get(g)
    if (!st) {
      out.set(g, (st = new Array(n).fill(undefined)))
      done.set(g, 0)
    }
    if (done.get(g) === n) {
      if (!grouped) break
      continue
    }
    const t0 = T[i]!
    const lim = t0 + windowMs
    let reached = done.get(g)!
    if (st[0] === undefined) {
      st[0] = 0
      reached++
    }
    let j = i
    for (let k = 1; k < n; k++) {
      const nj = nextStepAt(E, T, len, j, steps[k]!, lim, strict)
      if (nj < 0) break
      j = nj
      if (st[k] === undefined) {
        st[k] = T[j]! - t0
        reached++
      }
    }
    done.set(g, reached)
  }
  return out
}

/**
 * Any-order funnel of one user: per group, the most distinct steps done inside one window that
 * starts at a step event in [lo, hi). `need[id]` is how often step name `id` appears in the steps
 * (a repeated step name needs as many events).
 */
export function userAnyOrder(ev: StepEvents, need: number[], total: number, windowMs: number, lo: number, hi: number, grouped: boolean): Map<string | null, number> {
  const T = ev.times
  const ids = ev.ids
  const len = ev.n
  const have = new Int32Array(need.length)
  const out = new Map<string | null, number>()
  for (let i = 0; i < len; i++) {
    if (ids[i]! < 0 || T[i]! < lo || T[i]! >= hi) continue
    const g = grouped ? ev.group(i) : null
    const best = out.get(g) ?? 0
    if (best === total) {
      if (!grouped) break
      continue
    }
    let s = i
    while (s > 0 && T[s - 1] === T[i]) s--
    have.fill(0)
    let matched = 0
    const lim = T[i]! + windowMs
    for (let j = s; j < len && T[j]! <= lim; j++) {
      const c = ids[j]!
      if (c >= 0 && have[c]! < need[c]!) {
        have[c]!++
        matched++
      }
    }
    if (matched > best) out.set(g, matched)
  }
  return out
}

/** Checks the question. */
function check(p: FunnelParams): { steps: string[]; mode: FunnelMode; windowMs: number; lo: number; hi: number; from?: number; to?: number } {
  if (!p || !Array.isArray(p.steps) || p.steps.length < 1 || p.steps.length > 32) throw badParam('steps: expected 1 to 32 event names')
  for (const s of p.steps) if (typeof s !== 'string' || s === '') throw badParam(`steps: expected non-empty event names, found ${JSON.stringify(s)}`)
  const mode = enumParam(p.mode, 'mode', FUNNEL_MODES, 'ordered')
  const windowMs = durationParam(p.window, 'window') ?? DEFAULT_WINDOW_MS
  const from = dayParam(p.from, 'from')
  const to = dayParam(p.to, 'to')
  if (from !== undefined && to !== undefined && from > to) throw badParam(`from ${p.from} is after to ${p.to}`)
  if (p.breakdown !== undefined && (typeof p.breakdown !== 'string' || p.breakdown === '')) throw badParam('breakdown: expected a property name')
  if (p.breakdown !== undefined && mode === 'bitdeli') throw badParam('breakdown: not available in bitdeli mode (it has no events to group)')
  const r: ReturnType<typeof check> = {
    steps: p.steps, mode, windowMs,
    lo: from === undefined ? -Infinity : from * DAY_MS, hi: to === undefined ? Infinity : (to + 1) * DAY_MS,
  }
  if (from !== undefined) r.from = from
  if (to !== undefined) r.to = to
  return r
}

/** Users who did `event` with a day in [from, to] (or ever); the union of the days is kept in the model's list cache. */
function didIn(sh: Shard, event: string, from: number | undefined, to: number | undefined, first: number | null, last: number | null): Uint32Array {
  if (from === undefined && to === undefined) return sh.usersOf(K.event(event))
  if (first === null || last === null) return new Uint32Array(0)
  const a = Math.max(from ?? first, first)
  const b = Math.min(to ?? last, last)
  return sh.derived(`did:${a}:${b}:${event}`, () => {
    const keys: string[] = []
    for (let d = a; d <= b; d++) keys.push(K.period('d', dayName(d), event))
    return sh.usersOfAny(keys)
  })
}

/**
 * Answers a funnel question (issue 14 semantics), for all users or per segment.
 * @example
 * const a = await funnel(model, { steps: ['signup', 'purchase'], window: '7d' })
 * a.results[0].steps[1].conversion // 0.42
 */
export async function funnel(model: Model, params: FunnelParams): Promise<FunnelAnswer> {
  const q = check(params)
  const info = await model.info()
  const shards = await model.shards()
  const { steps, mode } = q
  const n = steps.length
  const prop = params.breakdown
  // Step names as ids: each distinct name once; `need` counts repeats (any-order).
  const names = new Map<string, number>()
  const need: number[] = []
  const stepIds = steps.map((s) => {
    let id = names.get(s)
    if (id === undefined) {
      names.set(s, (id = need.length))
      need.push(0)
    }
    need[id]!++
    return id
  })
  const stepIdArr = Int32Array.from(stepIds)
  const reachedTimes = new Float64Array(n)
  const scratch = new StepScratch()
  const fastView: StepEvents = { n: 0, times: scratch.times, ids: scratch.ids, group: NO_GROUP }
  const results: FunnelSide[] = []
  const sideList = await sides(model, params.segments)
  for (const seg of sideList) {
    const acc = new Acc(n)
    const groups = new Map<string | null, Acc>()
    const withTimes = mode === 'ordered' || mode === 'strict'
    const plainJobs: { sh: Shard; timed: Uint32Array }[] = []
    for (const sh of shards) {
      const within = seg?.users[sh.id]
      if (mode === 'bitdeli') {
        bitdeliShard(sh, steps, within, acc.users)
        continue
      }
      // Candidates: users with a step-1 event (any step event for any-order) in the range.
      const entry = mode === 'any-order' ? [...new Set(steps)] : [steps[0]!]
      const lists = entry.map((e) => didIn(sh, e, q.from, q.to, info.firstDay, info.lastDay))
      let cands = lists.length === 1 ? lists[0]! : unionAll(lists)
      if (within) cands = intersect(cands, within)
      let timed = cands
      if (prop === undefined) {
        // Without a breakdown every candidate reaches step 1; timelines only for possible step 2.
        acc.users[0]! += cands.length
        timed = n > 1 && mode !== 'any-order' ? intersect(cands, sh.usersOf(K.event(steps[1]!))) : mode === 'any-order' && n > 1 ? cands : new Uint32Array(0)
      }
      if (prop === undefined) {
        plainJobs.push({ sh, timed })
        continue
      }
      for (let x = 0; x < timed.length; x++) {
        const g = timed[x]!
        let ev: StepEvents
        const fast = prop === undefined ? sh.stepEvents(g, names, scratch) : -1
        if (fast >= 0) {
          fastView.n = fast
          fastView.times = scratch.times
          fastView.ids = scratch.ids
          ev = fastView
        } else ev = stepEventsOf(sh.events(g), names, prop)
        if (prop === undefined && mode !== 'any-order') {
          userFunnelPlain(ev.times, ev.ids, ev.n, stepIdArr, mode === 'strict', q.windowMs, q.lo, q.hi, reachedTimes)
          // Step 1 is already counted; times only for steps 2 and on.
          for (let k = 1; k < n; k++) {
            const t = reachedTimes[k]!
            if (t !== t) continue
            acc.users[k]!++
            acc.addTime(k, t)
          }
        } else if (mode === 'any-order') {
          for (const [grp, m] of userAnyOrder(ev, need, n, q.windowMs, q.lo, q.hi, prop !== undefined)) {
            const a = prop === undefined ? acc : groupAcc(groups, grp, n)
            for (let k = prop === undefined ? 1 : 0; k < m; k++) a.users[k]!++
          }
        } else {
          for (const [grp, t] of userFunnel(ev, stepIds, mode === 'strict', q.windowMs, q.lo, q.hi, prop !== undefined)) {
            if (prop === undefined) {
              t[0] = undefined // step 1 already counted
              acc.addTimes(t, withTimes)
            } else groupAcc(groups, grp, n).addTimes(t, withTimes)
          }
        }
      }
    }
    if (plainJobs.length > 0 && mode !== 'bitdeli') {
      // The per-user scans, shared with the scan workers: shard i goes to worker i mod (threads
      // + 1), the last slot being this thread; workers' tasks are posted first.
      const pool = model.pool()
      const slots = (pool?.size ?? 0) + 1
      const waits: Promise<ScanResult>[] = []
      const mine: typeof plainJobs = []
      plainJobs.forEach((j, i) => {
        const part = j.sh.parts[0]!
        const slot = i % slots
        // Workers open one-batch shards only (several batches need the user renumbering).
        if (!pool || slot === slots - 1 || j.sh.parts.length !== 1 || !(part.bytes?.buffer instanceof SharedArrayBuffer)) {
          mine.push(j)
          return
        }
        waits.push(pool.run(slot, {
          shard: j.sh.id, names: [...names], mode, steps: stepIdArr, need, windowMs: q.windowMs, lo: q.lo, hi: q.hi, timed: j.timed,
        }, () => ({ bytes: part.bytes!, label: part.label })))
      })
      for (const j of mine) plainShard(j.sh, j.timed, names, mode, stepIdArr, need, q.windowMs, q.lo, q.hi, scratch, reachedTimes, acc)
      for (const r of await Promise.all(waits)) acc.merge(r)
    }
    const side: FunnelSide = { segment: segmentRef(seg), steps: [] }
    if (prop === undefined) side.steps = acc.steps(steps, withTimes)
    else {
      const vals = [...groups.keys()].sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1))
      side.breakdown = { property: prop, groups: vals.map((v) => ({ value: v, steps: groups.get(v)!.steps(steps, withTimes) })) }
    }
    results.push(side)
  }
  if (prop !== undefined) {
    // Overall rows for a breakdown question: the same question without the breakdown.
    const { breakdown: _b, ...plain } = params
    const overall = await funnel(model, { ...plain, segments: sideList.filter((x): x is Segment => x !== null) })
    for (let i = 0; i < results.length; i++) results[i]!.steps = overall.results[i]!.steps
  }
  return {
    question: 'funnel', mode, steps, windowMs: q.windowMs,
    from: q.from === undefined ? null : dayName(q.from), to: q.to === undefined ? null : dayName(q.to), results,
  }
}

/**
 * The hot loop without a breakdown on a one-batch shard: each user's timeline decoded into the
 * scratch arrays, the plain per-user funnel, counts and times into `acc` (step 1 already counted).
 */
function plainShard(sh: Shard, timed: Uint32Array, names: Map<string, number>, mode: FunnelMode, steps: Int32Array, need: number[],
  windowMs: number, lo: number, hi: number, scratch: StepScratch, reached: Float64Array, acc: Acc): void {
  const n = steps.length
  const strict = mode === 'strict'
  const needArr = Int32Array.from(need)
  const have = new Int32Array(need.length)
  for (let x = 0; x < timed.length; x++) {
    const len = sh.stepEvents(timed[x]!, names, scratch)
    if (mode === 'any-order') {
      const m = userAnyOrderPlain(scratch.times, scratch.ids, len, needArr, n, windowMs, lo, hi, have)
      for (let k = 1; k < m; k++) acc.users[k]!++
      continue
    }
    userFunnelPlain(scratch.times, scratch.ids, len, steps, strict, windowMs, lo, hi, reached)
    for (let k = 1; k < n; k++) {
      const t = reached[k]!
      if (t !== t) continue
      acc.users[k]!++
      acc.addTime(k, t)
    }
  }
}

/**
 * Bitdeli steps of one shard: step k counts users who did steps 1…k. Each user's level (how many
 * steps in a row they did so far) is one byte, so step k is one pass over its list — no merge of
 * two lists and nothing allocated per step; a step every user did is skipped, not decoded.
 */
function bitdeliShard(sh: Shard, steps: string[], within: Uint32Array | undefined, users: number[]): void {
  const level = new Uint8Array(sh.users + 1)
  let base = 0
  let prev = sh.users
  if (within) {
    for (let i = 0; i < within.length; i++) level[within[i]!] = 1
    base = 1
    prev = within.length
  }
  for (let k = 0; k < steps.length; k++) {
    const key = K.event(steps[k]!)
    if (sh.users > 0 && sh.countOf(key) === sh.users) {
      users[k]! += prev
      continue
    }
    prev = advance(level, sh.usersOf(key), base++)
    users[k]! += prev
    if (prev === 0) return
  }
}

/** Moves the users of `list` at level `at` up one level; returns how many moved. */
function advance(level: Uint8Array, list: Uint32Array, at: number): number {
  let moved = 0
  for (let i = 0; i < list.length; i++) {
    const g = list[i]!
    if (level[g] === at) {
      level[g] = at + 1
      moved++
    }
  }
  return moved
}

/** A scan worker's task: the plain loop over one shard's users, as a partial answer. */
export function scanPlain(sh: Shard, t: ScanTask): ScanResult {
  const n = t.steps.length
  const acc = new Acc(n)
  plainShard(sh, t.timed, new Map(t.names), t.mode, t.steps, t.need, t.windowMs, t.lo, t.hi, new StepScratch(), new Float64Array(n), acc)
  return { users: acc.users, times: acc.times.map((a, k) => a.slice(0, acc.counts[k]!)), counts: acc.counts }
}

/** {@link userAnyOrder} without groups: the most distinct steps done inside one window. */
export function userAnyOrderPlain(T: Float64Array, ids: Int32Array, len: number, need: Int32Array, total: number, windowMs: number, lo: number, hi: number, have: Int32Array): number {
  let best = 0
  for (let i = 0; i < len && best < total; i++) {
    const ti = T[i]!
    if (ids[i]! < 0 || ti < lo || ti >= hi) continue
    let s = i
    while (s > 0 && T[s - 1] === ti) s--
    have.fill(0)
    let matched = 0
    const lim = ti + windowMs
    for (let j = s; j < len && T[j]! <= lim; j++) {
      const c = ids[j]!
      if (c >= 0 && have[c]! < need[c]!) {
        have[c]!++
        matched++
      }
    }
    if (matched > best) best = matched
  }
  return best
}

function groupAcc(groups: Map<string | null, Acc>, g: string | null, n: number): Acc {
  let a = groups.get(g)
  if (!a) groups.set(g, (a = new Acc(n)))
  return a
}
