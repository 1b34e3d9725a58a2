// Which cluster errors count as transient (retried through a leader election) and which pass at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { JetStreamApiError } from '@nats-io/jetstream'
import { isTransient, transient } from '#src/cluster/retry.js'
import { DiscoError } from '#src/errors.js'

test('JetStream API errors of an election are transient; a missing stream and our own coded errors are not', () => {
  // What a KV read got from the survivors right after kill -9 of the tag stream's leader (failover.test.ts).
  assert.equal(isTransient(new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' })), true)
  assert.equal(isTransient(new JetStreamApiError({ code: 503, err_code: 10039, description: 'jetstream not enabled' })), true)
  // Any 503 from the JetStream API is a service that is not there yet, whatever its text.
  assert.equal(isTransient(new JetStreamApiError({ code: 503, err_code: 10999, description: 'some new wording' })), true)
  assert.equal(isTransient(new JetStreamApiError({ code: 404, err_code: 10059, description: 'stream not found' })), false)
  assert.equal(isTransient(new DiscoError('DDFS_TAG_NOT_FOUND', 'no such tag: a timeout')), false)
})

test('transient retries a temporarily unavailable JetStream until it answers, and passes other errors at once', async () => {
  let calls = 0
  const v = await transient(async () => {
    if (++calls < 3) throw new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' })
    return 'ok'
  }, { what: 'read tag t', windowMs: 10_000 })
  assert.equal(v, 'ok')
  assert.equal(calls, 3)
  calls = 0
  await assert.rejects(transient(async () => { calls++; throw new JetStreamApiError({ code: 404, err_code: 10059, description: 'stream not found' }) }, { what: 'x' }),
    (e: Error) => e.name === 'JetStreamApiError' && calls === 1)
})
