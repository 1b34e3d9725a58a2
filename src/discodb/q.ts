// The query language (spec 8): a real tokenizer and recursive-descent parser producing a small
// expression tree, and the normal form `Q` (a set of clauses, each a set of literals) built from
// it by exhaustive passes. All nodes are frozen data made by factories.
import { DiscoError } from '../errors.js'
import { latin1, toBytes, utf8 } from './bytes.js'

/** A key, possibly negated. */
export interface TermLiteral {
  readonly kind: 'term'
  readonly term: Uint8Array
  readonly negated: boolean
  /** The term as a one-char-per-byte string (a Map key in byte order). */
  readonly key: string
  /** Canonical identity (set semantics). */
  readonly id: string
}

/** A dereference `+X` / `~+X`: stands for the values of query X used as keys (spec 8.3). */
export interface MetaLiteral {
  readonly kind: 'meta'
  readonly query: Q
  readonly negated: boolean
  readonly id: string
}

export type Literal = TermLiteral | MetaLiteral
export type LiteralKind = Literal['kind']

/** A disjunction of literals (a set: duplicates collapse, canonical order). */
export interface Clause {
  readonly literals: readonly Literal[]
  readonly id: string
  /** Size of the clause for work limits: the length of its identity text. */
  readonly weight: number
}

/** Largest number of clauses a normal form may have (distribution can explode). */
export const MAX_CLAUSES = 100_000
/**
 * Most expansion work one normalisation may do, in characters of clause identity text produced by
 * distribution (`|` over `&`) and De Morgan (`~`). Checked before each expansion is built, so an
 * exploding query fails at once with DDB_QUERY_TOO_LARGE instead of filling memory.
 */
export const MAX_EXPANSION_WORK = 4_000_000

/** Counters of one normalisation (an instrument for tests and tools). */
export interface NormalizeStats {
  /** Characters of clause identity text built (linear steps and expansions). */
  work: number
  /** Clauses built by expansions. */
  expandedClauses: number
}

/** Options of {@link Q.parse}. */
export interface ParseOptions {
  /** Filled with the work done (added to what it already holds). */
  readonly stats?: NormalizeStats
}

/**
 * The work account of one normalisation: linear steps are counted, expansions are checked against
 * MAX_CLAUSES and MAX_EXPANSION_WORK before they are built.
 */
export class Budget {
  #expanded = 0
  constructor(readonly stats: NormalizeStats = { work: 0, expandedClauses: 0 }) {}
  /** Counts linear work (bounded by the size of the input). */
  note(work: number): void {
    this.stats.work += work
  }
  /** Checks, then counts, an expansion into `clauses` clauses of `work` characters in total. */
  expand(clauses: number, work: number): void {
    if (clauses > MAX_CLAUSES) {
      throw new DiscoError('DDB_QUERY_TOO_LARGE', `query normal form too large: expected at most ${MAX_CLAUSES.toLocaleString('en')} clauses, found ${clauses.toLocaleString('en')}`)
    }
    this.#expanded += work
    if (this.#expanded > MAX_EXPANSION_WORK) {
      throw new DiscoError('DDB_QUERY_TOO_LARGE', `query normal form too large: expected at most ${MAX_EXPANSION_WORK.toLocaleString('en')} characters of expansion, found more`)
    }
    this.stats.work += work
    this.stats.expandedClauses += clauses
  }
}
/** Deepest parenthesis / unary-operator nesting the parser accepts. */
export const MAX_NESTING = 1000

/** Byte-order comparison of two strings made by latin1(). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Canonical literal order: terms by bytes then negation, then meta-literals. */
function compareLiterals(a: Literal, b: Literal): number {
  if (a.kind !== b.kind) return a.kind === 'term' ? -1 : 1
  return cmp(a.id, b.id)
}

/** Canonical clause order: lexicographic over the sorted literals. */
function compareClauses(a: Clause, b: Clause): number {
  const n = Math.min(a.literals.length, b.literals.length)
  for (let i = 0; i < n; i++) {
    const c = compareLiterals(a.literals[i]!, b.literals[i]!)
    if (c !== 0) return c
  }
  return a.literals.length - b.literals.length
}

/** Factory: a plain literal. */
export function termLiteral(term: Uint8Array, negated: boolean): TermLiteral {
  // id sorts by term bytes, then negation ('0' < '1' after a NUL separator that sorts first).
  const key = latin1(term)
  return Object.freeze({ kind: 'term', term, negated, key, id: `${key}\u0000${negated ? 1 : 0}` })
}

