// The Disco job behind `analytics build`: map parses and validates events and keys them by user;
// the partitioner sends each user to its shard; reduce folds each user's events into the shard's
// index and, at the end-of-partition marker, writes the index as a blob and reports its URL.
// Workers load this module by path, so everything here is plain functions over JSON params.
import { DiscoDBConstructor } from '../discodb/index.js'
import { openStore } from '../ddfs/index.js'
import { splitCsv } from '../inferno/reading/readers.js'
import type { Emit, TaskContext } from '../disco/index.js'
import { ByteWriter, FORMAT_VERSION, K, encodeCounts, encodeTimeline, propText, shardOf } from './format.js'
import { dayName, dayOf, parseTimestamp, periodName, periodStart } from './time.js'

/** Field names of an event record. A name with dots that is not itself a field is a path. */
export interface EventFields {
  user: string
  event: string
  time: string
  /** The properties object; `*` takes every other top-level field. */
  props: string
}

/** The params of a build job (plain JSON). */
export interface BuildParams {
  fields: EventFields
  format: 'ndjson' | 'csv'
  /** CSV column names; a line equal to `csvHeader` is skipped. */
  csvColumns?: string[]
  csvHeader?: string
  csvDelimiter?: string
  /** Input URL → its rank in input order (blobs oldest first). */
  rank: Record<string, number>
  shards: number
  storeDir: string
  batch: number
  /** Blob name prefix of this model's indexes. */
  blobPrefix: string
  /** The build's pending DDFS write (`Ddfs.beginWrite`): index blobs are stored under it, safe from GC until tagged. */
  writeId: string
}

/** Why events were skipped. */
export interface InvalidCounts {
  json: number
  user: number
  event: number
  time: number
}

/** One map output value: [rank, line, time, event, props-json or ''] . */
type EventValue = [number, number, number, string, string]

const END = '~~end:'
const BAD = '~bad'

function field(rec: Record<string, unknown>, name: string): unknown {
  if (name in rec) return rec[name]
  if (!name.includes('.')) return undefined
  let cur: unknown = rec
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

/** The user id as text: a non-empty string, or a finite number printed. */
function userText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? v : undefined
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return undefined
}

/**
 * Parses one input line into an event, or names why it is invalid.
 * @example parseEvent('{"user":"u1","event":"a","time":0}', p) // ['u1', 0, 'a', '']
 */
export function parseEvent(line: string, p: BuildParams): [string, number, string, string] | keyof InvalidCounts {
  let rec: Record<string, unknown>
  let props: Record<string, unknown> | undefined
  const f = p.fields
  if (p.format === 'csv') {
    const row = splitCsv(line, { delimiter: p.csvDelimiter ?? ',', quotechar: '"' })
    const cols = p.csvColumns ?? []
    if (!row) return 'json'
    rec = {}
    props = {}
    for (let i = 0; i < cols.length; i++) {
      const v = row[i]
      if (v === undefined || v === '') continue
      const name = cols[i]!
      rec[name] = name === f.time && /^-?\d+$/.test(v) ? Number(v) : v
      if (name !== f.user && name !== f.event && name !== f.time) props[name] = v
    }
  } else {
    try {
      const v = JSON.parse(line) as unknown
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'json'
      rec = v as Record<string, unknown>
    } catch {
      return 'json'
    }
    if (f.props === '*') {
      // Every other top-level field is a property (flat records such as click logs).
      props = {}
      for (const k in rec) if (k !== f.user && k !== f.event && k !== f.time) props[k] = rec[k]
    } else {
      const pv = field(rec, f.props)
      if (pv !== null && typeof pv === 'object' && !Array.isArray(pv)) props = pv as Record<string, unknown>
    }
  }
  const user = userText(field(rec, f.user))
  if (user === undefined) return 'user'
  const ev = field(rec, f.event)
  const event = typeof ev === 'string' && ev.length > 0 ? ev : typeof ev === 'number' && Number.isFinite(ev) ? String(ev) : undefined
  if (event === undefined) return 'event'
  const t = parseTimestamp(field(rec, f.time))
  if (t === undefined) return 'time'
  let pj = ''
  if (props) {
    for (const k in props) {
      if (propText(props[k]) !== undefined) {
        pj = JSON.stringify(props)
        break
      }
    }
  }
  return [user, t, event, pj]
}

