import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pathToFileURL } from 'node:url'
import { normalizeSpec, planJob, jobName, retryDelay, isDiscoError } from 'disco-inferno'

test('planJob: one map task per input, one reduce task per partition', () => {
  const plan = planJob('wc@1:2:3', 3, ['raw://a', 'file:///x', 'raw://b'])
  assert.deepEqual(plan.mapTasks.map((t) => [t.id, t.index, t.input]), [['map:0', 0, 'raw://a'], ['map:1', 1, 'file:///x'], ['map:2', 2, 'raw://b']])
  assert.deepEqual(plan.reduceTasks.map((t) => [t.id, t.partition]), [['reduce:0', 0], ['reduce:1', 1], ['reduce:2', 2]])
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.mapTasks[0]))
})

test('normalizeSpec applies defaults and resolves relative modules against cwd', () => {
  const s = normalizeSpec({ inputs: ['raw://a'], map: { module: './m.js', export: 'map' }, reduce: { module: 'some-pkg' } }, '/work/x')
  assert.equal(s.map!.module, pathToFileURL('/work/x/m.js').href)
  assert.equal(s.reduce!.module, 'some-pkg')
  assert.equal(s.reduce!.export, 'default')
  assert.deepEqual([s.prefix, s.partitions, s.sort, s.maxAttempts, s.mapForm], ['job', 1, true, 3, 'record'])
  assert.deepEqual(s.params, {})
  assert.equal(s.save, undefined)
  assert.equal(normalizeSpec({ inputs: ['raw://a'], map: { module: '/m.js' }, save: true }, '/').save, '')
})

test('normalizeSpec rejects bad specs with coded errors', () => {
  const base = { inputs: ['raw://a'], map: { module: '/m.js' } }
  const cases: [unknown, string][] = [
    [{ ...base, inputs: [] }, 'DISCO_BAD_SPEC'],
    [{ inputs: ['raw://a'] }, 'DISCO_BAD_SPEC'],
    [{ ...base, partitions: 0 }, 'DISCO_BAD_SPEC'],
    [{ ...base, partitions: 2.5 }, 'DISCO_BAD_SPEC'],
    [{ ...base, prefix: 'bad name' }, 'DISCO_BAD_SPEC'],
    [{ ...base, map: { module: '' } }, 'DISCO_BAD_SPEC'],
    [{ ...base, save: 'bad tag!' }, 'DISCO_BAD_SPEC'],
    [{ ...base, save: 'has.dot' }, 'DISCO_BAD_SPEC'], // DDFS's rule: a '.' is not in the tag grammar
    [{ ...base, save: 'x'.repeat(512) }, 'DISCO_BAD_SPEC'],
    [{ ...base, params: { f: () => 1 } }, 'DISCO_BAD_PARAMS'],
    [{ ...base, params: { n: 10n } }, 'DISCO_BAD_PARAMS'],
  ]
  for (const [spec, code] of cases) {
    assert.throws(() => normalizeSpec(spec as never, '/'), (e) => isDiscoError(e, code), JSON.stringify(spec, (_k, v) => (typeof v === 'bigint' ? 'bigint' : v)))
  }
})

test('jobName has Disco form and bumps for the same instant', () => {
  assert.equal(jobName('wc', 1_700_000_000_123_456), 'wc@6a4:0:1e240')
  assert.notEqual(jobName('wc', 5, 0), jobName('wc', 5, 1))
})

test('retryDelay grows exponentially, is capped, and adds jitter below base', () => {
  assert.equal(retryDelay(1, 100, 1000, () => 0), 100)
  assert.equal(retryDelay(3, 100, 1000, () => 0), 400)
  assert.equal(retryDelay(10, 100, 1000, () => 0), 1000)
  assert.equal(retryDelay(10, 100, 1000, () => 0.999), 1099)
})