/** Factory: a dereference literal. */
export function metaLiteral(query: Q, negated: boolean): MetaLiteral {
  return Object.freeze({ kind: 'meta', query, negated, id: `${query.id}\u0000${negated ? 1 : 0}` })
}

/** Factory: a clause (deduplicated, sorted). */
export function clause(literals: Iterable<Literal>): Clause {
  const byId = new Map<string, Literal>()
  for (const l of literals) byId.set(`${l.kind}:${l.id}`, l)
  const sorted = Object.freeze([...byId.values()].sort(compareLiterals))
  const id = sorted.map((l) => `${l.kind}:${l.id}`).join('\u0001')
  return Object.freeze({ literals: sorted, id, weight: id.length + 1 })
}

/** The literals of several clauses as one clause (their disjunction). */
function joinClauses(cs: readonly Clause[]): Clause {
  if (cs.length === 1) return cs[0]!
  const lits: Literal[] = []
  for (const c of cs) for (const l of c.literals) lits.push(l)
  return clause(lits)
}

/** Total weight of a Q's clauses. */
function weightOf(q: Q): number {
  let w = 0
  for (const c of q.clauses) w += c.weight
  return w
}

/** `a | b` by distribution (the caller has checked the size). */
function orPair(a: Q, b: Q): Q {
  const out: Clause[] = []
  for (const c of a.clauses) for (const d of b.clauses) out.push(joinClauses([c, d]))
  return Q.of(out)
}

/**
 * The disjunction of several queries. Single-clause operands merge into one clause first (linear:
 * an OR of n terms costs O(n), not O(n²)); the rest distribute pairwise, each step checked first.
 */
function orMany(qs: readonly Q[], budget: Budget): Q {
  if (qs.length === 1) return qs[0]!
  if (qs.some((q) => q.clauses.length === 0)) return Q.of([])
  const singles: Clause[] = []
  const multi: Q[] = []
  for (const q of qs) {
    if (q.clauses.length === 1) singles.push(q.clauses[0]!)
    else multi.push(q)
  }
  let acc: Q | undefined
  if (singles.length > 0) {
    const c = joinClauses(singles)
    budget.note(c.weight)
    acc = Q.of([c])
  }
  if (multi.length === 0) return acc!
  // The size of the whole product, before duplicates collapse, is known before building any of
  // it: clauses Π nᵢ, text Σ wᵢ·Π_{j≠i} nⱼ (the merged single clause has n = 1).
  let clauses = 1
  for (const q of multi) clauses *= q.clauses.length
  let work = acc === undefined ? 0 : acc.clauses[0]!.weight * clauses
  for (const q of multi) work += (weightOf(q) * clauses) / q.clauses.length
  budget.expand(clauses, work)
  // Smallest first keeps the intermediate products small.
  multi.sort((x, y) => x.clauses.length - y.clauses.length)
  for (const q of multi) acc = acc === undefined ? q : orPair(acc, q)
  return acc!
}

/** The conjunction of several queries (the union of their clause sets; linear). */
function andMany(qs: readonly Q[], budget: Budget): Q {
  if (qs.length === 1) return qs[0]!
  const all: Clause[] = []
  for (const q of qs) for (const c of q.clauses) all.push(c)
  budget.note(all.length)
  return Q.of(all)
}

/**
 * `~q` by De Morgan: the OR over q's clauses of the AND of their negated literals. Unit clauses
 * negate into one clause at once; longer clauses distribute through {@link orMany}'s checks.
 */
function notQ(q: Q, budget: Budget): Q {
  if (q.clauses.length === 0) return q
  const parts = q.clauses.map((c) => {
    budget.expand(c.literals.length, c.weight)
    return Q.of(c.literals.map((l) => clause([dispatch(negateLiteral, l)])))
  })
  return orMany(parts, budget)
}

/** Negation of one literal (`~~l` = `l`). */
const negateLiteral: Record<LiteralKind, (l: never) => Literal> = {
  term: (l: TermLiteral) => termLiteral(l.term, !l.negated),
  meta: (l: MetaLiteral) => metaLiteral(l.query, !l.negated),
}

