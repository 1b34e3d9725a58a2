// Query evaluation (spec 7, 8.3, 8.4) over value-ID arrays: set semantics, dereference
// resolution, metaquery expansion. Negated literals are never materialised against 1..U unless
// the whole result is a complement (then the output itself has that size).
import { DiscoError } from '../errors.js'
import { Budget, type Clause, type Literal, MAX_CLAUSES, PLAN_CLAUSES, Q, type TermLiteral, clause, combine, planOf, termLiteral } from './q.js'
import { complement, emptyIds, filterIds, hasId, intersect, unionAll } from './setops.js'

/** What the engine needs from a DB. */
export interface QuerySource {
  /** U: value IDs are 1..U. */
  readonly numUniqueValues: number
  /** Ascending value IDs of a key; empty when the key is absent. */
  idsOfKey(key: Uint8Array): Uint32Array
  /** Stored count of a key's list (0 when absent): a cheap size estimate. */
  countOfKey(key: Uint8Array): number
  /** Bytes of the value with this ID. */
  valueAt(id: number): Uint8Array
  /** Locates a key's list: returns its count (0 when absent) and leaves its width and start in `w` and `base`. */
  locateKey(key: Uint8Array): number
  /**
   * `locateKey` on each key k of [from, to), into `count[k]`, `w[k]`, `base[k]`; key k is
   * `bytes[bounds[at + k], bounds[at + k + 1])`.
   */
  locateKeys(bytes: Uint8Array, bounds: Int32Array, at: number, from: number, to: number, count: Float64Array, w: Uint8Array, base: Float64Array): void
  readonly w: number
  readonly base: number
  /** Decodes list (count, w, base) into `out[at, at + count)`. */
  decodeInto(count: number, w: number, base: number, out: Uint32Array, at: number): void
  /** Adds 1 to `hits[j]` for each `a[j]` (j < n, `a` ascending) that list (count, w, base) holds; stops early. */
  markList(count: number, w: number, base: number, a: Uint32Array, n: number, hits: Uint32Array): void
}

// Scratch space reused by every evaluation (evaluation is synchronous and never re-entered):
// per-literal list locations, the candidate set, hit counters.
let litCount = new Float64Array(64)
let litW = new Uint8Array(64)
let litBase = new Float64Array(64)
let litNeg = new Uint8Array(64)
/** The keys of the plan being evaluated: term `l` is keyBytes[keyCode[keyBounds + l], keyCode[keyBounds + l + 1]). */
let keyBytes: Uint8Array = new Uint8Array(0)
let keyCode: Int32Array = new Int32Array(1)
let keyBounds = 0
let clStart = new Int32Array(64)
let clPositive = new Int32Array(64)
let clMixed = new Int32Array(64)
let cand = new Uint32Array(1024)
let posHits = new Uint32Array(1024)
let negHits = new Uint32Array(1024)

/** Grows the per-literal scratch to hold `n` literals. */
function literalRoom(n: number): void {
  if (litCount.length >= n) return
  const m = Math.max(n, litCount.length * 2)
  litCount = new Float64Array(m)
  litW = new Uint8Array(m)
  litBase = new Float64Array(m)
  litNeg = new Uint8Array(m)
}

/** Grows the per-clause scratch to hold `n` clauses. */
function clauseRoom(n: number): void {
  if (clStart.length > n) return
  const m = Math.max(n + 1, clStart.length * 2)
  clStart = new Int32Array(m)
  clPositive = new Int32Array(m)
  clMixed = new Int32Array(m)
}

/** Grows the candidate scratch to hold `n` IDs (keeping the first `keep` candidates). */
function candidateRoom(n: number, keep: number): void {
  if (cand.length >= n) return
  const m = Math.max(n, cand.length * 2)
  const c = new Uint32Array(m)
  c.set(cand.subarray(0, keep))
  cand = c
  posHits = new Uint32Array(m)
  negHits = new Uint32Array(m)
}

