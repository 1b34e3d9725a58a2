// A task's local files: its spill directory is made only when a file goes there (TaskDir), and a
// reduce's result stays in memory until it is large (AtomicWriter.commitBytes); a job that spills
// and one with a result past the in-memory limit leave nothing behind and give the reference.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InProcessExecutor, openLocalStores, runJob, type BlobSource, type DiscoStores, type JobSpec, type PutOptions } from 'disco-inferno'
import { TaskDir } from '#src/disco/task.js'
import { AtomicWriter } from '#src/disco/runs.js'
import { collect, dataUrls, fn, rng, sorted, tempDir, withEnv, wordFiles } from './helpers.js'

const SEED = Number(process.env.DISCO_TEST_SEED ?? 20261127)

test('TaskDir: made (mode 0700) only when a path in it is resolved, refused when already there, removed with its files', (t) => {
  const base = tempDir(t)
  withEnv(t, 'TMPDIR', base)
  const unused = new TaskDir('map:3')
  const lazy = unused.at('runs')
  assert.equal(unused.exists, false)
  unused.remove()
  assert.deepEqual(readdirSync(base), [], 'nothing made for a task that wrote no file')
  const used = new TaskDir('reduce:1')
  assert.ok(used.path.startsWith(join(base, 'disco-reduce-1-')))
  const p = used.at('result')()
  assert.equal(p, join(used.path, 'result'))
  assert.equal(statSync(used.path).mode & 0o777, 0o700)
  writeFileSync(p, 'x')
  mkdirSync(used.at('runs')(), { recursive: true })
  used.remove()
  assert.deepEqual(readdirSync(base), [])
  // A directory already at the path (planted) is refused, as mkdtemp would.
  const planted = new TaskDir('map:4')
  mkdirSync(planted.path)
  assert.throws(() => planted.at('x')(), { code: 'EEXIST' })
  assert.equal(typeof lazy, 'function')
})

test('AtomicWriter: lines in memory below its limit (commitBytes gives them, no file); past it the file holds them all', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED)
  const lines = Array.from({ length: 3000 }, (_v, i) => `["k${i}",${JSON.stringify('é'.repeat(Math.floor(r() * 20)))}]`)
  const small = new AtomicWriter(join(dir, 'small'), 1 << 20)
  for (const l of lines) small.write(l)
  assert.equal(small.onDisk, false)
  assert.deepEqual(small.commitBytes(), Buffer.from(lines.join('\n') + '\n'))
  assert.equal(existsSync(join(dir, 'small')), false)
  assert.equal(small.lines, lines.length)
  // Nothing written: empty bytes.
  assert.equal(new AtomicWriter(join(dir, 'none')).commitBytes()!.length, 0)
  // takeLines while in memory; undefined once the lines went to the file.
  const held = new AtomicWriter(join(dir, 'held'), 1 << 20)
  for (const l of lines.slice(0, 10)) held.write(l)
  assert.deepEqual(held.takeLines(), lines.slice(0, 10))
  const large = new AtomicWriter(join(dir, 'sub', 'large'), 4096)
  for (const l of lines) large.write(l)
  assert.equal(large.onDisk, true)
  assert.equal(large.takeLines(), undefined)
  assert.equal(large.commitBytes(), undefined)
  assert.equal(readFileSync(join(dir, 'sub', 'large'), 'utf8'), lines.join('\n') + '\n')
  // Committed once: a second commit throws instead of replacing the file with an empty one.
  assert.throws(() => large.commit(), /after its commit or abort/)
  assert.equal(readFileSync(join(dir, 'sub', 'large'), 'utf8'), lines.join('\n') + '\n')
  // abort before anything went to disk leaves nothing.
  const aborted = new AtomicWriter(join(dir, 'aborted'), 4096)
  aborted.write('x')
  aborted.abort()
  assert.deepEqual(readdirSync(dir).sort(), ['sub'])
})

