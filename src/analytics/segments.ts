// Segments: boolean queries over the model (the project's Q language, or Bitdeli's row form),
// evaluated per shard into user sets, and saved as DiscoDB key sets (user id → no values) under a
// tag with a label and a size. Questions take one or two segments and answer for each.
import { DiscoDB, Q } from '../discodb/index.js'
import { checkTagName } from '../ddfs/index.js'
import { DiscoError, isDiscoError } from '../errors.js'
import { K, shardOf } from './format.js'
import { complement, emptyIds, intersect, minus, unionAll, type Model, type Shard } from './model.js'

/** A CNF over model terms: clauses of [term, negated]; a term is an event name or `prop=value`. */
export type Cnf = Array<Array<[term: string, negated: boolean]>>

/** How a segment is defined: Q text, or Bitdeli rows (ANDed tokens; `A OR B`; `NOT x`). */
export type SegmentDef = { q: string } | { rows: string[] }

/** A segment ready to filter questions: users per shard. */
export interface Segment {
  name: string
  label: string
  size: number
  /** Ascending user numbers per shard. */
  users: Uint32Array[]
}

const decoder = new TextDecoder()

/**
 * Parses a segment definition into CNF (ANALYTICS_BAD_SEGMENT on bad syntax).
 * @example toCnf({ rows: ['signup', 'country=US OR country=FI', 'NOT plan=free'] })
 * // [[['signup', false]], [['country=US', false], ['country=FI', false]], [['plan=free', true]]]
 */
export function toCnf(def: SegmentDef): Cnf {
  if (def && typeof def === 'object' && 'q' in def && typeof def.q === 'string') {
    try {
      return Q.parse(def.q).toCnf().map((c) => c.map(([t, n]): [string, boolean] => [decoder.decode(t), n]))
    } catch (e) {
      if (isDiscoError(e)) throw new DiscoError('ANALYTICS_BAD_SEGMENT', `segment query ${JSON.stringify(def.q)}: ${e.message}`, { cause: e })
      throw e
    }
  }
  if (def && typeof def === 'object' && 'rows' in def && Array.isArray(def.rows)) {
    const cnf: Cnf = []
    for (const row of def.rows) {
      if (typeof row !== 'string' || row.trim() === '') throw new DiscoError('ANALYTICS_BAD_SEGMENT', `segment row: expected a non-empty string, found ${JSON.stringify(row)}`)
      cnf.push(row.split(' OR ').map((lit): [string, boolean] => {
        const t = lit.trim()
        if (t.startsWith('NOT ')) return [t.slice(4).trim(), true]
        return [t, false]
      }))
      for (const [t] of cnf[cnf.length - 1]!) if (t === '') throw new DiscoError('ANALYTICS_BAD_SEGMENT', `segment row ${JSON.stringify(row)}: empty term`)
    }
    return cnf
  }
  throw new DiscoError('ANALYTICS_BAD_SEGMENT', 'segment: expected { q: "…" } or { rows: ["…"] }')
}

/** The key of a term: `prop=value` when it has `=` and is not an event name, else the event. */
export function termKey(term: string, events: ReadonlySet<string>): string {
  const eq = term.indexOf('=')
  if (eq > 0 && !events.has(term)) return K.prop(term.slice(0, eq), term.slice(eq + 1))
  return K.event(term)
}

/** Users of one shard matching `cnf`; `~X` ranges over the shard's users. An empty CNF is everyone. */
export function evaluateCnf(shard: Shard, cnf: Cnf, events: ReadonlySet<string>): Uint32Array {
  // Clauses without negation first (they only narrow), a lone `~X` clause as a difference last:
  // no complement of a large list is ever built for it.
  const plain = cnf.filter((c) => c.every(([, neg]) => !neg))
  const lone = cnf.filter((c) => c.length === 1 && c[0]![1])
  const rest = cnf.filter((c) => !plain.includes(c) && !lone.includes(c))
  let acc: Uint32Array | undefined
  for (const clause of [...plain, ...rest]) {
    const lists: Uint32Array[] = []
    for (const [term, neg] of clause) {
      const u = shard.usersOf(termKey(term, events))
      lists.push(neg ? complement(u, shard.users) : u)
    }
    const c = lists.length === 1 ? lists[0]! : unionAll(lists)
    acc = acc === undefined ? c : intersect(acc, c)
    if (acc.length === 0) return emptyIds()
  }
  for (const [[term]] of lone as [[string, boolean]][]) {
    const u = shard.usersOf(termKey(term, events))
    acc = acc === undefined ? complement(u, shard.users) : minus(acc, u)
    if (acc.length === 0) return emptyIds()
  }
  return acc ?? shard.all()
}

