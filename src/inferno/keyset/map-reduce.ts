// Keyset map and reduce (spec inferno.md 2.3-2.5): one scan, many aggregations, error isolation.
import { DiscoError } from '../../errors.js'
import type { Key, Params, Parts, Postprocessor, Preprocessor, ResultRow, Rule } from '../rules/rule.js'
import { keyText, jsonReplacer, sumInto, isNumeric, type Num } from '../rules/values.js'
import type { ErrorStats, MapCounts } from '../results/stats.js'

/** Counters and a sample of the errors met by map or reduce (never fatal). */
export { newErrorStats, type ErrorStats } from '../results/stats.js'

/** Hooks of one map or reduce run. */
export interface KeysetHooks {
  /** Errors are counted here (and kept as a sample). */
  readonly errors?: ErrorStats
  /** Map-side counters (records in, pre-processed out, dropped for a missing key part, non-numeric values). */
  readonly counts?: MapCounts
  /** `disco_debug`: every stage is reported here. */
  readonly debug?: (msg: string) => void
  /**
   * The map-side combiner: keysets then add their values to it directly, through the slot their
   * interned key holds (no emit call, no lookup by key string, one values array reused).
   */
  readonly combiner?: SumCombiner
}

function noteError(hooks: KeysetHooks, where: string, e: unknown): void {
  const s = hooks.errors
  const msg = `${where}: ${e instanceof Error ? e.message : String(e)}`
  hooks.debug?.(msg)
  if (!s) return
  s.errors++
  if (s.errorSample.length < 5) s.errorSample.push(msg)
}

/** Applies a pre-processor chain, calling `fn` for every final output (no generators: hot path). */
function applyChain(parts: Parts, fns: readonly Preprocessor[], params: Params, fn: (p: Parts) => void, i = 0): void {
  if (i === fns.length) {
    fn(parts)
    return
  }
  const r = fns[i]!(parts, params) as unknown
  if (r === null || r === undefined) return
  if (typeof r !== 'object') throw new DiscoError('INFERNO_PROCESSOR_OUTPUT', `expected a pre-processor to give records, found ${typeof r}`)
  if (typeof (r as Iterable<Parts>)[Symbol.iterator] !== 'function') {
    applyChain(r as Parts, fns, params, fn, i + 1)
    return
  }
  for (const out of r as Iterable<Parts>) if (out !== null && out !== undefined) applyChain(out, fns, params, fn, i + 1)
}

/** Emits one (encoded key, values) pair (see encodeKey). */
export type Emit = (key: string, values: unknown[]) => void

/** Encoded text of one key part (see encodeKey). */
function encodePart(p: string): string {
  return (p.indexOf('\u0000') < 0 && p.indexOf('\u0001') < 0 ? p : p.replace(/\u0001/g, '\u0001\u0002').replace(/\u0000/g, '\u0001\u0001')) + '\u0000'
}

/**
 * Order-preserving text of a key `[keyset, k1, …]`: each part ends with U+0000, and U+0000/U+0001
 * inside a part become U+0001 U+0001 / U+0001 U+0002. Comparing encoded keys as strings (what the
 * engine's sort does) equals compareKeys on the parts (Q2), so results come out in key order
 * whatever the partitioning.
 *
 * @example
 * encodeKey(['_default', 'a']) < encodeKey(['_default', 'a b']) // true, as ['a'] < ['a b']
 */
export function encodeKey(parts: readonly string[]): string {
  let out = ''
  for (const p of parts) out += encodePart(p)
  return out
}

function decodeEncoded(s: string): Key | undefined {
  if (!s.endsWith('\u0000')) return undefined
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '\u0000') { parts.push(cur); cur = ''; continue }
    if (c === '\u0001') {
      const n = s[++i]
      if (n === '\u0001') cur += '\u0000'
      else if (n === '\u0002') cur += '\u0001'
      else return undefined
      continue
    }
    cur += c
  }
  return parts
}

/** One keyset's map work, precomputed once per rule. */
interface KeysetPlan {
  readonly name: string
  readonly prefix: string
  readonly keyParts: readonly string[]
  /** Encoded keys met lately, by their parts' texts (see internKey). */
  readonly keys: KeyCache
  readonly valueParts: readonly string[]
  readonly pre: readonly Preprocessor[]
  /** The values array reused when adding to a combiner (KeysetHooks.combiner). */
  readonly scratch: unknown[]
  /** The slot of the key of a keyset without key parts. */
  readonly only: KeySlot
}

