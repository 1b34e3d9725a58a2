// Map-task plumbing around the map function: outputs kept in memory until they are large
// (RecordBuffer), and a bytes-form map that counts its own newlines (`countsNewlines`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WorkerPoolExecutor, jobTasks, runJob, type JobProgress, type JobSpec } from 'disco-inferno'
import { RecordBuffer, RecordWriter, RunMerger } from '#src/disco/runs.js'
import { collect, fn, rng, tempDir } from './helpers.js'

const SEED = Number(process.env.DISCO_TEST_SEED ?? 20261127)

/** The (key, value) pairs of binary record files, in file order. */
function pairsOf(path: string): [string, unknown][] {
  const m = new RunMerger([path])
  const out: [string, unknown][] = []
  for (let r = m.next(); r; r = m.next()) out.push([r.key(), r.value()])
  return out
}

test('RecordBuffer: small outputs stay in memory as the bytes a RecordWriter writes; large ones go to the file', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED)
  const pairs: [string, unknown][] = Array.from({ length: 2000 }, (_v, i) => [`k${i}`, [i, r() < 0.5 ? 'x'.repeat(Math.floor(r() * 300)) : r()]])
  const write = (w: { raw(b: Buffer, s: number, e: number): void }, from: [string, unknown][]): void => {
    // The same record bodies into both: through a RecordWriter's own encoding.
    const enc = new RecordWriter(join(dir, `enc-${Math.floor(r() * 1e9)}`))
    for (const [k, v] of from) enc.pair(k, v)
    enc.commit()
    const m = new RunMerger([enc.path])
    for (let x = m.next(); x; x = m.next()) w.raw(x.buf, x.start, x.end)
  }
  const ref = new RecordWriter(join(dir, 'ref'))
  for (const [k, v] of pairs.slice(0, 50)) ref.pair(k, v)
  ref.commit()
  const small = new RecordBuffer(join(dir, 'small'), 1 << 20)
  write(small, pairs.slice(0, 50))
  const bytes = small.commit()
  assert.ok(bytes, 'a small output stays in memory')
  assert.equal(small.records, 50)
  assert.equal(existsSync(join(dir, 'small')), false, 'no file for it')
  assert.deepEqual(bytes, readFileSync(ref.path))
  // Past the limit (a few KiB here) the records go to the file, all of them, in order.
  const large = new RecordBuffer(join(dir, 'sub', 'large'), 4096)
  write(large, pairs)
  assert.equal(large.commit(), undefined)
  assert.equal(large.records, pairs.length)
  assert.deepEqual(pairsOf(large.path), pairs)
  // One record larger than the limit alone.
  const huge = new RecordBuffer(join(dir, 'huge'), 4096)
  write(huge, [['big', 'v'.repeat(100_000)], ['next', 1]])
  assert.equal(huge.commit(), undefined)
  assert.deepEqual(pairsOf(huge.path), [['big', 'v'.repeat(100_000)], ['next', 1]])
})

test('a bytes-form map that counts its newlines (countsNewlines) gives the records and progress the engine counts', async (t) => {
  const store = tempDir(t)
  const r = rng(SEED + 1)
  const inputs: string[] = []
  let newlines = 0
  for (let f = 0; f < 3; f++) {
    const lines: string[] = []
    // Past the engine's progress step (10 000 records), long lines, and a last line without a newline.
    for (let i = 0; i < 12_000 + f * 3000; i++) lines.push(JSON.stringify({ k: `u${Math.floor(r() * 200)}`, v: Math.floor(r() * 100), pad: r() < 0.01 ? 'p'.repeat(70_000) : '' }))
    const text = lines.join('\n') + (f === 1 ? '' : '\n')
    newlines += text.split('\n').length - 1
    const p = join(store, `in-${f}.ndjson`)
    writeFileSync(p, text)
    inputs.push(p)
  }
  const pool = new WorkerPoolExecutor({ size: 2 })
  t.after(() => pool.close())
  const base: JobSpec = { inputs, reduce: fn('rowReduce'), combiner: fn('rowCombine'), partitions: 3, mapForm: 'bytes' }
  const runs = []
  for (const map of ['rowBytesMap', 'rowBytesMapCounting']) {
    const seen: JobProgress[] = []
    const job = await runJob({ ...base, map: fn(map) }, { store, executor: pool, onProgress: (p) => seen.push(p) })
    const info = await job.wait()
    const maps = (await jobTasks(store, job.name)).filter((x) => x.task.startsWith('map:'))
    const lastMap = seen.filter((p) => p.phase === 'map').at(-1)!
    runs.push({ records: info.records, tasks: maps.map((x) => x.records), progress: lastMap.records, results: await collect(job.results()) })
  }
  assert.equal(runs[0]!.records, newlines)
  assert.deepEqual(runs[1], runs[0])
  assert.equal(runs[0]!.progress, newlines)
})