/** Zeroes hits[0, n): a loop (candidate sets are mostly small; `fill` is a call into the runtime). */
function clearHits(hits: Uint32Array, n: number): void {
  if (n > 256) hits.fill(0, 0, n)
  else for (let i = 0; i < n; i++) hits[i] = 0
}

/** Removes repeats from the ascending cand[0, n) in place; returns the new length. */
function dedupeCand(n: number): number {
  let k = 0
  for (let i = 0; i < n; i++) if (k === 0 || cand[k - 1] !== cand[i]) cand[k++] = cand[i]!
  return k
}

/** Fills cand with the union of the positive lists of literals [from, to); returns its length. */
function loadUnion(src: QuerySource, from: number, to: number): number {
  let total = 0
  let lists = 0
  for (let l = from; l < to; l++) {
    if (litNeg[l] === 0 && litCount[l]! > 0) {
      total += litCount[l]!
      lists++
    }
  }
  candidateRoom(total, 0)
  if (lists === 2) {
    // Two lists (the common `a | b`): decode both into the spare array and merge.
    const spare = posHits
    let split = 0
    for (let l = from, n = 0; l < to; l++) {
      if (litNeg[l] === 1 || litCount[l] === 0) continue
      src.decodeInto(litCount[l]!, litW[l]!, litBase[l]!, spare, n)
      n += litCount[l]!
      if (split === 0) split = n
    }
    let i = 0
    let j = split
    let k = 0
    let last = 0
    while (i < split || j < total) {
      const x = j >= total || (i < split && spare[i]! <= spare[j]!) ? spare[i++]! : spare[j++]!
      if (x !== last) cand[k++] = last = x
    }
    return k
  }
  let n = 0
  for (let l = from; l < to; l++) {
    if (litNeg[l] === 1 || litCount[l] === 0) continue
    src.decodeInto(litCount[l]!, litW[l]!, litBase[l]!, cand, n)
    n += litCount[l]!
  }
  if (lists > 1) cand.subarray(0, n).sort()
  return dedupeCand(n)
}

/**
 * Evaluates a resolved query (no dereferences) to ascending value IDs. `view`, if given, is an
 * extra clause of allowed IDs (ascending, unique). Candidates start from the smallest positive
 * clause; every other clause walks its delta lists against them and stops as soon as a list
 * passes the last candidate. Nothing is allocated per ID; the result is one exact-size array.
 * @example evaluate(db, Q.parse('a & ~b')) // Uint32Array [3, 7]
 */
