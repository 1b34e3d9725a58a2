// The writer's error codes: a second finalize, bad argument types, inputs beyond the format's u32
// limits — and that a failed add leaves the constructor exactly as before.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DiscoDBConstructor } from '#src/discodb/constructor.js'
import { LIMITS } from '#src/discodb/writer.js'
import { isDiscoError } from '#src/errors.js'
import { keyRecord, parseHeader } from './writer-helpers.js'

const code = (c: string) => (e: unknown) => isDiscoError(e, c)

test('a second finalize is DDB_FINALIZED, as is add after finalize', () => {
  const c = new DiscoDBConstructor().add('a', 'b')
  c.finalizeBytes()
  assert.throws(() => c.finalizeBytes(), code('DDB_FINALIZED'))
  assert.throws(() => c.add('x', 'y'), code('DDB_FINALIZED'))
})

test('wrong argument types are DDB_BAD_ARGUMENT and change nothing', () => {
  const c = new DiscoDBConstructor().add('k', ['v'])
  assert.throws(() => c.add(42 as unknown as string, 'v'), code('DDB_BAD_ARGUMENT'))
  assert.throws(() => c.add('k2', 42 as unknown as string), code('DDB_BAD_ARGUMENT'))
  assert.throws(() => c.add('k3', ['ok', null as unknown as string]), code('DDB_BAD_ARGUMENT'))
  assert.throws(() => c.add('k4', null as unknown as string), code('DDB_BAD_ARGUMENT'))
  const out = c.finalizeBytes()
  const h = parseHeader(out)
  assert.equal(h.numKeys, 1)
  assert.equal(h.numUniqueValues, 1, 'the value "ok" of the failed add was rolled back')
  assert.equal(h.numValues, 1)
})

test('more distinct values than the limit: DDB_TOO_LARGE before any work is lost', () => {
  const saved = { ...LIMITS }
  try {
    LIMITS.maxEntries = 3
    const c = new DiscoDBConstructor()
    c.add('k', ['a', 'b', 'c'])
    assert.throws(() => c.add('k2', ['a', 'd']), code('DDB_TOO_LARGE'))
    assert.throws(() => c.add('k5', 'x'), code('DDB_TOO_LARGE')) // k5 would be the 3rd key: fine; x the 4th value
    c.add('k', 'a')
    const out = c.finalizeBytes()
    assert.equal(parseHeader(out).numKeys, 1)
    assert.deepEqual(keyRecord(out, 0).ids, [1, 1, 2, 3])
  } finally {
    Object.assign(LIMITS, saved)
  }
})

test('more key or value bytes than the limit: DDB_TOO_LARGE', () => {
  const saved = { ...LIMITS }
  try {
    LIMITS.maxBytes = 1 << 17 // the first buffer is 64 KiB; the limit stops its growth
    const c = new DiscoDBConstructor()
    c.add('k', new Uint8Array(100000))
    assert.throws(() => c.add('k', new Uint8Array(40000).fill(1)), code('DDB_TOO_LARGE'))
    assert.throws(() => c.add('k', 'é'.repeat(20000)), code('DDB_TOO_LARGE'))
    const out = c.finalizeBytes()
    assert.equal(parseHeader(out).numUniqueValues, 1)
  } finally {
    Object.assign(LIMITS, saved)
  }
})