/** Map (stream form): valid events keyed `u<user>`, invalid ones counted, one end marker per shard. */
export async function map(lines: AsyncIterable<string>, p: BuildParams, emit: Emit, ctx: TaskContext): Promise<void> {
  const rank = p.rank[ctx.input ?? ''] ?? 0
  const bad: InvalidCounts = { json: 0, user: 0, event: 0, time: 0 }
  let n = 0
  for await (const line of lines) {
    n++
    if (line.trim() === '') continue
    if (p.format === 'csv' && line === p.csvHeader) continue
    const e = parseEvent(line, p)
    if (typeof e === 'string') {
      bad[e]++
      continue
    }
    const v: EventValue = [rank, n, e[1], e[2], e[3]]
    emit(`u${e[0]}`, v)
  }
  emit(BAD, bad)
  for (let s = 0; s < p.shards; s++) emit(`${END}${s}`, 0)
}

/** Partitioner: users by shard, markers where they say. */
export function partition(key: string, partitions: number): number {
  if (key.charCodeAt(0) === 0x75) return shardOf(key.slice(1), partitions) // 'u'
  if (key.startsWith(END)) return Number(key.slice(END.length))
  return 0
}

/** What reduce reports per shard. */
export interface ShardReport {
  shard: number
  url: string[]
  users: number
  events: number
  bytes: number
}

/** Builds one shard's index from users arriving one by one. */
class ShardBuilder {
  readonly c = new DiscoDBConstructor()
  readonly users: string[] = []
  readonly timelines: Uint8Array[] = []
  readonly eventCodes = new Map<string, number>()
  readonly eventStats = new Map<string, [events: number, users: number]>()
  readonly propNames = new Set<string>()
  readonly propsIndex = new Map<string, number>()
  readonly propsTable: string[] = []
  /** The `p:` keys of each props table entry (index ref - 1). */
  readonly propsKeys: string[][] = []
  /** counts key → [users, counts]. */
  readonly counts = new Map<string, [number[], number[]]>()
  readonly totals = new Map<string, number>()
  readonly w = new ByteWriter()
  readonly dayNames = new Map<number, [string, string, string]>()
  events = 0
  minTs = Infinity
  maxTs = -Infinity

  names(day: number): [string, string, string] {
    let n = this.dayNames.get(day)
    if (!n) {
      n = [dayName(day), periodName('week', periodStart('week', day)), periodName('month', periodStart('month', day))]
      this.dayNames.set(day, n)
    }
    return n
  }