/** A rule's map work, precomputed once per rule. */
interface MapPlan {
  readonly transforms: readonly [string, (v: unknown) => unknown][]
  readonly keysets: readonly KeysetPlan[]
}

const plans = new WeakMap<Rule, MapPlan>()

function mapPlan(rule: Rule): MapPlan {
  let plan = plans.get(rule)
  if (!plan) {
    plan = {
      transforms: Object.entries(rule.fieldTransforms),
      keysets: Object.entries(rule.keysets).map(([name, ks]) => ({
        name, prefix: encodePart(name), keyParts: ks.keyParts.filter((k) => k !== '_keyset'), valueParts: ks.valueParts, pre: ks.partsPreprocess,
        keys: { root: new Map(), size: 0, texts: [] }, scratch: new Array<unknown>(ks.valueParts.length), only: newSlot(encodePart(name)),
      })),
    }
    plans.set(rule, plan)
  }
  return plan
}

/**
 * An interned key: its encoded text, and the sums a combiner keeps for it (`acc`, valid while
 * `owner` is that combiner: a combiner left behind by a failed task is never added to).
 */
export interface KeySlot {
  readonly key: string
  owner: SumCombiner | undefined
  acc: Num[] | undefined
}

function newSlot(key: string): KeySlot {
  return { key, owner: undefined, acc: undefined }
}

/** A trie from key-part texts to the key's slot, so a repeated key is one string (hashed once). */
interface KeyCache {
  root: Map<string, unknown>
  size: number
  texts: string[]
}

/** Keys a cache holds before it starts afresh (bounds memory for high-cardinality keys). */
const KEY_CACHE_LIMIT = 50_000

/**
 * The slot of the key of a keyset's part texts (`ks.keys.texts`), the same slot (and key string)
 * each time the same texts come again: the combiner adds to it without building, flattening or
 * hashing a new key string per record.
 */
function internKey(ks: KeysetPlan, n: number): KeySlot {
  const c = ks.keys
  const texts = c.texts
  let node = c.root
  for (let i = 0; i < n - 1; i++) {
    let next = node.get(texts[i]!) as Map<string, unknown> | undefined
    if (next === undefined) {
      next = new Map()
      node.set(texts[i]!, next)
    }
    node = next
  }
  const last = texts[n - 1]!
  let slot = node.get(last) as KeySlot | undefined
  if (slot === undefined) {
    let key = ks.prefix
    for (let i = 0; i < n; i++) key += encodePart(texts[i]!)
    slot = newSlot(key)
    if (++c.size > KEY_CACHE_LIMIT) {
      c.root = new Map()
      c.size = 0
    } else {
      node.set(last, slot)
    }
  }
  return slot
}

/** Key construction (a missing part drops the record for this keyset), values (absent → 0), emit. */
/** The counters of the keysetMap call in progress (set per call; the map is synchronous). */
let counting: MapCounts | undefined
/** The combiner of the keysetMap call in progress, when it adds to one (KeysetHooks.combiner). */
let combining: SumCombiner | undefined

function emitKeyset(ks: KeysetPlan, out: Parts, emit: Emit, debug: ((msg: string) => void) | undefined): void {
  const keyParts = ks.keyParts
  const texts = ks.keys.texts
  for (let i = 0; i < keyParts.length; i++) {
    const t = keyText(out[keyParts[i]!])
    if (t === undefined) {
      if (counting) counting.missingKeyParts++
      return
    }
    texts[i] = t
  }
  const slot = keyParts.length === 0 ? ks.only : internKey(ks, keyParts.length)
  const valueParts = ks.valueParts
  const values = combining ? ks.scratch : new Array<unknown>(valueParts.length)
  for (let i = 0; i < values.length; i++) {
    const v = valueParts[i]!
    if (v === '_keyset') {
      values[i] = ks.name
      continue
    }
    const x = out[v]
    values[i] = x !== undefined || v in out ? x : 0
    if (counting && !isNumeric(values[i])) counting.nonNumericValues++
  }
  debug?.(`emit: ${JSON.stringify(decodeEncoded(slot.key))} ${JSON.stringify(values, jsonReplacer)}`)
  if (combining) combining.addSlot(slot, values)
  else emit(slot.key, values)
}

