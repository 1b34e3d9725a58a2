// The Disco job behind `analytics build`: map parses and validates events and keys them by user;
// the partitioner sends each user to its shard; reduce folds each user's events into the shard's
// index and, at the end-of-partition marker, writes the index as a blob and reports its URL.
// Workers load this module by path, so everything here is plain functions over JSON params.
import { DiscoDBConstructor } from '../discodb/index.js'
import { DiscoError } from '../errors.js'
import { LineSplitter } from '../ddfs/index.js'
import { FieldScanner, SCAN_BAD, SCAN_OK } from '../util/json-fields.js'
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
  return eventOf(field(rec, f.user), field(rec, f.event), field(rec, f.time), props)
}

/** An event from its field values, or why it is invalid. */
function eventOf(u: unknown, ev: unknown, time: unknown, props: Record<string, unknown> | undefined): [string, number, string, string] | keyof InvalidCounts {
  const user = userText(u)
  if (user === undefined) return 'user'
  const event = typeof ev === 'string' && ev.length > 0 ? ev : typeof ev === 'number' && Number.isFinite(ev) ? String(ev) : undefined
  if (event === undefined) return 'event'
  const t = parseTimestamp(time)
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

/** Map (bytes form): NDJSON lines split and scanned on bytes (only the four fields are decoded), CSV lines as text. */
export async function map(chunks: AsyncIterable<Uint8Array>, p: BuildParams, emit: Emit, ctx: TaskContext): Promise<void> {
  const rank = p.rank[ctx.input ?? ''] ?? 0
  const bad: InvalidCounts = { json: 0, user: 0, event: 0, time: 0 }
  const f = p.fields
  // The scanner reads top-level fields; a dotted path that is no top-level field, or `*`
  // properties, take the full parser for that line.
  const scanner = p.format === 'ndjson' && f.props !== '*' ? new FieldScanner([f.user, f.event, f.time, f.props]) : undefined
  const dotted = [f.user, f.event, f.time, f.props].map((x) => x.includes('.'))
  const vals: unknown[] = []
  let n = 0
  const text = (line: string): void => {
    if (line.trim() === '') return
    if (p.format === 'csv' && line === p.csvHeader) return
    put(parseEvent(line, p))
  }
  const put = (e: ReturnType<typeof parseEvent>): void => {
    if (typeof e === 'string') {
      bad[e]++
      return
    }
    const v: EventValue = [rank, n, e[1], e[2], e[3]]
    emit(`u${e[0]}`, v)
  }
  const sink = (buf: Buffer, start: number, end: number): void => {
    n++
    if (!scanner) return text(buf.toString('utf8', start, end))
    const r = scanner.scan(buf, start, end, vals)
    if (r === SCAN_BAD) {
      // Blank lines are not events (the scanner calls them malformed).
      for (let i = start; i < end; i++) {
        const c = buf[i]!
        if (c !== 32 && c !== 9 && c !== 13) {
          bad.json++
          return
        }
      }
      return
    }
    if (r !== SCAN_OK || (dotted[0] && vals[0] === undefined) || (dotted[1] && vals[1] === undefined) || (dotted[2] && vals[2] === undefined) || (dotted[3] && vals[3] === undefined)) {
      return text(buf.toString('utf8', start, end))
    }
    // Integers beyond 2^53 come as bigints: as JSON.parse reads them, the nearest double.
    for (let i = 0; i < 3; i++) if (typeof vals[i] === 'bigint') vals[i] = Number(vals[i])
    const pv = vals[3]
    let e: ReturnType<typeof parseEvent>
    try {
      e = eventOf(vals[0], vals[1], vals[2], pv !== null && typeof pv === 'object' && !Array.isArray(pv) ? pv as Record<string, unknown> : undefined)
    } catch {
      // Properties holding bigints (JSON.stringify refuses them): the full parser's reading.
      return text(buf.toString('utf8', start, end))
    }
    put(e)
  }
  const lines = ctx.lines ?? {}
  const split = new LineSplitter(lines.maxLine, lines.onTooLong)
  for await (const chunk of chunks) split.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), sink)
  split.end(sink)
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