test('jobs that spill, re-sort and store a result past the in-memory limit give the reference and leave no task directory', async (t) => {
  const dir = tempDir(t)
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  withEnv(t, 'TMPDIR', tmp)
  const store = join(dir, 'store')
  const ex = new InProcessExecutor()
  const words = wordFiles(dir, SEED + 1, 2, 300)
  const base: JobSpec = { inputs: words.paths, map: fn('wcMap'), reduce: fn('sumReduce'), partitions: 2 }
  for (const spec of [base, { ...base, memoryBudgetBytes: 4096, combiner: fn('add') }]) {
    const job = await runJob(spec, { store, executor: ex })
    await job.wait()
    assert.deepEqual(await collect(job.results()), sorted(words.ref))
    assert.deepEqual(readdirSync(tmp), [], 'no task directory left')
  }
  // Out-of-order keys: re-sorted (from memory).
  const renamed = await runJob({ ...base, reduce: fn('renameReduce') }, { store, executor: ex })
  await renamed.wait()
  const want = sorted(words.ref).map(([k, n]) => [`${9 - (n % 10)}:${k}`, n] as [string, number]).sort((a, b) => (a[0] < b[0] ? -1 : 1))
  assert.deepEqual(await collect(renamed.results()), want)
  // One partition whose result (≈ 1.6 MB) passes the 1 MiB kept in memory: written to a local file, stored from there.
  const big = join(dir, 'big.txt')
  const ref = new Map<string, number>()
  const out: string[] = []
  for (let i = 0; i < 60_000; i++) {
    const w = `word-${(i * 7919) % 50_000}-${'x'.repeat(i % 7)}`
    ref.set(w, (ref.get(w) ?? 0) + 1)
    out.push(w)
  }
  writeFileSync(big, out.join('\n') + '\n')
  const large = await runJob({ ...base, inputs: [big], partitions: 1 }, { store, executor: ex })
  await large.wait()
  assert.deepEqual(await collect(large.results()), sorted(ref))
  assert.deepEqual(readdirSync(tmp), [])
})

test('a reduce whose first key out of order comes past the 1 MiB kept in memory re-sorts from its local file; no task directory left', async (t) => {
  const dir = tempDir(t)
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  withEnv(t, 'TMPDIR', tmp)
  // 5,000 distinct words, each result ≈ 320 bytes: ≈ 1.6 MB written in order before the `!` pair.
  const words = Array.from({ length: 5000 }, (_, i) => `w${String(i).padStart(5, '0')}`)
  const input = join(dir, 'words.txt')
  writeFileSync(input, words.join('\n') + '\n')
  const last = words.at(-2)!
  const job = await runJob({ inputs: [input], map: fn('wcMap'), reduce: fn('lateOutOfOrderReduce'), params: { last }, partitions: 1 },
    { store: join(dir, 'store'), executor: new InProcessExecutor() })
  await job.wait()
  const want: [string, unknown][] = [['!', last], ...words.map((w): [string, unknown] => [w, `1:${'v'.repeat(300)}`])]
  assert.deepEqual(await collect(job.results()), want)
  assert.deepEqual(readdirSync(tmp), [])
})

test('a map output that fails to store (outputs stored side by side) fails the attempt; the retry stores them all under the same names, nothing left behind', async (t) => {
  const dir = tempDir(t)
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  withEnv(t, 'TMPDIR', tmp)
  const real = openLocalStores(join(dir, 'store'))
  // A fault-injecting data store: the first put of map:0's partition 1 fails, after the others started.
  let failed = 0
  const data = new Proxy(real.data, {
    get(target, prop) {
      if (prop === 'put') {
        return async (name: string, src: BlobSource, opts?: PutOptions) => {
          if (name.endsWith('.map-0.part-1') && failed === 0) {
            failed++
            await new Promise((r) => setTimeout(r, 20))
            throw Object.assign(new Error('disk full (injected)'), { code: 'ENOSPC' })
          }
          return target.put(name, src, opts)
        }
      }
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  const stores: DiscoStores = { ...real, data }
  const words = wordFiles(dir, SEED + 5, 2, 300)
  const job = await runJob({ inputs: words.paths, map: fn('wcMap'), reduce: fn('sumReduce'), combiner: fn('add'), partitions: 4, retryBaseMs: 1, retryCapMs: 1 },
    { store: stores, executor: new InProcessExecutor(1, { stores: () => stores }) })
  const info = await job.wait()
  assert.equal(failed, 1)
  assert.equal(info.tasks.failed, 1)
  assert.deepEqual(await collect(job.results()), sorted(words.ref))
  assert.deepEqual(readdirSync(tmp), [], 'no task directory left')
  // Only the results stay: every map output (the failed attempt's too) was replaced, then deleted.
  assert.deepEqual((await dataUrls(stores)).filter((u) => u.includes('.map-')), [])
})
