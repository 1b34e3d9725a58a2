// The build reads NDJSON on bytes (a field scanner decoding only the four fields) and falls back to
// the full parser where the scanner cannot decide: both must read every line as JSON.parse does —
// integers beyond 2^53, properties holding them, duplicate keys, CRLF, blank lines, trailing
// bytes, dotted field paths and `*` properties.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore, buildModel, Model, segmentUsers } from '#src/index.js'
import { tempDir } from './seed.js'

/** Every user id of a model with its events' property objects. */
async function usersOf(model: Model): Promise<Map<string, (Record<string, unknown> | null)[]>> {
  const out = new Map<string, (Record<string, unknown> | null)[]>()
  for (const sh of await model.shards()) {
    for (let g = 1; g <= sh.users; g++) {
      const ev = sh.events(g)
      out.set(sh.userId(g), Array.from({ length: ev.n }, (_, i) => ev.props(i)))
    }
  }
  return out
}

test('NDJSON lines read on bytes equal JSON.parse readings, edge cases included', async (t) => {
  const dir = tempDir(t)
  const ddfs = openStore(dir)
  const file = join(dir, 'edge.ndjson')
  writeFileSync(file, [
    '{"user":"a","event":"x","time":1700000000000,"props":{"k":"v"}}',
    '{"user":12345678901234567890,"event":"x","time":1700000000001}',
    '{"user":"b","event":"x","time":1700000000002,"props":{"big":12345678901234567890}}',
    '   ',
    '{"user":"c","event":"x","time":1700000000003}\r',
    '{bad',
    '[1]',
    '{"user":"d","event":"x","time":"2026-02-30T00:00:00Z"}',
    '{"user":"e","event":"x","time":1} trailing',
    '{"user":"f","event":"x","time":1700000000004,"user":"g"}',
    '{"user":"h","event":"x","time":1700000000005,"props":null}',
  ].join('\n') + '\n')
  await ddfs.push('edge', [file])
  const r = await buildModel(ddfs, { inputs: ['edge'], model: 'm:edge', shards: 2, executor: 'in-process' })
  assert.deepEqual(r.invalid, { json: 3, user: 0, event: 0, time: 1 })
  assert.equal(r.events, 6)
  const users = await usersOf(await Model.open(ddfs, 'm:edge'))
  assert.deepEqual([...users.keys()].sort(), ['12345678901234567000', 'a', 'b', 'c', 'g', 'h'])
  assert.deepEqual(users.get('a'), [{ k: 'v' }])
  assert.deepEqual(users.get('b'), [{ big: 12345678901234567000 }])
  assert.deepEqual(users.get('h'), [null])
})

test('dotted field paths and * properties (the full parser) build the same keys', async (t) => {
  const dir = tempDir(t)
  const ddfs = openStore(dir)
  const file = join(dir, 'paths.ndjson')
  writeFileSync(file, [
    '{"properties":{"distinct_id":"z","country":"FI"},"name":"open","ts":1700000000000}',
    '{"properties":{"distinct_id":"y"},"name":"open","ts":1700000000000}',
    '{"properties.distinct_id":"literal","name":"open","ts":1700000000000}',
  ].join('\n') + '\n')
  await ddfs.push('paths', [file])
  const r = await buildModel(ddfs, { inputs: ['paths'], model: 'm:paths', shards: 1, executor: 'in-process', fields: { user: 'properties.distinct_id', event: 'name', time: 'ts', props: 'properties' } })
  assert.equal(r.events, 3)
  const model = await Model.open(ddfs, 'm:paths')
  assert.deepEqual([...(await usersOf(model)).keys()].sort(), ['literal', 'y', 'z'])
  assert.equal((await segmentUsers(model, { q: 'country=FI' })).size, 1)

  const flat = join(dir, 'flat.ndjson')
  writeFileSync(flat, '{"user":"s","event":"x","time":1700000000000,"country":"FI","n":12345678901234567890}\n')
  await ddfs.push('flat', [flat])
  await buildModel(ddfs, { inputs: ['flat'], model: 'm:flat', shards: 1, executor: 'in-process', fields: { props: '*' } })
  const m2 = await Model.open(ddfs, 'm:flat')
  assert.deepEqual((await usersOf(m2)).get('s'), [{ country: 'FI', n: 12345678901234567000 }])
})