export function evaluate(src: QuerySource, q: Q, view?: Uint32Array): Uint32Array {
  // The flat plan (built once per Q): clause ci owns literal slots [clStart[ci], clStart[ci + 1]).
  const plan = planOf(q)
  const code = plan.code
  const nc = code[0]!
  if (nc === 0 || code[4] === 1 || (view !== undefined && view.length === 0)) return emptyIds()
  const npos = code[1]!
  const nmixed = code[2]!
  const total = code[3]!
  literalRoom(total)
  clauseRoom(nc)
  const pos = PLAN_CLAUSES + nc + 1
  const mixed = pos + npos
  const negs = mixed + nmixed
  for (let ci = 0; ci <= nc; ci++) clStart[ci] = code[PLAN_CLAUSES + ci]!
  for (let i = 0; i < npos; i++) clPositive[i] = code[pos + i]!
  for (let i = 0; i < nmixed; i++) clMixed[i] = code[mixed + i]!
  for (let l = 0; l < total; l++) litNeg[l] = code[negs + l]!
  if (npos === 0 && view === undefined) return complementOf(src, q.clauses, Array.from(clMixed.subarray(0, nmixed)))
  keyBytes = plan.bytes
  keyCode = code
  keyBounds = negs + total
  // Candidates: the view, or the smaller of the first two positive clauses. Keys are looked up
  // clause by clause (the keys of one clause, or of the first two when they are neighbours, at
  // once, so that their cache misses overlap), so once no candidate is left the remaining clauses
  // cost nothing.
  let n: number
  let next = 0
  if (view !== undefined) {
    candidateRoom(view.length, 0)
    cand.set(view)
    n = view.length
  } else {
    const a = clPositive[0]!
    const b = npos > 1 ? clPositive[1]! : -1
    if (b === a + 1) src.locateKeys(keyBytes, keyCode, keyBounds, clStart[a]!, clStart[b + 1]!, litCount, litW, litBase)
    const ea = b === a + 1 ? clauseEstimate(a) : locateClause(src, a)
    if (ea === 0) return emptyIds()
    next = 1
    if (npos > 1) {
      const eb = b === a + 1 ? clauseEstimate(b) : locateClause(src, b)
      if (eb === 0) return emptyIds()
      if (eb < ea) {
        // Start from the smaller clause; the other one is marked next (already located).
        clPositive[0] = b
        clPositive[1] = a
      }
    }
    const ci = clPositive[0]!
    n = loadUnion(src, clStart[ci]!, clStart[ci + 1]!)
  }
  // Each further positive clause keeps the candidates one of its lists holds.
  for (; next < npos && n > 0; next++) {
    const ci = clPositive[next]!
    if (next > 1 || view !== undefined) locateClause(src, ci)
    clearHits(posHits, n)
    for (let l = clStart[ci]!, end = clStart[ci + 1]!; l < end; l++) src.markList(litCount[l]!, litW[l]!, litBase[l]!, cand, n, posHits)
    let k = 0
    for (let i = 0; i < n; i++) if (posHits[i]! > 0) cand[k++] = cand[i]!
    n = k
  }
  // A clause with negations keeps r unless r is in every negated list and in no positive one.
  for (let m = 0; m < nmixed && n > 0; m++) {
    const ci = clMixed[m]!
    locateClause(src, ci)
    clearHits(posHits, n)
    clearHits(negHits, n)
    let negs = 0
    for (let l = clStart[ci]!, end = clStart[ci + 1]!; l < end; l++) {
      const neg = litNeg[l] === 1
      if (neg) negs++
      src.markList(litCount[l]!, litW[l]!, litBase[l]!, cand, n, neg ? negHits : posHits)
    }
    let k = 0
    for (let i = 0; i < n; i++) if (posHits[i]! > 0 || negHits[i]! < negs) cand[k++] = cand[i]!
    n = k
  }
  return n === 0 ? emptyIds() : cand.slice(0, n)
}

/** Looks up the keys of clause `ci` into its literal slots; returns its positive estimate. */
function locateClause(src: QuerySource, ci: number): number {
  src.locateKeys(keyBytes, keyCode, keyBounds, clStart[ci]!, clStart[ci + 1]!, litCount, litW, litBase)
  return clauseEstimate(ci)
}

/** The summed list lengths of clause `ci`'s positive literals (located already). */
function clauseEstimate(ci: number): number {
  let estimate = 0
  for (let l = clStart[ci]!, end = clStart[ci + 1]!; l < end; l++) if (litNeg[l] === 0) estimate += litCount[l]!
  return estimate
}

/** Only clauses with negations: {1..U} minus the union of their exclusions. */
function complementOf(src: QuerySource, clauses: readonly Clause[], mixed: readonly number[]): Uint32Array {
  const excluded = mixed.map((ci) => {
    const pos: Uint32Array[] = []
    const neg: Uint32Array[] = []
    for (const l of clauses[ci]!.literals) (l.negated ? neg : pos).push(src.idsOfKey((l as TermLiteral).term))
    neg.sort((a, b) => a.length - b.length)
    let e = neg[0]!
    for (let i = 1; i < neg.length && e.length > 0; i++) e = intersect(e, neg[i]!)
    return pos.length === 0 ? e : filterIds(e, (r) => !pos.some((l) => hasId(l, r)))
  })
  return complement(unionAll(excluded), src.numUniqueValues)
}