/** Field transforms, then every keyset (with its own pre-processors) for one pre-processed record. */
function mapRecord(plan: MapPlan, pre: Parts, params: Params, emit: Emit, debug: ((msg: string) => void) | undefined): void {
  const transforms = plan.transforms
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i]!
    const field = t[0]
    if (field in pre) pre[field] = t[1](pre[field])
  }
  if (transforms.length > 0) debug?.(`transformed: ${JSON.stringify(pre, jsonReplacer)}`)
  const keysets = plan.keysets
  for (let i = 0; i < keysets.length; i++) {
    const ks = keysets[i]!
    if (ks.pre.length === 0) emitKeyset(ks, pre, emit, debug)
    else applyChain({ ...pre, _keyset: ks.name }, ks.pre, params, (out) => { out._keyset = ks.name; emitKeyset(ks, out, emit, debug) })
  }
}

/**
 * The keyset map (section 2.3) for one record: rule-level pre-processors, field transforms, one
 * copy per keyset with its own pre-processors, key construction (a missing key part drops the record
 * for that keyset only), value construction (absent → 0) and emission of the encoded key
 * `[keyset, k1, …]`. An error in one record drops the rest of that record (pairs already emitted
 * stay) and is counted. (A keyset without pre-processors reads the record without copying it.)
 *
 * @example
 * keysetMap(rule, { last: 'Simpson' }, {}, (k, v) => console.log(decodeKey(k), v)) // ['_default', 'Simpson'] [0]
 */
export function keysetMap(rule: Rule, parts: Parts, params: Params, emit: Emit, hooks: KeysetHooks = {}): void {
  const debug = hooks.debug
  const plan = mapPlan(rule)
  counting = hooks.counts
  combining = hooks.combiner
  if (counting) counting.recordsIn++
  try {
    debug?.(`input: ${JSON.stringify(parts, jsonReplacer)}`)
    if (rule.partsPreprocess.length === 0) {
      debug?.(`preprocessed: ${JSON.stringify(parts, jsonReplacer)}`)
      if (counting) counting.preprocessedOut++
      mapRecord(plan, parts, params, emit, debug)
      return
    }
    applyChain(parts, rule.partsPreprocess, params, (pre) => {
      debug?.(`preprocessed: ${JSON.stringify(pre, jsonReplacer)}`)
      if (counting) counting.preprocessedOut++
      mapRecord(plan, pre, params, emit, debug)
    })
  } catch (e) {
    noteError(hooks, `map error in rule ${rule.name}`, e)
  }
}

/** Normalises what a post-processor returned into an iterable of rows. */
function postOutputs(r: unknown): Iterable<ResultRow> {
  if (r === null || r === undefined) return []
  if (!(typeof r === 'object' && typeof (r as Iterable<unknown>)[Symbol.iterator] === 'function')) {
    throw new DiscoError('INFERNO_PROCESSOR_OUTPUT', `expected a post-processor to give [key, values] pairs, found ${typeof r}`)
  }
  // One pair `[key, values]` has a key (list of text) first; a list of pairs has a pair first.
  if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && (r[0].length === 0 || typeof r[0][0] === 'string')) {
    return [r as ResultRow]
  }
  return r as Iterable<ResultRow>
}

function* postChain(row: ResultRow, fns: readonly Postprocessor[], params: Params, i = 0): Generator<ResultRow> {
  if (i === fns.length) {
    yield row
    return
  }
  for (const out of postOutputs(fns[i]!(row[0], row[1], params))) {
    if (out === null || out === undefined) continue
    yield* postChain(out, fns, params, i + 1)
  }
}

/**
 * Decodes a key — encoded by encodeKey, or a JSON list of text as in the original — into
 * `[keyset, k1, …]`; INFERNO_BAD_KEY otherwise.
 *
 * @example
 * decodeKey('["_default","a"]') // ['_default', 'a']
 */
export function decodeKey(key: string): Key {
  let k: unknown
  if (key.startsWith('[')) {
    try { k = JSON.parse(key) } catch { k = undefined }
  } else {
    k = decodeEncoded(key)
  }
  if (!Array.isArray(k) || k.length === 0 || k.some((x) => typeof x !== 'string')) {
    throw new DiscoError('INFERNO_BAD_KEY', `expected a key as a JSON list of text, found ${JSON.stringify(key.slice(0, 80))}`)
  }
  return k as Key
}

/**
 * A key as readable text for messages: its parts as a JSON list (no raw NUL bytes), cut at 120 characters.
 *
 * @example
 * keyLabel(encodeKey(['_default', 'a'])) // '["_default","a"]'
 */