  add(uid: string, values: Iterable<EventValue>): void {
    const evs = [...values]
    evs.sort((a, b) => a[2] - b[2] || a[0] - b[0] || a[1] - b[1])
    const l = this.users.length + 1
    this.users.push(uid)
    const n = evs.length
    const codes = new Uint32Array(n)
    const times = new Float64Array(n)
    const props = new Uint32Array(n)
    const keys = new Set<string>()
    const dayCounts = new Map<string, number>()
    const seen = new Set<string>()
    for (let i = 0; i < n; i++) {
      const [, , t, e, pj] = evs[i]!
      let code = this.eventCodes.get(e)
      if (code === undefined) {
        code = this.eventCodes.size
        this.eventCodes.set(e, code)
      }
      codes[i] = code
      times[i] = t
      if (pj !== '') {
        let ref = this.propsIndex.get(pj)
        if (ref === undefined) {
          this.propsTable.push(pj)
          ref = this.propsTable.length
          this.propsIndex.set(pj, ref)
          const obj = JSON.parse(pj) as Record<string, unknown>
          const pk: string[] = []
          for (const k in obj) {
            const text = propText(obj[k])
            if (text === undefined) continue
            this.propNames.add(k)
            pk.push(K.prop(k, text))
          }
          this.propsKeys.push(pk)
        }
        props[i] = ref
        for (const k of this.propsKeys[ref - 1]!) keys.add(k)
      }
      if (t < this.minTs) this.minTs = t
      if (t > this.maxTs) this.maxTs = t
      const [d, w, m] = this.names(dayOf(t))
      keys.add(K.event(e))
      keys.add(K.period('d', d, e)).add(K.period('d', d))
      keys.add(K.period('w', w, e)).add(K.period('w', w))
      keys.add(K.period('m', m, e)).add(K.period('m', m))
      if (i === 0) keys.add(K.first('d', d)).add(K.first('w', w)).add(K.first('m', m))
      if (!seen.has(e)) {
        seen.add(e)
        keys.add(K.first('d', d, e)).add(K.first('w', w, e)).add(K.first('m', m, e))
        const st = this.eventStats.get(e)
        if (st) st[1]++
        else this.eventStats.set(e, [0, 1])
      }
      this.eventStats.get(e)![0]++
      for (const ck of [K.counts(d, e), K.counts(d)]) dayCounts.set(ck, (dayCounts.get(ck) ?? 0) + 1)
    }
    this.events += n
    for (const k of keys) this.c.add(k, uid)
    for (const [ck, cnt] of dayCounts) {
      let entry = this.counts.get(ck)
      if (!entry) this.counts.set(ck, (entry = [[], []]))
      entry[0].push(l)
      entry[1].push(cnt)
      this.totals.set(ck, (this.totals.get(ck) ?? 0) + cnt)
    }
    this.timelines.push(encodeTimeline(this.w, l, codes, times, props, n))
  }

  finish(p: BuildParams, shard: number): Uint8Array {
    const c = this.c
    c.add(K.users, this.users)
    c.add(K.timelines, this.timelines)
    for (const [ck, [users, counts]] of this.counts) {
      c.add(ck, encodeCounts(this.w, users, counts))
      c.add(`n:${ck.slice(2)}`, String(this.totals.get(ck)))
    }
    c.add(K.eventNames, JSON.stringify([...this.eventCodes.keys()]))
    c.add(K.propsTable, `[${this.propsTable.join(',')}]`)
    const n = this.users.length
    const meta = {
      version: FORMAT_VERSION, batch: p.batch, shard, shards: p.shards, users: n, events: this.events,
      minTs: n ? this.minTs : null, maxTs: n ? this.maxTs : null,
      eventStats: Object.fromEntries(this.eventStats), propNames: [...this.propNames].sort(),
    }
    c.add(K.meta, JSON.stringify(meta))
    c.add(K.version, FORMAT_VERSION)
    return c.finalize({ disableCompression: true }).dumps()
  }
}

const builders = new Map<string, ShardBuilder>()

/** Reduce: users into the shard builder; `~bad` summed; the end marker writes the index. */
export async function reduce(key: string, values: Iterable<unknown>, p: BuildParams, emit: Emit, ctx: TaskContext): Promise<void> {
  const id = `${ctx.job}/${ctx.task}/${ctx.attempt}`
  let b = builders.get(id)
  if (!b) builders.set(id, (b = new ShardBuilder()))
  if (key.charCodeAt(0) === 0x75) {
    b.add(key.slice(1), values as Iterable<EventValue>)
    return
  }
  if (key === BAD) {
    const sum: InvalidCounts = { json: 0, user: 0, event: 0, time: 0 }
    for (const v of values as Iterable<InvalidCounts>) for (const k of Object.keys(sum) as (keyof InvalidCounts)[]) sum[k] += v[k] ?? 0
    emit('bad', sum)
    return
  }
  if (key.startsWith(END)) {
    for (const _ of values) void _
    builders.delete(id)
    const shard = ctx.partition ?? Number(key.slice(END.length))
    const bytes = b.finish(p, shard)
    const ddfs = openStore(p.storeDir)
    const url = await ddfs.putInWrite(p.writeId, `${p.blobPrefix}-b${p.batch}-s${shard}`, bytes)
    const report: ShardReport = { shard, url: [...url], users: b.users.length, events: b.events, bytes: bytes.length }
    emit(`index:${shard}`, report)
  }
}
