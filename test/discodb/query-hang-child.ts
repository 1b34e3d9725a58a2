// Child process of query-limits.test.ts: runs the hostile queries of issue 10 and prints one JSON
// line of outcomes. The parent runs it under a generous timeout and a small heap as a hang
// detector; its assertions are on the codes and results printed here, never on time.
import { DiscoDB, DiscoDBConstructor, DiscoError, Q } from 'disco-inferno'

const outcome = (f: () => unknown): unknown => {
  try {
    return f()
  } catch (e) {
    return e instanceof DiscoError ? e.code : `not a DiscoError: ${String(e)}`
  }
}

export const hostile = {
  /** An OR of 10,000 terms (was quadratic: 27 s). */
  or10k: Array.from({ length: 10_000 }, (_, i) => `term${i}`).join(' | '),
  /** Under 200 bytes, whose De Morgan expansion is 5^8 clauses (was 7.8 s before the error). */
  not161: `~(${Array.from({ length: 8 }, (_, i) => `(${Array.from({ length: 5 }, (_, j) => `k${i}${j}`).join('|')})`).join('&')})`,
  /** 3.5 KB: two conjunctions distributed, then 300 single terms each re-expanding them (never finished, > 1 GB). */
  wide: [
    `(${Array.from({ length: 200 }, (_, i) => `x${i}`).join('&')})`,
    `(${Array.from({ length: 200 }, (_, i) => `y${i}`).join('&')})`,
    ...Array.from({ length: 300 }, (_, i) => `t${i}`),
  ].join('|'),
}

if (process.argv[2] === 'run') {
  const n = 160_000
  const c = new DiscoDBConstructor()
  c.add('k', Array.from({ length: n }, (_, i) => `v${i}`))
  for (let i = 0; i < n; i += 2) c.add(`v${i}`, [`w${i % 7}`])
  const db = DiscoDB.loads(c.finalizeBytes())
  const result = {
    or10k: outcome(() => Q.parse(hostile.or10k).clauses[0]!.literals.length),
    not161: outcome(() => Q.parse(hostile.not161)),
    wide: outcome(() => Q.parse(hostile.wide)),
    deref: outcome(() => db.query('*k').toStrings().sort()),
    derefAnd: outcome(() => db.query('*k & ~w1').count()),
    // 160,000 negated unit clauses exceed MAX_CLAUSES: refused, not hung.
    derefNot: outcome(() => db.query('~*k & v0').count()),
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
