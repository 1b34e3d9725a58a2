// Q1 (float formatting), Q3 (booleans), Q10 (key text) and Q14 (exact integer sums) — docs/inferno.md.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { add, coerce, formatValue, keyText, sumInto, utcDay } from 'disco-inferno'
import { mulberry32 } from '#src/util/random.js'

test('Q10: key parts become text; null and absent are missing', () => {
  assert.equal(keyText('a'), 'a')
  assert.equal(keyText(''), '')
  assert.equal(keyText(1), '1')
  assert.equal(keyText(1.0), '1') // decision: JSON 1.0 is the number 1 (one JS number type)
  assert.equal(keyText(1.5), '1.5')
  assert.equal(keyText(12345678901234567890n), '12345678901234567890')
  assert.equal(keyText(true), 'True')
  assert.equal(keyText(false), 'False')
  assert.equal(keyText({ x: 1 }), '{"x":1}') // decision: compact JSON instead of Python repr
  assert.equal(keyText([1, 'a']), '[1,"a"]')
  assert.equal(keyText(new Date(Date.UTC(2012, 11, 1))), '2012-12-01')
  assert.equal(keyText(null), undefined)
  assert.equal(keyText(undefined), undefined)
})

test('Q3/Q14: value coercion', () => {
  assert.equal(coerce(null), 0)
  assert.equal(coerce('3'), 3)
  assert.equal(coerce(' 2.5 '), 2.5)
  assert.equal(coerce('x'), 0)
  assert.equal(coerce(''), 0)
  assert.equal(coerce('0x10'), 0) // Python float() rejects hex
  assert.equal(coerce('1e3'), 1000)
  assert.equal(coerce('inf'), Infinity)
  assert.equal(coerce([1, 2]), 0)
  assert.equal(coerce({}), 0)
  assert.equal(coerce(true), 1) // Q3: booleans always 0/1
  assert.equal(coerce('123456789012345678901234567890'), 123456789012345678901234567890n)
})

test('Q14: integer sums are exact beyond 2^53 (bigint), floats stay doubles', () => {
  assert.equal(add(2 ** 53 - 1, 2), 9007199254740993n)
  assert.equal(add(9007199254740993n, -2), 2 ** 53 - 1)
  assert.equal(add(1, 0.5), 1.5)
  assert.equal(add(10n ** 20n, 0.5), 1e20 + 0.5)
  // Seeded random: sums of large integers equal the bigint oracle.
  let seed = 12345
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed }
  let acc: number | bigint = 0
  let oracle = 0n
  for (let i = 0; i < 1000; i++) {
    const v = rnd() * 2 ** 22 + rnd()
    acc = add(acc, v)
    oracle += BigInt(v)
  }
  assert.equal(BigInt(acc), oracle, `seed 12345`)
  assert.deepEqual(sumInto([1, 2], [3, 'x', 4]), [4, 2, 4])
  assert.deepEqual(sumInto([1, 2, 3], [1]), [2, 2, 3])
})

test('Q1: number formatting (g12 default, shortest optional)', () => {
  assert.equal(formatValue(0.1 + 0.2), '0.3')
  assert.equal(formatValue(0.1 + 0.2, 'shortest'), '0.30000000000000004')
  assert.equal(formatValue(25), '25') // decision: integral values print as integers ("25", not "25.0")
  assert.equal(formatValue(80.25), '80.25')
  assert.equal(formatValue(2638951207746), '2638951207746')
  assert.equal(formatValue(2n ** 64n), '18446744073709551616')
  assert.equal(formatValue(1e20), '1e+20')
  assert.equal(formatValue(1.5e-7), '1.5e-07')
  assert.equal(formatValue(123456.7890123), '123456.789012')
  assert.equal(formatValue(-0.5), '-0.5')
  assert.equal(formatValue(NaN), 'nan')
  assert.equal(formatValue(-Infinity), '-inf')
  assert.equal(formatValue(true), 'True')
  assert.equal(formatValue(null), '')
})

test('utcDay equals new Date(ms).toISOString().slice(0, 10) on every time (differential, seeded), throws alike', () => {
  const slow = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
  const outcome = (f: () => string): string => {
    try {
      return f()
    } catch (e) {
      return `${(e as Error).name}`
    }
  }
  const LIMIT = 8.64e15
  const DAY = 86_400_000
  const fixed = [0, -0, 0.5, -0.5, 1, -1, 0.999, -0.999, DAY - 1, DAY, -DAY, -DAY - 1, -DAY + 1, -DAY + 0.5, 1763596800123,
    LIMIT, -LIMIT, LIMIT - 1, -LIMIT + 1, LIMIT - 0.5, -LIMIT + 0.5, LIMIT + 1, -LIMIT - 1, LIMIT + 0.5, NaN, Infinity, -Infinity,
    Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 253402300799999,
    253402300800000, -62167219200000, -62167219200001, 1e15 + 0.25]
  const r = mulberry32(11)
  const random: number[] = []
  for (let i = 0; i < 20_000; i++) {
    const k = r()
    // Near day ends, anywhere in range, near the limits, fractions.
    if (k < 0.3) random.push(Math.round((r() - 0.5) * 2e5) * DAY + Math.floor(r() * 5) - 2)
    else if (k < 0.6) random.push(Math.floor((r() - 0.5) * 2 * LIMIT))
    else if (k < 0.8) random.push((r() < 0.5 ? 1 : -1) * (LIMIT - Math.floor(r() * 3 * DAY)) + (r() < 0.5 ? 0 : 0.5))
    else random.push((r() - 0.5) * 2e13)
  }
  for (const ms of [...fixed, ...random, ...fixed]) {
    assert.equal(outcome(() => utcDay(ms)), outcome(() => slow(ms)), `ms ${ms}`)
  }
  assert.throws(() => utcDay(NaN), RangeError)
  assert.equal(utcDay(-1), '1969-12-31')
  assert.equal(utcDay(LIMIT), '+275760-09')
})

test('utcDay right on the first days of 1970 and on days sharing their cache slots (the module computes a few of them at load)', () => {
  const DAY = 86_400_000
  for (const d of [0, 1, 2, 7, 15, 16, 512, 513, 527, 1024 + 15, -512, -1]) {
    for (const ms of [d * DAY, d * DAY + 1, d * DAY + DAY - 1]) assert.equal(utcDay(ms), new Date(ms).toISOString().slice(0, 10), `ms ${ms}`)
  }
})
