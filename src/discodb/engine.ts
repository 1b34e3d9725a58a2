// Query evaluation (spec 7, 8.3, 8.4) over value-ID arrays: set semantics, dereference
// resolution, metaquery expansion. Negated literals are never materialised against 1..U unless
// the whole result is a complement (then the output itself has that size).
import { DiscoError } from '../errors.js'
import { Budget, type Clause, type Literal, type LiteralKind, MAX_CLAUSES, type MetaLiteral, Q, type TermLiteral, clause, combine, termLiteral } from './q.js'
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
}

/** Per-evaluation cache of decoded key lists (a map: a resolved dereference names many keys). */
class Lists {
  private readonly byKey = new Map<string, Uint32Array>()
  constructor(readonly src: QuerySource) {}
  ids(l: TermLiteral): Uint32Array {
    let ids = this.byKey.get(l.key)
    if (ids === undefined) {
      ids = this.src.idsOfKey(l.term)
      this.byKey.set(l.key, ids)
    }
    return ids
  }
}

/** A clause after looking up its keys: positive lists and negated lists. */
interface Prepared {
  readonly pos: Uint32Array[]
  readonly neg: Uint32Array[]
  estimate: number
}

/** Looks up the keys of one clause. */
function prepare(lists: Lists, c: Clause): Prepared {
  const p: Prepared = { pos: [], neg: [], estimate: 0 }
  for (const l of c.literals) {
    if (l.kind !== 'term') throw new DiscoError('DDB_QUERY_RESOLVE', 'internal: evaluating an unresolved dereference')
    const ids = lists.ids(l)
    if (l.negated) p.neg.push(ids)
    else {
      p.pos.push(ids)
      p.estimate += ids.length
    }
  }
  return p
}

/**
 * Evaluates a resolved query (no dereferences) to ascending value IDs. `view`, if given, is an
 * extra clause of allowed IDs (ascending, unique).
 * @example evaluate(db, Q.parse('a & ~b')) // Uint32Array [3, 7]
 */
export function evaluate(src: QuerySource, q: Q, view?: Uint32Array): Uint32Array {
  const clauses = q.clauses
  if (clauses.length === 0 || (view !== undefined && view.length === 0)) return emptyIds()
  for (const c of clauses) if (c.literals.length === 0) return emptyIds()
  const lists = new Lists(src)
  const positive: Prepared[] = []
  const mixed: Prepared[] = []
  for (const c of clauses) {
    const p = prepare(lists, c)
    // A positive clause whose keys hold nothing empties the whole result.
    if (p.neg.length === 0 && p.estimate === 0) return emptyIds()
    ;(p.neg.length === 0 ? positive : mixed).push(p)
  }
  if (positive.length > 1) positive.sort((a, b) => a.estimate - b.estimate)
  // Positive clauses first, smallest first; each narrows the candidate set.
  let current: Uint32Array | undefined = view
  for (const p of positive) {
    const set = unionAll(p.pos)
    current = current === undefined ? set : intersect(current, set)
    if (current.length === 0) return current
  }
  if (current !== undefined) {
    // A clause with negations keeps r unless r is in every negated list and in no positive one.
    for (const p of mixed) {
      current = filterIds(current, (r) => !p.neg.every((l) => hasId(l, r)) || p.pos.some((l) => hasId(l, r)))
      if (current.length === 0) return current
    }
    return current
  }
  // Only clauses with negations: the result is {1..U} minus the union of their exclusions.
  const excluded = mixed.map((p) => {
    const sorted = [...p.neg].sort((a, b) => a.length - b.length)
    let e = sorted[0]!
    for (let i = 1; i < sorted.length && e.length > 0; i++) e = intersect(e, sorted[i]!)
    return p.pos.length === 0 ? e : filterIds(e, (r) => !p.pos.some((l) => hasId(l, r)))
  })
  return complement(unionAll(excluded), src.numUniqueValues)
}

/** Values of a query as plain literals (`negated` as given). */
function valueLiterals(src: QuerySource, q: Q, negated: boolean): TermLiteral[] {
  const ids = evaluate(src, resolve(src, q))
  return Array.from(ids, (id) => termLiteral(src.valueAt(id), negated))
}

/** Resolution of one literal to a plain query (spec 8.3). */
const resolveLiteral: Record<LiteralKind, (src: QuerySource, l: never) => Q> = {
  term: (_src, l: TermLiteral) => Q.literal(l),
  meta: (src, l: MetaLiteral) => {
    const lits = valueLiterals(src, l.query, l.negated)
    if (!l.negated) return Q.of([clause(lits)])
    if (lits.length === 0) {
      throw new DiscoError('DDB_QUERY_RESOLVE', `~*(${l.query.toString()}) is ambiguous: expected the dereferenced query to have results, found none`)
    }
    return Q.of(lits.map((x) => clause([x])))
  },
}

/**
 * Replaces every dereference by the values of its inner query, inside-out (spec 8.3).
 * @example String(resolve(db, Q.parse('*A'))) // 'B | C'
 */
export function resolve(src: QuerySource, q: Q, budget: Budget = new Budget()): Q {
  if (!q.hasDeref) return q
  const parts: Q[] = []
  for (const c of q.clauses) {
    if (!c.literals.some((l) => l.kind === 'meta')) {
      parts.push(Q.of([c]))
      continue
    }
    const lits = c.literals.map((l) => (resolveLiteral[l.kind] as (s: QuerySource, l: Literal) => Q)(src, l))
    parts.push(combine.or(lits, budget))
  }
  return parts.length === 0 ? q : combine.and(parts, budget)
}

/** Expansions of one literal for metaquery: one plain literal per value of a dereference. */
const expandLiteral: Record<LiteralKind, (src: QuerySource, l: never) => Literal[]> = {
  term: (_src, l: TermLiteral) => [l],
  meta: (src, l: MetaLiteral) => valueLiterals(src, l.query, l.negated),
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
  const perClause = q.clauses.map((c) => {
    const perLiteral = c.literals.map((l) => (expandLiteral[l.kind] as (s: QuerySource, l: Literal) => Literal[])(src, l))
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
