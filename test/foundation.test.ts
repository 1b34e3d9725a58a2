import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoError, isDiscoError } from 'disco-inferno'

test('DiscoError carries a stable code and is an Error', () => {
  const e = new DiscoError('DDB_CORRUPT', 'key TOC offset 9123 exceeds file size 8000')
  assert.ok(e instanceof Error)
  assert.equal(e.code, 'DDB_CORRUPT')
  assert.equal(e.name, 'DiscoError')
  assert.ok(isDiscoError(e, 'DDB_CORRUPT'))
  assert.ok(!isDiscoError(e, 'DDB_BAD_MAGIC'))
  assert.ok(!isDiscoError(new Error('x')))
})
