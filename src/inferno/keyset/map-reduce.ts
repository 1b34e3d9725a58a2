// Keyset map and reduce (spec inferno.md 2.3-2.5): one scan, many aggregations, error isolation.
import { DiscoError } from '../../errors.js'
import type { Key, Params, Parts, Postprocessor, Preprocessor, ResultRow, Rule } from '../rules/rule.js'
import { add, coerce, keyText, jsonReplacer, sumInto, isNumeric, type Num } from '../rules/values.js'
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

/**
 * What takes each record a pre-processor chain gives: an object with a method (the same function
 * from one map task to the next, so compiled callers are not thrown away for a new closure).
 */
interface ChainSink {
  next(parts: Parts): void
}

/** Applies a pre-processor chain, calling `sink.next` for every final output (no generators: hot path). */
function applyChain(parts: Parts, fns: readonly Preprocessor[], params: Params, fn: ChainSink, i = 0): void {
  if (i === fns.length) {
    fn.next(parts)
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
  /** 1 where value part i is `_keyset` (the keyset's name). */
  readonly named: Uint8Array
  /** The slot of a record's key; undefined when a key part is missing (compileSlotOf). */
  readonly slotOf: (out: Parts, ks: KeysetPlan) => KeySlot | undefined
  /** Adds a record's values to a key's sums (compileAddValues). */
  readonly addValues: (acc: Num[], out: Parts, counting: MapCounts | undefined) => void
}

/** A rule's map work, precomputed once per rule. */
interface MapPlan {
  readonly transforms: readonly [string, (v: unknown) => unknown][]
  /** Applies the transforms to one record (compileTransforms). */
  readonly transform: (pre: Parts) => void
  /** Every keyset for one record (compileEmitKeysets). */
  readonly emitKeysets: (run: MapRun, pre: Parts) => void
  readonly keysets: readonly KeysetPlan[]
}

const plans = new WeakMap<Rule, MapPlan>()

function mapPlan(rule: Rule): MapPlan {
  let plan = plans.get(rule)
  if (!plan) {
    const transforms = Object.entries(rule.fieldTransforms)
    const keysets: KeysetPlan[] = Object.entries(rule.keysets).map(([name, ks]) => {
      const keyParts = ks.keyParts.filter((k) => k !== '_keyset')
      return {
        name, prefix: encodePart(name), keyParts, valueParts: ks.valueParts, pre: ks.partsPreprocess,
        keys: keyCache(keyParts.length), scratch: new Array<unknown>(ks.valueParts.length), only: newSlot(encodePart(name)),
        named: Uint8Array.from(ks.valueParts, (v) => (v === '_keyset' ? 1 : 0)),
        slotOf: compileSlotOf(keyParts), addValues: compileAddValues(ks.valueParts, name),
      }
    })
    plan = { transforms, transform: compileTransforms(transforms), keysets, emitKeysets: compileEmitKeysets(keysets) }
    plans.set(rule, plan)
  }
  return plan
}

// The per-record steps below are compiled once per rule into functions that read the rule's fields
// by name (one inline cache per field instead of a generic keyed lookup). Field names enter the
// code only as JSON.stringify'd string literals: no text of the rule becomes code.

/** The field transforms: `if (f in pre) pre[f] = transform(pre[f])` per field, in the rule's order. */
function compileTransforms(entries: readonly [string, (v: unknown) => unknown][]): (pre: Parts) => void {
  const body = entries.map(([f], i) => `if (${JSON.stringify(f)} in pre) pre[${JSON.stringify(f)}] = e[${i}][1](pre[${JSON.stringify(f)}]);`)
  return new Function('e', `return function transform(pre) { ${body.join(' ')} }`)(entries) as (pre: Parts) => void
}

/**
 * The slot of a record's key in a keyset (keyText of each key part, then the keyset's cache of
 * recent keys, else its trie of interned keys, internKey on a miss); undefined when a key part is
 * missing.
 *
 * The recent keys are a direct-mapped table indexed by a cheap hash of the part texts (lengths and
 * three characters each), holding each entry's texts and slot: a hit costs a few character reads
 * and one string comparison per part (`===`, equal texts: the same key) instead of one Map.get
 * (hashing and probing) per part. A keyset with many keys (more than four per entry in the trie)
 * stops filling it: mostly misses there, and each fill stores young strings into an old table
 * (write barriers, and texts kept alive past their record).
 */
function compileSlotOf(keyParts: readonly string[]): KeysetPlan['slotOf'] {
  const n = keyParts.length
  if (n === 0) return (_out, ks) => ks.only
  const texts = keyParts.map((k, i) => `let t${i} = out[${JSON.stringify(k)}]; if (typeof t${i} !== 'string') { t${i} = keyText(t${i}); if (t${i} === undefined) return undefined }`)
  const hash = keyParts.map((_k, i) => `l = t${i}.length; h = (h * 31 + l + (l === 0 ? 0 : t${i}.charCodeAt(0) * 7 + t${i}.charCodeAt(l >> 1) * 5 + t${i}.charCodeAt(l - 1) * 3)) | 0;`)
  const hit = keyParts.map((_k, i) => `r.texts[${i}][h] === t${i}`)
  const walk = keyParts.map((_k, i) => (i === 0 ? 'let node = ks.keys.root.get(t0)' : `if (node !== undefined) node = node.get(t${i})`))
  const fill = keyParts.map((_k, i) => `r.texts[${i}][h] = t${i};`)
  const miss = keyParts.map((_k, i) => `texts[${i}] = t${i};`)
  return new Function('keyText', 'internKey', 'mask', 'few', `return function slotOf(out, ks) {
    ${texts.join('\n')}
    const c = ks.keys
    const r = c.recent
    let h = -1, l = 0, slot
    if (c.size <= few) {
      h = 0
      ${hash.join('\n')}
      h &= mask
      slot = r.slots[h]
      if (slot !== undefined && ${hit.join(' && ')}) return slot
    }
    ${walk.join('\n')}
    if (node !== undefined) slot = node
    else { const texts = c.texts; ${miss.join(' ')} slot = internKey(ks, ${n}) }
    if (h >= 0) { ${fill.join(' ')} r.slots[h] = slot }
    return slot
  }`)(keyText, internKey, RECENT_KEYS - 1, RECENT_KEYS * 4) as KeysetPlan['slotOf']
}

/**
 * Adds a record's values to the sums its key's slot holds, what sumInto of emitKeyset's values
 * would do without building them: a value part absent from the record counts 0, `_keyset` is the
 * keyset's name (uncounted), other values not numeric are counted.
 */
function compileAddValues(valueParts: readonly string[], name: string): KeysetPlan['addValues'] {
  const body = valueParts.map((v, i) => {
    if (v === '_keyset') return `acc[${i}] = add(acc[${i}], coerce(${JSON.stringify(name)}));`
    const f = JSON.stringify(v)
    return `x = out[${f}]; if (x === undefined && !(${f} in out)) x = 0; a = acc[${i}];
      if (typeof x === 'number' && typeof a === 'number') { s = a + x; acc[${i}] = Number.isSafeInteger(s) ? s : add(a, x) }
      else { if (counting && !isNumeric(x)) counting.nonNumericValues++; acc[${i}] = add(a, coerce(x)) }`
  })
  return new Function('add', 'coerce', 'isNumeric',
    `return function addValues(acc, out, counting) { let x, a, s; ${body.join('\n')} }`)(add, coerce, isNumeric) as KeysetPlan['addValues']
}

/**
 * An interned key: its encoded text, and the sums a combiner keeps for it (`acc`, valid while
 * `owner` is that combiner; the combiner frees it when it drains or closes, and no other combiner
 * takes a slot while it is held).
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
  /** The keys met lately (see compileSlotOf). */
  readonly recent: RecentKeys
}