/** Text form of one literal (spec 8.5). */
const formatLiteral: Record<LiteralKind, (l: never) => string> = {
  term: (l: TermLiteral) => (l.negated ? '~' : '') + utf8(l.term),
  meta: (l: MetaLiteral) => `${l.negated ? '~' : ''}+(${l.query.toString()})`,
}

function dispatch<R>(table: Record<LiteralKind, (l: never) => R>, l: Literal): R {
  return (table[l.kind] as (l: Literal) => R)(l)
}

/**
 * The flat form of a query without dereferences that the evaluator walks: a few typed arrays
 * instead of a tree of clause and literal objects (evaluating many small queries is dominated by
 * cache misses on those objects). `code` holds, in order: [clauses, positive clauses, clauses with
 * negations, literals, 1 if some clause is empty], the clauses' first literal slots (clauses + 1
 * entries), the positive clauses, the clauses with negations, each literal's negation (0/1), and
 * the literals' term bounds in `bytes` (literals + 1 entries: term `l` is
 * `bytes[bounds[l], bounds[l + 1])`).
 */
export interface Plan {
  readonly code: Int32Array
  readonly bytes: Uint8Array
}

/** Where the parts of a plan's code start: clause starts at PLAN_CLAUSES, then positives, mixed, negations, bounds. */
export const PLAN_CLAUSES = 5

/** Builds the plan of resolved clauses; a dereference left in is DDB_QUERY_RESOLVE. */
function buildPlan(clauses: readonly Clause[]): Plan {
  const nc = clauses.length
  let literals = 0
  let nbytes = 0
  let npos = 0
  let empty = 0
  for (const c of clauses) {
    if (c.literals.length === 0) empty = 1
    let neg = false
    for (const l of c.literals) {
      if (l.kind !== 'term') throw new DiscoError('DDB_QUERY_RESOLVE', 'internal: evaluating an unresolved dereference')
      nbytes += l.term.length
      if (l.negated) neg = true
    }
    if (!neg) npos++
    literals += c.literals.length
  }
  const nmixed = nc - npos
  const pos = PLAN_CLAUSES + nc + 1
  const mixed = pos + npos
  const negs = mixed + nmixed
  const bounds = negs + literals
  const code = new Int32Array(bounds + literals + 1)
  const bytes = new Uint8Array(nbytes)
  code[0] = nc
  code[1] = npos
  code[2] = nmixed
  code[3] = literals
  code[4] = empty
  let at = 0
  let b = 0
  let p = 0
  let m = 0
  for (let ci = 0; ci < nc; ci++) {
    code[PLAN_CLAUSES + ci] = at
    let neg = false
    for (const l of clauses[ci]!.literals) {
      const t = l as TermLiteral
      code[negs + at] = t.negated ? 1 : 0
      if (t.negated) neg = true
      code[bounds + at] = b
      bytes.set(t.term, b)
      b += t.term.length
      at++
    }
    if (neg) code[mixed + m++] = ci
    else code[pos + p++] = ci
  }
  code[PLAN_CLAUSES + nc] = at
  code[bounds + at] = b
  return { code, bytes }
}

/** The plan of `q` (built on first use, then kept with it). */
export let planOf: (q: Q) => Plan

/**
 * A query in conjunctive normal form: AND of clauses, each an OR of literals (spec 8.2).
 * Immutable; build it with `Q.parse`, `Q.fromCnf` or the combinators.
 * @example String(Q.parse('a | b & c')) // '(a | b) & (a | c)'
 */
export class Q {
  readonly clauses: readonly Clause[]
  /** Canonical identity: equal for equal clause sets. */
  readonly id: string
  /** True when some literal is a dereference (it must be resolved against a DB first). */
  readonly hasDeref: boolean
  /** The flat form for evaluation (a private field: frozen objects may still set it). */
  #plan: Plan | undefined = undefined