/** Keys of one (day, event) pair, as key ids. */
interface DayEventKeys {
  /** d:day:e, d:day, w:week:e, w:week, m:month:e, m:month */
  period: Int32Array
  /** fd:day:e, fw:week:e, fm:month:e */
  firstOfEvent: Int32Array
  /** c:day:e, c:day */
  counts: Int32Array
}

/**
 * Builds one shard's index from users arriving one by one. Keys are numbered as they are first
 * met and their users collected as ascending user numbers (a stamp per key skips repeats within a
 * user), so the per-event work is array lookups; the DiscoDB is filled once, at the end.
 */
class ShardBuilder {
  readonly users: string[] = []
  readonly timelines: Uint8Array[] = []
  readonly eventCodes = new Map<string, number>()
  readonly eventNames: string[] = []
  /** Per event code: [events, users]. */
  readonly eventStats: [number, number][] = []
  /** Per event code: the user number that last did it (first-time keys once per user). */
  eventStamp = new Int32Array(64)
  /** Per event code: its `e:` key id. */
  readonly eventKey: number[] = []
  readonly propNames = new Set<string>()
  readonly propsIndex = new Map<string, number>()
  readonly propsTable: string[] = []
  /** The `p:` key ids of each props table entry (index ref - 1). */
  readonly propsKeys: Int32Array[] = []
  readonly keyIds = new Map<string, number>()
  readonly keyNames: string[] = []
  /** Per key id: its users (ascending user numbers), or for a counts key the (user, count) pairs. */
  readonly keyUsers: number[][] = []
  keyStamp = new Int32Array(1024)
  /** Per counts key id: count of the current user, and the total. */
  keyCount = new Float64Array(1024)
  readonly w = new ByteWriter()
  readonly days = new Map<number, { names: [string, string, string]; any: Int32Array; perEvent: (DayEventKeys | undefined)[] }>()
  events = 0
  minTs = Infinity
  maxTs = -Infinity

  /** The id of key `name` (new keys get the next id). */
  key(name: string): number {
    let id = this.keyIds.get(name)
    if (id === undefined) {
      id = this.keyNames.length
      this.keyIds.set(name, id)
      this.keyNames.push(name)
      this.keyUsers.push([])
      if (id >= this.keyStamp.length) {
        const st = new Int32Array(this.keyStamp.length * 2)
        st.set(this.keyStamp)
        this.keyStamp = st
        const kc = new Float64Array(this.keyCount.length * 2)
        kc.set(this.keyCount)
        this.keyCount = kc
      }
    }
    return id
  }

  day(d: number): { names: [string, string, string]; any: Int32Array; perEvent: (DayEventKeys | undefined)[] } {
    let x = this.days.get(d)
    if (!x) {
      const names: [string, string, string] = [dayName(d), periodName('week', periodStart('week', d)), periodName('month', periodStart('month', d))]
      const [dn, wn, mn] = names
      const any = Int32Array.of(this.key(K.first('d', dn)), this.key(K.first('w', wn)), this.key(K.first('m', mn)))
      x = { names, any, perEvent: [] }
      this.days.set(d, x)
    }
    return x
  }

  dayEvent(d: number, code: number): DayEventKeys {
    const x = this.day(d)
    let k = x.perEvent[code]
    if (!k) {
      const e = this.eventNames[code]!
      const [dn, wn, mn] = x.names
      k = {
        period: Int32Array.of(
          this.key(K.period('d', dn, e)), this.key(K.period('d', dn)), this.key(K.period('w', wn, e)),
          this.key(K.period('w', wn)), this.key(K.period('m', mn, e)), this.key(K.period('m', mn)),
        ),
        firstOfEvent: Int32Array.of(this.key(K.first('d', dn, e)), this.key(K.first('w', wn, e)), this.key(K.first('m', mn, e))),
        counts: Int32Array.of(this.key(K.counts(dn, e)), this.key(K.counts(dn))),
      }
      x.perEvent[code] = k
    }
    return k
  }