/** Values of a query as plain literals (`negated` as given). */
function valueLiterals(src: QuerySource, q: Q, negated: boolean): TermLiteral[] {
  const ids = evaluate(src, resolve(src, q))
  return Array.from(ids, (id) => termLiteral(src.valueAt(id), negated))
}

/** Resolution of one literal to a plain query (spec 8.3); `memo` keeps each distinct literal's. */
function resolveLiteral(src: QuerySource, l: Literal, memo: Map<string, Q>): Q {
  if (l.kind === 'term') return Q.literal(l)
  const known = memo.get(l.id)
  if (known !== undefined) return known
  const lits = valueLiterals(src, l.query, l.negated)
  let out: Q
  if (!l.negated) out = Q.of([clause(lits)])
  else if (lits.length === 0) {
    throw new DiscoError('DDB_QUERY_RESOLVE', `~*(${l.query.toString()}) is ambiguous: expected the dereferenced query to have results, found none`)
  } else out = Q.of(lits.map((x) => clause([x])))
  memo.set(l.id, out)
  return out
}

/**
 * Replaces every dereference by the values of its inner query, inside-out (spec 8.3). A
 * dereference that appears in many clauses is evaluated once.
 * @example String(resolve(db, Q.parse('*A'))) // 'B | C'
 */
export function resolve(src: QuerySource, q: Q, budget: Budget = new Budget()): Q {
  if (!q.hasDeref) return q
  const parts: Q[] = []
  const memo = new Map<string, Q>()
  for (const c of q.clauses) {
    if (!c.literals.some((l) => l.kind === 'meta')) {
      parts.push(Q.of([c]))
      continue
    }
    parts.push(combine.or(c.literals.map((l) => resolveLiteral(src, l, memo)), budget))
  }
  return parts.length === 0 ? q : combine.and(parts, budget)
}

/** Expansions of one literal for metaquery: one plain literal per value of a dereference (memoised). */
function expandLiteral(src: QuerySource, l: Literal, memo: Map<string, Literal[]>): Literal[] {
  if (l.kind === 'term') return [l]
  let out = memo.get(l.id)
  if (out === undefined) memo.set(l.id, (out = valueLiterals(src, l.query, l.negated)))
  return out
}

/** All combinations picking one element from each list (lazy). */
function* product<T>(lists: readonly (readonly T[])[]): Generator<T[]> {
  if (lists.some((l) => l.length === 0)) return
  const idx = lists.map(() => 0)
  for (;;) {
    yield idx.map((i, k) => lists[k]![i]!)
    let k = lists.length - 1
    while (k >= 0 && ++idx[k]! === lists[k]!.length) idx[k--] = 0
    if (k < 0) return
  }
}

/**
 * Metaquery (spec 8.4): expands dereferences into one query per combination of values and yields
 * each expanded query with its result IDs.
 * @example [...metaquery(db, Q.parse('*A | B'))].map(([q]) => String(q)) // ['B', 'B | C']
 */
export function* metaquery(src: QuerySource, q: Q): Generator<[Q, Uint32Array]> {
  const memo = new Map<string, Literal[]>()
  const perClause = q.clauses.map((c) => {
    const perLiteral = c.literals.map((l) => expandLiteral(src, l, memo))
    // The size is known before expanding: refuse at once rather than after building MAX_CLAUSES.
    let size = 1
    for (const l of perLiteral) size *= l.length
    if (size > MAX_CLAUSES) {
      throw new DiscoError('DDB_QUERY_TOO_LARGE', `metaquery expansion too large: expected at most ${MAX_CLAUSES} clauses per clause, found ${size}`)
    }
    const out: Clause[] = []
    for (const lits of product(perLiteral)) {
      if (out.push(clause(lits)) > MAX_CLAUSES) {
        throw new DiscoError('DDB_QUERY_TOO_LARGE', `metaquery expansion too large: expected at most ${MAX_CLAUSES} clauses per clause, found more`)
      }
    }
    return out
  })
  for (const clauses of product(perClause)) {
    const expanded = Q.of(clauses)
    yield [expanded, evaluate(src, expanded)]
  }
}