/** Entries of a keyset's table of recent keys (a power of two). */
const RECENT_KEYS = 1024

/** A direct-mapped table of recent keys: entry h holds part i's text at `texts[i][h]`, and the key's slot. */
interface RecentKeys {
  readonly texts: string[][]
  readonly slots: (KeySlot | undefined)[]
}

function keyCache(parts: number): KeyCache {
  const recent = {
    texts: Array.from({ length: parts }, () => new Array<string>(RECENT_KEYS).fill('')),
    slots: new Array<KeySlot | undefined>(RECENT_KEYS).fill(undefined),
  }
  return { root: new Map(), size: 0, texts: [], recent }
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

/**
 * One keyset map run's settings and callbacks, made once per map task (keysetMapRun) or per call
 * (keysetMap): the record path then makes no closure and looks nothing up per record.
 */
class MapRun {
  readonly plan: MapPlan
  readonly counting: MapCounts | undefined
  readonly combining: SumCombiner | undefined
  readonly debug: ((msg: string) => void) | undefined
  /** What follows keyset i's own pre-processors for each record they give. */
  readonly afterKeyset: KeysetSink[]

  constructor(readonly rule: Rule, readonly params: Params, readonly emit: Emit, readonly hooks: KeysetHooks) {
    this.plan = mapPlan(rule)
    this.counting = hooks.counts
    this.combining = hooks.combiner
    this.debug = hooks.debug
    this.afterKeyset = this.plan.keysets.map((ks) => new KeysetSink(this, ks))
  }

  /** What follows the rule's pre-processors for each record they give (ChainSink). */
  next(pre: Parts): void {
    this.debug?.(`preprocessed: ${JSON.stringify(pre, jsonReplacer)}`)
    if (this.counting) this.counting.preprocessedOut++
    mapRecord(this, pre)
  }

  /** The keyset map of one record (see keysetMap). */
  one(parts: Parts): void {
    const rule = this.rule
    if (this.counting) this.counting.recordsIn++
    try {
      this.debug?.(`input: ${JSON.stringify(parts, jsonReplacer)}`)
      if (rule.partsPreprocess.length === 0) this.next(parts)
      else applyChain(parts, rule.partsPreprocess, this.params, this)
    } catch (e) {
      noteError(this.hooks, `map error in rule ${rule.name}`, e)
    }
  }
}

/** What follows one keyset's own pre-processors for each record they give. */
class KeysetSink implements ChainSink {
  constructor(readonly run: MapRun, readonly ks: KeysetPlan) {}

  next(out: Parts): void {
    out._keyset = this.ks.name
    emitKeyset(this.run, this.ks, out)
  }
}

/** Key construction (a missing part drops the record for this keyset), values (absent → 0), emit. */
function emitKeyset(run: MapRun, ks: KeysetPlan, out: Parts): void {
  const slot = ks.slotOf(out, ks)
  if (slot === undefined) {
    if (run.counting) run.counting.missingKeyParts++
    return
  }
  const combining = run.combining
  // A key this combiner already sums: add in place (the common case).
  if (combining !== undefined && slot.owner === combining && run.debug === undefined) {
    ks.addValues(slot.acc!, out, run.counting)
    return
  }
  emitSlot(run, ks, out, slot)
}

/** Values (absent → 0) and emit of a record whose key's slot is known, when not added in place. */
function emitSlot(run: MapRun, ks: KeysetPlan, out: Parts, slot: KeySlot): void {
  const combining = run.combining
  const debug = run.debug
  const valueParts = ks.valueParts
  const values = combining ? ks.scratch : new Array<unknown>(valueParts.length)
  for (let i = 0; i < values.length; i++) {
    const v = valueParts[i]!
    if (ks.named[i] === 1) {
      values[i] = ks.name
      continue
    }
    const x = out[v]
    values[i] = x !== undefined || v in out ? x : 0
    if (run.counting && !isNumeric(values[i])) run.counting.nonNumericValues++
  }
  debug?.(`emit: ${JSON.stringify(decodeEncoded(slot.key))} ${JSON.stringify(values, jsonReplacer)}`)
  if (combining) combining.addSlot(slot, values)
  else run.emit(slot.key, values)
}

/** Field transforms, then every keyset (with its own pre-processors) for one pre-processed record. */
function mapRecord(run: MapRun, pre: Parts): void {
  const plan = run.plan
  if (plan.transforms.length > 0) {
    plan.transform(pre)
    run.debug?.(`transformed: ${JSON.stringify(pre, jsonReplacer)}`)
  }
  plan.emitKeysets(run, pre)
}

/**
 * Every keyset of a rule for one record, in order: emitKeyset inlined per keyset without
 * pre-processors (each keyset's slotOf and addValues called from its own place), the copy and
 * the chain for the others.
 */
function compileEmitKeysets(keysets: readonly KeysetPlan[]): MapPlan['emitKeysets'] {
  const body = keysets.map((ks, i) => ks.pre.length > 0
    ? `applyChain({ ...pre, _keyset: k${i}.name }, k${i}.pre, run.params, run.afterKeyset[${i}]);`
    : `s = slotOf${i}(pre, k${i});
      if (s === undefined) { if (run.counting) run.counting.missingKeyParts++ }
      else if (c !== undefined && s.owner === c && run.debug === undefined) add${i}(s.acc, pre, run.counting)
      else emitSlot(run, k${i}, pre, s);`)
  const locals = keysets.map((_ks, i) => `const k${i} = k[${i}], slotOf${i} = k${i}.slotOf, add${i} = k${i}.addValues;`)
  return new Function('k', 'applyChain', 'emitSlot', `${locals.join('\n')}
    return function emitKeysets(run, pre) { const c = run.combining; let s; ${body.join('\n')} }`)(keysets, applyChain, emitSlot) as MapPlan['emitKeysets']
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
  new MapRun(rule, params, emit, hooks).one(parts)
}

/**
 * keysetMap for many records of one map task: the settings are read once, and the object's `one`
 * maps one record each call (the same method for every task, so code compiled around the call, a
 * task's line loop, stays valid from one task to the next).
 *
 * @example
 * const run = keysetMapRun(rule, {}, emit, { combiner })
 * for (const parts of records) run.one(parts)
 */
export function keysetMapRun(rule: Rule, params: Params, emit: Emit, hooks: KeysetHooks = {}): { one(parts: Parts): void } {
  return new MapRun(rule, params, emit, hooks)
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
  // Emptied in place, never replaced: a first reassignment would make the field mutable in the
  // class's shape and throw away, in each thread, the compiled line loops that read `size`.
  private readonly live: KeySlot[] = []

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
    const owner = slot.owner
    if (owner === this) {
      sumInto(slot.acc!, values)
      return
    }
    // Another map task running in this thread at the same time (a cluster worker's concurrency)
    // sums this key in the slot: this combiner keeps its own sums for it by key text.
    if (owner !== undefined) {
      this.add(slot.key, values)
      return
    }
    slot.owner = this
    slot.acc = sumInto([], values)
    this.live.push(slot)
  }

  /**
   * Forgets every buffered key without handing it on and frees the slots it held (a map task that
   * failed): other tasks' combiners in this thread then sum those keys in the slots again.
   */
  close(): void {
    for (const slot of this.live) {
      slot.owner = undefined
      slot.acc = undefined
    }
    this.live.length = 0
    this.sums.clear()
  }

  /** Yields and forgets every buffered key (bigints as decimal text). */
  *drain(): Generator<[string, unknown[]]> {
    const wire = (v: Num[]): unknown[] => v.map((x) => (typeof x === 'bigint' ? x.toString() : x))
    const sums = this.sums
    const live = this.live.splice(0)
    for (const slot of live) {
      const acc = slot.acc!
      slot.owner = undefined
      slot.acc = undefined
      // A key also summed by its text (while another task's combiner held the slot): still one pair.
      const more = sums.size === 0 ? undefined : sums.get(slot.key)
      if (more !== undefined) {
        sums.delete(slot.key)
        sumInto(acc, more)
      }
      yield [slot.key, wire(acc)]
    }
    for (const [k, v] of sums) yield [k, wire(v)]
    sums.clear()
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