  static {
    planOf = (q) => (q.#plan ??= buildPlan(q.clauses))
  }

  private constructor(clauses: readonly Clause[]) {
    this.clauses = clauses
    this.id = clauses.map((c) => c.id).join('\u0002')
    this.hasDeref = clauses.some((c) => c.literals.some((l) => l.kind === 'meta'))
    Object.freeze(this)
  }

  /** Factory: a Q from clauses (deduplicated, sorted). */
  static of(clauses: Iterable<Clause>): Q {
    const byId = new Map<string, Clause>()
    for (const c of clauses) {
      byId.set(c.id, c)
      if (byId.size > MAX_CLAUSES) {
        throw new DiscoError('DDB_QUERY_TOO_LARGE', `query normal form too large: expected at most ${MAX_CLAUSES} clauses, found more`)
      }
    }
    return new Q(Object.freeze([...byId.values()].sort(compareClauses)))
  }

  /** The query of one literal. */
  static literal(l: Literal): Q {
    return Q.of([clause([l])])
  }

  /**
   * Parses the query language of spec 8.1 (`&`, `|`, `~`, `*`/`+`, parentheses; terms may hold
   * inner spaces). Bytes are query text that need not be UTF-8. Errors: DDB_QUERY_SYNTAX.
   * @example Q.parse('  new york  |  aquatic ').toCnf().length // 1
   */
  static parse(text: string | Uint8Array, options?: ParseOptions): Q {
    return toQ(parseExpr(toBytes(text)), new Budget(options?.stats))
  }

  /**
   * A Q from clauses of `[term, negated]` pairs.
   * @example String(Q.fromCnf([[['a', false], ['b', true]]])) // 'a | ~b'
   */
  static fromCnf(clauses: Array<Array<[term: string | Uint8Array, negated: boolean]>>): Q {
    return Q.of(clauses.map((c) => clause(c.map(([t, n]) => termLiteral(toBytes(t), n)))))
  }

  /** `this & other`: the union of the clause sets. */
  and(other: Q): Q {
    return andMany([this, other], new Budget())
  }

  /** `this | other`: distribution (`Q([]) | X` = `Q([])`). Errors: DDB_QUERY_TOO_LARGE. */
  or(other: Q): Q {
    return orMany([this, other], new Budget())
  }

  /** `~this` by De Morgan, for clauses of any length (`~Q([])` = `Q([])`). Errors: DDB_QUERY_TOO_LARGE. */
  not(): Q {
    return notQ(this, new Budget())
  }

  /** `+this`: one clause holding one dereference literal. */
  deref(): Q {
    return Q.literal(metaLiteral(this, false))
  }

  /**
   * Clauses of `[term, negated]` in canonical order. A query with dereferences has no such form
   * until it is resolved against a DB: DDB_QUERY_RESOLVE.
   * @example Q.parse('~(a | b)').toCnf() // [[[a, true]], [[b, true]]] (terms as bytes)
   */
  toCnf(): Array<Array<[Uint8Array, boolean]>> {
    return this.clauses.map((c) =>
      c.literals.map((l): [Uint8Array, boolean] => {
        if (l.kind === 'meta') {
          throw new DiscoError('DDB_QUERY_RESOLVE', `expected a query without dereference for toCnf(), found ${this.toString()}`)
        }
        return [l.term, l.negated]
      }),
    )
  }

  /** The original's text form (spec 8.5), clauses and literals in canonical order. */
  toString(): string {
    const parts = this.clauses.map((c) => c.literals.map((l) => dispatch(formatLiteral, l)).join(' | '))
    return parts.length > 1 ? parts.map((p) => `(${p})`).join(' & ') : (parts[0] ?? '')
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer and parser

/** Expression tree produced by the parser. */
export type Expr =
  | { readonly kind: 'term'; readonly term: Uint8Array }
  | { readonly kind: 'not'; readonly arg: Expr }
  | { readonly kind: 'deref'; readonly arg: Expr }
  | { readonly kind: 'and'; readonly args: readonly Expr[] }
  | { readonly kind: 'or'; readonly args: readonly Expr[] }
type ExprKind = Expr['kind']

type Token = { readonly op: '&' | '|' | '~' | '+' | '(' | ')' | 'end'; readonly at: number } | { readonly op: 'term'; readonly at: number; readonly term: Uint8Array }

const OPS: Record<number, '&' | '|' | '~' | '+' | '(' | ')'> = {
  0x26: '&', 0x7c: '|', 0x7e: '~', 0x2b: '+', 0x2a: '+', 0x28: '(', 0x29: ')',
}

/** ASCII whitespace as Python's `\s` on byte strings. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d)
}

/** Splits query bytes into operator and term tokens (spec 8.1 step 2). */
export function tokenize(src: Uint8Array): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (isSpace(c)) {
      i++
      continue
    }
    const op = OPS[c]
    if (op !== undefined) {
      out.push({ op, at: i })
      i++
      continue
    }
    const start = i
    while (i < src.length && OPS[src[i]!] === undefined) i++
    let end = i
    while (end > start && isSpace(src[end - 1]!)) end--
    out.push({ op: 'term', at: start, term: src.subarray(start, end) })
  }
  out.push({ op: 'end', at: src.length })
  return out
}

function syntax(expected: string, t: Token): never {
  const found = t.op === 'end' ? 'end of input' : t.op === 'term' ? `term "${utf8(t.term)}"` : `"${t.op}"`
  throw new DiscoError('DDB_QUERY_SYNTAX', `query syntax: expected ${expected} at offset ${t.at}, found ${found}`)
}

/** Parses query bytes into an expression; `undefined` for the empty input (the empty query). */
export function parseExpr(src: Uint8Array): Expr | undefined {
  if (src.length === 0) return undefined
  const toks = tokenize(src)
  let p = 0
  let depth = 0
  const enter = (): void => {
    if (++depth > MAX_NESTING) syntax(`at most ${MAX_NESTING} nested operators`, toks[p]!)
  }
  /** Adds `e` to the operands of a `kind` node, flattening a parenthesised node of the same kind. */
  const push = (args: Expr[], e: Expr, kind: 'and' | 'or'): void => {
    if (e.kind === kind) for (const a of e.args) args.push(a)
    else args.push(e)
  }
  const orExpr = (): Expr => {
    const args: Expr[] = []
    push(args, andExpr(), 'or')
    while (toks[p]!.op === '|') {
      p++
      push(args, andExpr(), 'or')
    }
    return args.length === 1 ? args[0]! : { kind: 'or', args }
  }
  const andExpr = (): Expr => {
    const args: Expr[] = []
    push(args, unary(), 'and')
    while (toks[p]!.op === '&') {
      p++
      push(args, unary(), 'and')
    }
    return args.length === 1 ? args[0]! : { kind: 'and', args }
  }
  const unary = (): Expr => {
    const t = toks[p]!
    if (t.op === '~' || t.op === '+') {
      p++
      enter()
      const arg = unary()
      depth--
      return { kind: t.op === '~' ? 'not' : 'deref', arg }
    }
    if (t.op === 'term') {
      p++
      return { kind: 'term', term: t.term }
    }
    if (t.op === '(') {
      p++
      enter()
      if (toks[p]!.op === ')') syntax('an expression inside "()"', toks[p]!)
      const e = orExpr()
      if (toks[p]!.op !== ')') syntax('")"', toks[p]!)
      p++
      depth--
      return e
    }
    return syntax('a term, "~", "*", "+" or "("', t)
  }
  const e = orExpr()
  if (toks[p]!.op !== 'end') syntax('"&", "|" or end of input', toks[p]!)
  return e
}

/** Normal-form pass over the expression tree. */
const toQPass: { [K in ExprKind]: (e: Extract<Expr, { kind: K }>, b: Budget) => Q } = {
  term: (e) => Q.literal(termLiteral(e.term, false)),
  not: (e, b) => notQ(toQ(e.arg, b), b),
  deref: (e, b) => toQ(e.arg, b).deref(),
  and: (e, b) => andMany(e.args.map((a) => toQ(a, b)), b),
  or: (e, b) => orMany(e.args.map((a) => toQ(a, b)), b),
}

/**
 * The normal form of an expression (`undefined` → the empty query), within one work budget.
 * Errors: DDB_QUERY_TOO_LARGE, before an oversized expansion is built.
 */
export function toQ(e: Expr | undefined, budget: Budget = new Budget()): Q {
  if (e === undefined) return Q.of([])
  return (toQPass[e.kind] as (e: Expr, b: Budget) => Q)(e, budget)
}

/** Internal combinators for passes in this layer (resolution) that share one budget. */
export const combine = { or: orMany, and: andMany, not: notQ }

/** Canonical text of a plain CNF (for tests and tools): JSON of [latin1 term, negated] clauses. */
export function cnfKey(cnf: Array<Array<[Uint8Array, boolean]>>): string {
  const clauses = cnf.map((c) => {
    const lits = [...new Set(c.map(([t, n]) => JSON.stringify([latin1(t), n])))].sort()
    return JSON.stringify(lits)
  })
  return JSON.stringify([...new Set(clauses)].sort())
}
