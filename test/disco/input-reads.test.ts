// File inputs are read synchronously in pool workers and asynchronously in the main thread: both
// give every line (lines across 1 MiB read boundaries, a last line without a newline) and the
// same results, in the record and the bytes form; a bytes-form map marked reusesChunks gets a plain
// file's chunks in one buffer; a missing file is DISCO_INPUT_NOT_FOUND in both.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { WorkerPoolExecutor, jobTasks, openLocalStores, runJob, type JobSpec } from 'disco-inferno'
import { collect, fn, rng, tempDir } from './helpers.js'

const SEED = Number(process.env.DISCO_TEST_SEED ?? 20261127)

test('file inputs read in a worker (sync) and in process (async) give the same lines and results, record and bytes form', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const r = rng(SEED)
  const inputs: string[] = []
  let lines = 0
  for (let f = 0; f < 2; f++) {
    const out: string[] = []
    // ≈ 2.6 MiB: lines fall across the 1 MiB reads; long lines now and then.
    for (let size = 0; size < 2.6 * 1048576;) {
      const l = JSON.stringify({ k: `k${Math.floor(r() * 500)}`, v: Math.floor(r() * 1000), pad: 'p'.repeat(r() < 0.01 ? 5000 : Math.floor(r() * 60)) })
      out.push(l)
      size += l.length + 1
    }
    lines += out.length
    const p = join(dir, `in-${f}.ndjson`)
    writeFileSync(p, out.join('\n') + (f === 1 ? '' : '\n'))
    inputs.push(f === 0 ? p : `file://${p}`)
  }
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  const base: JobSpec = { inputs, reduce: fn('rowReduce'), combiner: fn('rowCombine'), partitions: 3 }
  const ref = await runJob({ ...base, map: fn('rowMap') }, { store, executor: 'in-process' })
  assert.equal((await ref.wait()).records, lines)
  const expected = await collect(ref.results())
  for (const [map, mapForm] of [['rowMap', 'record'], ['rowBytesMap', 'bytes']] as const) {
    for (const executor of [pool, 'in-process'] as const) {
      const job = await runJob({ ...base, map: fn(map), mapForm }, { store, executor })
      // The bytes form counts newlines (the last line of in-1 has none).
      assert.equal((await job.wait()).records, mapForm === 'bytes' ? lines - 1 : lines, `${mapForm} ${executor === pool ? 'pool' : 'in-process'}`)
      assert.deepEqual(await collect(job.results()), expected, `${mapForm} ${executor === pool ? 'pool' : 'in-process'} seed ${SEED}`)
    }
  }
  // A map that keeps nothing of a chunk past the next (reusesChunks): a plain file comes in one
  // buffer read over and over, a gzip file as gunzipped; the same results.
  const gz = join(dir, 'in-0.ndjson.gz')
  writeFileSync(gz, gzipSync(readFileSync(inputs[0]!)))
  for (const executor of [pool, 'in-process'] as const) {
    const job = await runJob({ ...base, inputs: [...inputs, gz], map: fn('rowBytesMapReusing'), mapForm: 'bytes' }, { store, executor })
    const where = executor === pool ? 'pool' : 'in-process'
    const refGz = await runJob({ ...base, inputs: [...inputs, gz], map: fn('rowMap') }, { store, executor: 'in-process' })
    await refGz.wait()
    await job.wait()
    assert.deepEqual(await collect(job.results()), await collect(refGz.results()), `${where} seed ${SEED}`)
    const stats = (await jobTasks(store, job.name)).filter((x) => x.task.startsWith('map:')).map((x) => x.stats as { chunks: number; buffers: number })
    assert.equal(stats.length, 3)
    for (const s of stats.slice(0, 2)) assert.deepEqual([s.chunks, s.buffers], [3, 1], `${where}: a plain file's three 1 MiB reads in one buffer`)
  }
  // A missing file, read in a worker: coded, in both forms.
  for (const [map, mapForm] of [['rowMap', 'record'], ['rowBytesMap', 'bytes']] as const) {
    const job = await runJob({ ...base, inputs: [join(dir, 'missing.ndjson')], map: fn(map), mapForm, maxAttempts: 1 }, { store, executor: pool })
    await assert.rejects(job.wait(), (e: unknown) => /DISCO_INPUT_NOT_FOUND|does not exist/.test((e as Error).message))
  }
})

test('DDFS blob inputs of a map that reuses chunks: a plain blob comes in one buffer, a gzip blob in buffers of its own; the same results', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const r = rng(SEED + 1)
  const out: string[] = []
  for (let size = 0; size < 2.6 * 1048576;) {
    // Random padding: the gzip blob too is more than one 1 MiB read.
    const pad = Array.from({ length: Math.floor(r() * 80) }, () => String.fromCharCode(33 + Math.floor(r() * 90)).replace(/["\\]/, 'x')).join('')
    const l = JSON.stringify({ k: `k${Math.floor(r() * 300)}`, v: Math.floor(r() * 1000), pad })
    out.push(l)
    size += l.length + 1
  }
  const text = Buffer.from(out.join('\n') + '\n')
  const { ddfs } = openLocalStores(store)
  await ddfs.push('in:plain', [{ name: 'plain', data: text }])
  const gz = gzipSync(text)
  assert.ok(gz.length > 1048576, `the gzip blob is ${gz.length} bytes: more than one read`)
  await ddfs.push('in:gzip', [{ name: 'gzip', data: gz }])
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  const base: JobSpec = { inputs: ['tag://in:plain', 'tag://in:gzip'], reduce: fn('rowReduce'), combiner: fn('rowCombine'), partitions: 3 }
  const ref = await runJob({ ...base, map: fn('rowMap') }, { store, executor: 'in-process' })
  assert.equal((await ref.wait()).records, 2 * out.length)
  const expected = await collect(ref.results())
  for (const executor of [pool, 'in-process'] as const) {
    const where = executor === pool ? 'pool' : 'in-process'
    const job = await runJob({ ...base, map: fn('rowBytesMapReusing'), mapForm: 'bytes' }, { store, executor })
    await job.wait()
    assert.deepEqual(await collect(job.results()), expected, `${where} seed ${SEED + 1}`)
    const stats = (await jobTasks(store, job.name)).filter((x) => x.task.startsWith('map:')).map((x) => x.stats as { chunks: number; buffers: number })
    assert.equal(stats.length, 2)
    assert.ok(stats.some((s) => s.chunks === 3 && s.buffers === 1), `${where}: the plain blob's three 1 MiB reads in one buffer (${JSON.stringify(stats)})`)
    assert.ok(stats.some((s) => s.buffers > 1), `${where}: the gzip blob's gunzipped chunks in buffers of their own (${JSON.stringify(stats)})`)
  }
})