  /** Adds key `id` for user `l` (once per user). */
  mark(id: number, l: number): void {
    if (this.keyStamp[id] === l) return
    this.keyStamp[id] = l
    this.keyUsers[id]!.push(l)
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
    const touched: number[] = []
    for (let i = 0; i < n; i++) {
      const [, , t, e, pj] = evs[i]!
      let code = this.eventCodes.get(e)
      if (code === undefined) {
        code = this.eventNames.length
        this.eventCodes.set(e, code)
        this.eventNames.push(e)
        this.eventStats.push([0, 0])
        this.eventKey.push(this.key(K.event(e)))
        if (code >= this.eventStamp.length) {
          const st = new Int32Array(this.eventStamp.length * 2)
          st.set(this.eventStamp)
          this.eventStamp = st
        }
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
          const pk: number[] = []
          for (const k in obj) {
            const text = propText(obj[k])
            if (text === undefined) continue
            this.propNames.add(k)
            pk.push(this.key(K.prop(k, text)))
          }
          this.propsKeys.push(Int32Array.from(pk))
        }
        props[i] = ref
        for (const id of this.propsKeys[ref - 1]!) this.mark(id, l)
      }
      if (t < this.minTs) this.minTs = t
      if (t > this.maxTs) this.maxTs = t
      const d = dayOf(t)
      const dk = this.dayEvent(d, code)
      for (const id of dk.period) this.mark(id, l)
      if (i === 0) for (const id of this.day(d).any) this.mark(id, l)
      const st = this.eventStats[code]!
      if (this.eventStamp[code] !== l) {
        this.eventStamp[code] = l
        this.mark(this.eventKey[code]!, l)
        for (const id of dk.firstOfEvent) this.mark(id, l)
        st[1]++
      }
      st[0]++
      for (const id of dk.counts) {
        if (this.keyStamp[id] !== l) {
          this.keyStamp[id] = l
          this.keyCount[id] = 0
          touched.push(id)
        }
        this.keyCount[id]++
      }
    }
    this.events += n
    for (const id of touched) {
      const list = this.keyUsers[id]!
      list.push(l, this.keyCount[id]!)
    }
    this.timelines.push(encodeTimeline(this.w, l, codes, times, props, n))
  }

  finish(p: BuildParams, shard: number): Uint8Array {
    const c = new DiscoDBConstructor()
    // Users first (value IDs 1..N), their timelines next (N+1..2N): see the format.
    c.add(K.users, this.users)
    c.add(K.timelines, this.timelines)
    const users = this.users
    for (let id = 0; id < this.keyNames.length; id++) {
      const list = this.keyUsers[id]!
      const name = this.keyNames[id]!
      if (name.startsWith('c:')) {
        const us: number[] = []
        const cs: number[] = []
        let total = 0
        for (let i = 0; i < list.length; i += 2) {
          us.push(list[i]!)
          cs.push(list[i + 1]!)
          total += list[i + 1]!
        }
        c.add(name, encodeCounts(this.w, us, cs))
        c.add(`n:${name.slice(2)}`, String(total))
        continue
      }
      const uids = new Array<string>(list.length)
      for (let i = 0; i < list.length; i++) uids[i] = users[list[i]! - 1]!
      c.add(name, uids)
    }
    c.add(K.eventNames, JSON.stringify(this.eventNames))
    c.add(K.propsTable, `[${this.propsTable.join(',')}]`)
    const n = this.users.length
    const meta = {
      version: FORMAT_VERSION, batch: p.batch, shard, shards: p.shards, users: n, events: this.events,
      minTs: n ? this.minTs : null, maxTs: n ? this.maxTs : null,
      eventStats: Object.fromEntries(this.eventNames.map((e, code) => [e, this.eventStats[code]!])), propNames: [...this.propNames].sort(),
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
    const ddfs = ctx.ddfs
    if (!ddfs) throw new DiscoError('ANALYTICS_STORE_UNSUPPORTED', 'expected the task context to carry the job\'s DDFS store, found none')
    const url = await ddfs.putInWrite(p.writeId, `${p.blobPrefix}-b${p.batch}-s${shard}`, bytes)
    const report: ShardReport = { shard, url: [...url], users: b.users.length, events: b.events, bytes: bytes.length }
    emit(`index:${shard}`, report)
  }
}