export function keyLabel(keyJson: string): string {
  let text: string
  try {
    text = JSON.stringify(decodeKey(keyJson))
  } catch {
    text = JSON.stringify(keyJson)
  }
  return text.length > 120 ? `${text.slice(0, 119)}…` : text
}

/**
 * The keyset reduce (section 2.5): consecutive pairs with byte-identical keys form a group (no
 * re-sorting), values are coerced and summed element-wise (exact integers, Q14), then the keyset's
 * post-processors run. An error in one group drops that group only and is counted.
 *
 * @example
 * [...keysetReduce(rule, [['["_default","a"]', [1]], ['["_default","a"]', [2]]], {})] // [[['_default','a'], [3]]]
 */
export function* keysetReduce(rule: Rule, pairs: Iterable<readonly [string, readonly unknown[]]>, params: Params,
  hooks: KeysetHooks = {}): Generator<ResultRow> {
  let current: string | undefined
  let acc: Num[] = []
  const flush = function* (keyJson: string, sums: Num[]): Generator<ResultRow> {
    let rows: ResultRow[]
    try {
      const key = decodeKey(keyJson)
      const ks = rule.keysets[key[0]!]
      rows = [...postChain([key, sums], ks ? ks.partsPostprocess : [], params)]
    } catch (e) {
      noteError(hooks, `reduce error in rule ${rule.name} for key ${keyLabel(keyJson)}`, e)
      return
    }
    for (const row of rows) {
      hooks.debug?.(`reduce: ${JSON.stringify(row, jsonReplacer)}`)
      yield rule.serialOut ? [[row[0].slice(1).join(',')], [JSON.stringify(row[1], jsonReplacer)]] : row
    }
  }
  for (const [keyJson, values] of pairs) {
    // (keys: encodeKey text, or JSON lists as in the original's tests)
    if (keyJson !== current) {
      if (current !== undefined) yield* flush(current, acc)
      current = keyJson
      acc = []
    }
    sumInto(acc, Array.isArray(values) ? values : [values])
  }
  if (current !== undefined) yield* flush(current, acc)
}

/**
 * The automatic combiner for the summing reduce: sums values per key inside one map task, so that
 * each task emits each key once. Exact for integers (bigints travel as decimal text, which the
 * reduce coerces back exactly).
 *
 * @example
 * const c = new SumCombiner(); c.add('["_default","a"]', [1]); c.add('["_default","a"]', ['2'])
 * [...c.drain()] // [['["_default","a"]', [3]]]
 */
export class SumCombiner {
  private readonly sums = new Map<string, Num[]>()
  /** Slots holding sums of this combiner (see addSlot). */
  private live: KeySlot[] = []

  /** Number of keys buffered (a key added both ways counts twice). */
  get size(): number {
    return this.sums.size + this.live.length
  }

  add(keyJson: string, values: readonly unknown[]): void {
    const acc = this.sums.get(keyJson)
    if (acc === undefined) this.sums.set(keyJson, sumInto([], values))
    else sumInto(acc, values)
  }

  /** Adds to the sums an interned key's slot holds for this combiner (keysetMap's fast path). */
  addSlot(slot: KeySlot, values: readonly unknown[]): void {
    if (slot.owner === this) {
      sumInto(slot.acc!, values)
      return
    }
    slot.owner = this
    slot.acc = sumInto([], values)
    this.live.push(slot)
  }

  /** Yields and forgets every buffered key (bigints as decimal text). */
  *drain(): Generator<[string, unknown[]]> {
    const wire = (v: Num[]): unknown[] => v.map((x) => (typeof x === 'bigint' ? x.toString() : x))
    for (const [k, v] of this.sums) yield [k, wire(v)]
    this.sums.clear()
    const live = this.live
    this.live = []
    for (const slot of live) {
      const acc = slot.acc!
      slot.owner = undefined
      slot.acc = undefined
      yield [slot.key, wire(acc)]
    }
  }
}

/**
 * Element-wise comparison of keys (Q2): text by UTF-16 code units, a shorter prefix first. The
 * result order of a rule is therefore independent of the partition count.
 *
 * @example
 * ['a b', 'a', 'Ä', 'B'].map((s) => ['k', s]).sort(compareKeys).map((k) => k[1]) // ['B', 'a', 'a b', 'Ä']
 */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x !== y) return x < y ? -1 : 1
  }
  return a.length - b.length
}

/** Compares result rows by key (Q2). */
export function compareRows(a: ResultRow, b: ResultRow): number {
  return compareKeys(a[0], b[0])
}