/** Evaluates a definition over every shard. */
export async function segmentUsers(model: Model, def: SegmentDef): Promise<{ users: Uint32Array[]; size: number }> {
  const cnf = toCnf(def)
  const events = new Set(Object.keys((await model.info()).eventNames))
  const users: Uint32Array[] = []
  let size = 0
  for (const sh of await model.shards()) {
    const u = evaluateCnf(sh, cnf, events)
    users.push(u)
    size += u.length
  }
  return { users, size }
}

/** A definition as readable text, the default label. */
export function describe(def: SegmentDef): string {
  return 'q' in def ? def.q : def.rows.join(' AND ')
}

/** The tag of segment `name` of a model. */
export function segmentTag(model: Model, name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_@-]+$/.test(name)) {
    throw new DiscoError('ANALYTICS_BAD_PARAM', `segment name: expected letters, digits, _ - @, found ${JSON.stringify(name)}`)
  }
  return checkTagName(`${model.tag}:segment:${name}`)
}

/** What a saved segment looks like from outside. */
export interface SegmentInfo {
  name: string
  label: string
  size: number
  definition: SegmentDef
}

/**
 * Evaluates and saves a segment: a DiscoDB whose keys are the user ids, under
 * `<model tag>:segment:<name>`, with attributes label, size and definition.
 * @example await saveSegment(model, 'us', { q: 'signup & country=US' }) // { name: 'us', size: 120, … }
 */
export async function saveSegment(model: Model, name: string, def: SegmentDef, label?: string): Promise<SegmentInfo> {
  const tag = segmentTag(model, name)
  const { users, size } = await segmentUsers(model, def)
  const keys: [string, string[]][] = []
  const shards = await model.shards()
  for (let s = 0; s < shards.length; s++) for (const g of users[s]!) keys.push([shards[s]!.userId(g), []])
  const bytes = DiscoDB.build(keys).dumps()
  // Stored and tagged as one write, so a concurrent `ddfs gc` cannot delete the blob in between.
  const write = await model.ddfs.beginWrite(tag)
  try {
    await write.put(`segment-${name}`, bytes)
    await write.commit({ replace: true })
  } catch (e) {
    await write.abort()
    throw e
  }
  const info: SegmentInfo = { name, label: label ?? describe(def), size, definition: def }
  await model.ddfs.setattr(tag, 'label', info.label.slice(0, 4000))
  await model.ddfs.setattr(tag, 'size', String(size))
  await model.ddfs.setattr(tag, 'definition', JSON.stringify(def).slice(0, 4000))
  return info
}

/** The saved segments of a model. */
export async function listSegments(model: Model): Promise<SegmentInfo[]> {
  const prefix = `${model.tag}:segment:`
  const out: SegmentInfo[] = []
  for (const tag of await model.ddfs.list(prefix)) {
    const a = await model.ddfs.attrs(tag)
    let definition: SegmentDef = { q: '' }
    try {
      definition = JSON.parse(a.definition ?? '{"q":""}') as SegmentDef
    } catch {
      // a hand-edited attribute: keep the empty definition
    }
    out.push({ name: tag.slice(prefix.length), label: a.label ?? '', size: Number(a.size ?? 0), definition })
  }
  return out
}

/** Loads a saved segment into user sets (ANALYTICS_NO_SEGMENT when missing). */
export async function loadSegment(model: Model, name: string): Promise<Segment> {
  const tag = segmentTag(model, name)
  if (!(await model.ddfs.exists(tag))) throw new DiscoError('ANALYTICS_NO_SEGMENT', `no segment ${JSON.stringify(name)} (tag ${tag})`)
  const a = await model.ddfs.attrs(tag)
  const [set] = await model.ddfs.urls(tag)
  const chunks: Uint8Array[] = []
  if (set) for await (const c of await model.ddfs.openBlob(set)) chunks.push(c)
  const db = DiscoDB.loads(Buffer.concat(chunks))
  const shards = await model.shards()
  const maps = shards.map((sh) => sh.userNumbers())
  const lists: number[][] = shards.map(() => [])
  for (const k of db.keys()) {
    const uid = decoder.decode(k)
    const s = shardOf(uid, shards.length)
    const g = maps[s]!.get(uid)
    if (g !== undefined) lists[s]!.push(g)
  }
  const users = lists.map((l) => Uint32Array.from(l).sort())
  return { name, label: a.label ?? name, size: users.reduce((n, u) => n + u.length, 0), users }
}
