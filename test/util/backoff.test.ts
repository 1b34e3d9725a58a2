import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay } from '#src/util/backoff.js'

test('backoffDelay: capped exponential step with added jitter, or spread over [floor, step]', () => {
  const zero = () => 0
  const almost = () => 0.999
  assert.deepEqual([1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1000, 5000, { random: zero })), [1000, 2000, 4000, 5000, 5000])
  assert.equal(backoffDelay(2, 1000, 60_000, { random: almost }), 2999)
  assert.equal(backoffDelay(3, 1000, 60_000, { random: () => 0.5, spread: true }), 2500)
  assert.equal(backoffDelay(9, 1, 50, { random: zero, spread: true, floorMs: 0 }), 0)
  assert.equal(backoffDelay(9, 1, 50, { random: () => 0.5, spread: true, floorMs: 0 }), 25)
  for (let n = 1; n < 20; n++) {
    const d = backoffDelay(n, 10, 300, { random: Math.random })
    assert.ok(d >= Math.min(10 * 2 ** (n - 1), 300) && d < Math.min(10 * 2 ** (n - 1), 300) + 10)
  }
})
