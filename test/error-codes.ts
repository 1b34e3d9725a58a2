// How a test asks which coded error a call gave: one helper for every test directory.
import assert from 'node:assert/strict'
import { DiscoError } from 'disco-inferno'

/**
 * The code of the DiscoError `f` throws, or 'no error' when it returns; anything else thrown
 * fails the test.
 *
 * @example
 * assert.equal(thrownCode(() => Q.parse('a & (')), 'DDB_QUERY_SYNTAX')
 */
export function thrownCode(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof DiscoError, `expected a DiscoError, got ${String(e)}`)
    return e.code
  }
  return 'no error'
}

/**
 * A check for `assert.rejects` / `assert.throws`: a DiscoError with `code`.
 *
 * @example
 * await assert.rejects(store.get('raw://../x'), isCode('DDFS_BAD_URL'))
 */
export const isCode = (code: string) => (e: unknown): boolean => e instanceof DiscoError && e.code === code
