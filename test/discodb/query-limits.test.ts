// Query hardening (issue 10): normalisation is linear where it can be, an exploding normal form
// is refused before it is built, and dereference is linear in the key's value count. Work is
// measured with the parser's counters, never with a clock; the hostile cases also run in a child
// process under a generous timeout and a small heap as a hang detector.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DiscoDB, DiscoDBConstructor, MAX_CLAUSES, Q, type NormalizeStats } from 'disco-inferno'
import { hostile } from './query-hang-child.js'
import { thrownCode } from '../error-codes.js'

const stats = (): NormalizeStats => ({ work: 0, expandedClauses: 0 })

test('an OR of n terms costs work linear in n', () => {
  const work = (n: number): number => {
    const s = stats()
    const q = Q.parse(Array.from({ length: n }, (_, i) => `term${i}`).join(' | '), { stats: s })
    assert.equal(q.clauses.length, 1)
    assert.equal(q.clauses[0]!.literals.length, n)
    return s.work
  }
  const w10 = work(10_000)
  const w20 = work(20_000)
  assert.ok(w10 > 0, 'the parser counts its work')
  // The clause's own text is ~12 characters per term; a quadratic fold builds n²/2 literals.
  assert.ok(w10 < 40 * 10_000, `work for 10k terms: ${w10}`)
  assert.ok(w20 < 2.5 * w10, `doubling the terms at most doubles the work: ${w10} → ${w20}`)
})

test('an AND of n terms negated costs work linear in n', () => {
  const s = stats()
  const q = Q.parse(`~(${Array.from({ length: 10_000 }, (_, i) => `t${i}`).join(' & ')})`, { stats: s })
  assert.equal(q.clauses.length, 1)
  assert.ok(s.work > 0 && s.work < 40 * 10_000, `work: ${s.work}`)
})

test('an exploding normal form is refused before any of it is built', () => {
  const s = stats()
  assert.ok(hostile.not161.length < 200)
  assert.equal(thrownCode(() => Q.parse(hostile.not161, { stats: s })), 'DDB_QUERY_TOO_LARGE')
  assert.ok(s.work > 0, 'the negated clauses were counted')
  assert.ok(s.expandedClauses <= 40, `clauses built before the refusal: ${s.expandedClauses}`)
  const w = stats()
  assert.equal(thrownCode(() => Q.parse(hostile.wide, { stats: w })), 'DDB_QUERY_TOO_LARGE')
  assert.ok(w.expandedClauses === 0, `clauses built before the refusal: ${w.expandedClauses}`)
  // The combinators check the same way.
  const big = Q.parse(Array.from({ length: 400 }, (_, i) => `a${i}`).join(' & '))
  assert.equal(thrownCode(() => big.or(Q.parse(Array.from({ length: 400 }, (_, i) => `b${i}`).join(' & ')))), 'DDB_QUERY_TOO_LARGE')
  assert.ok(400 * 400 > MAX_CLAUSES)
})

test('normal forms stay the same: products, De Morgan, flattening, the empty query', () => {
  assert.equal(String(Q.parse('((a & b) & c) | d')), '(a | d) & (b | d) & (c | d)')
  assert.equal(String(Q.parse('(a | (b | (c)))')), 'a | b | c')
  assert.equal(String(Q.parse('~((a | b) & (c | d))')), '(~a | ~c) & (~a | ~d) & (~b | ~c) & (~b | ~d)')
  assert.equal(String(Q.parse('(a & b) | (a & b)')), '(a) & (a | b) & (b)')
  assert.equal(Q.parse('a').or(Q.of([])).clauses.length, 0)
  assert.equal(Q.parse('~~(a & b)').id, Q.parse('a & b').id)
})

test('dereference of a key with many values is linear (resolve and evaluate)', () => {
  const n = 50_000
  const c = new DiscoDBConstructor()
  c.add('k', Array.from({ length: n }, (_, i) => `v${i}`))
  for (let i = 0; i < n; i += 5) c.add(`v${i}`, [`w${i % 3}`])
  const db = DiscoDB.loads(c.finalizeBytes())
  const r = db.resolve('*k')
  assert.equal(r.clauses.length, 1)
  assert.equal(r.clauses[0]!.literals.length, n)
  assert.deepEqual(db.query('*k').toStrings().sort(), ['w0', 'w1', 'w2'])
  assert.equal(db.query('~*k').count(), db.header.numUniqueValues - 3)
})

test('hang detector: the hostile queries of issue 10 finish, in a child with a small heap', () => {
  const child = fileURLToPath(new URL('./query-hang-child.js', import.meta.url))
  const r = spawnSync(process.execPath, ['--max-old-space-size=512', child, 'run'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 24 })
  assert.equal(r.signal, null, `the child was stopped by ${r.signal} (hang or timeout); stderr: ${r.stderr.slice(0, 500)}`)
  assert.equal(r.status, 0, r.stderr.slice(0, 500))
  const out = JSON.parse(r.stdout) as Record<string, unknown>
  assert.deepEqual(out, {
    or10k: 10_000,
    not161: 'DDB_QUERY_TOO_LARGE',
    wide: 'DDB_QUERY_TOO_LARGE',
    deref: ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6'],
    derefAnd: 7,
    derefNot: 'DDB_QUERY_TOO_LARGE',
  })
})
