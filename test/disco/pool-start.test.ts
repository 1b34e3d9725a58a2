// A worker pool started before its job (`start`) with modules imported ahead of the tasks
// (`preload`), as `inferno -i` does: the threads import the modules once, and whatever goes wrong
// while they start or preload still reaches the job as a coded error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isDiscoError, runJob, WorkerPoolExecutor } from 'disco-inferno'
import { collect, fn, tempDir } from './helpers.js'

/** True when a job's error is DISCO_TASK_FAILED caused by a task error with `code` and a message matching `re`. */
const taskFailed = (code: string, re: RegExp) => (e: unknown): boolean => {
  const cause = (e as { cause?: { code?: string } }).cause
  return isDiscoError(e, 'DISCO_TASK_FAILED') && cause?.code === code && re.test((e as Error).message)
}

/** Waits (bounded) until `ok()` holds. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (ok()) return
    await sleep(50)
  }
  assert.fail(`timed out waiting for ${what}`)
}

/** A job module that notes every import of itself (one line per thread) in `marker`. */
function countingModule(dir: string, marker: string): string {
  const path = join(dir, 'counting.mjs')
  writeFileSync(path, [
    "import { appendFileSync } from 'node:fs'",
    "import { threadId } from 'node:worker_threads'",
    `appendFileSync(${JSON.stringify(marker)}, threadId + '\\n')`,
    'export function map(line, _params, emit) { emit(line, 1) }',
    '',
  ].join('\n'))
  return path
}

test('start + preload: every thread imports the module before any task, and the tasks use that import', async (t) => {
  const dir = tempDir(t)
  const marker = join(dir, 'imports')
  const mod = countingModule(dir, marker)
  const pool = new WorkerPoolExecutor({ size: 2 }).start()
  t.after(() => pool.close())
  pool.preload([mod])
  pool.preload([mod]) // twice: still one import per thread
  const lines = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : [])
  await until(() => lines().length === 2, 'both threads to preload the module')
  const job = await runJob({ inputs: ['raw://a', 'raw://b', 'raw://a'], map: { module: mod, export: 'map' }, reduce: fn('sumReduce') },
    { store: join(dir, 'store'), executor: pool })
  await job.wait()
  assert.deepEqual(await collect(job.results()), [['a', 2], ['b', 1]])
  assert.equal(new Set(lines()).size, 2, 'two threads')
  assert.equal(lines().length, 2, 'no thread imported the module a second time')
})

test('a preloaded module that fails to load fails its task with the same code as without preloading', async (t) => {
  const dir = tempDir(t)
  const throws = join(dir, 'throws.mjs')
  writeFileSync(throws, "throw new Error('no config')\nexport const map = () => {}\n")
  const pool = new WorkerPoolExecutor({ size: 2 }).start()
  t.after(() => pool.close())
  const missing = join(dir, 'not-there.mjs')
  pool.preload([throws, missing])
  const store = join(dir, 'store')
  const a = await runJob({ inputs: ['raw://x'], map: { module: throws, export: 'map' } }, { store, executor: pool })
  await assert.rejects(a.wait(), taskFailed('MODULE_LOAD_FAILED', /no config \(thrown while loading the map module/))
  const b = await runJob({ inputs: ['raw://x'], map: { module: missing, export: 'map' } }, { store, executor: pool })
  await assert.rejects(b.wait(), taskFailed('MODULE_NOT_FOUND', /expected the map module \S*not-there\.mjs/))
  // The threads survived both: a good job still runs on them.
  const ok = await runJob({ inputs: ['raw://c'], map: fn('wcMap'), reduce: fn('sumReduce') }, { store, executor: pool })
  await ok.wait()
  assert.deepEqual(await collect(ok.results()), [['c', 1]])
})

test('threads that die while starting or preloading: the task fails with DISCO_WORKER_LOST; a bad store factory with its MODULE_ code', async (t) => {
  const dir = tempDir(t)
  const exits = join(dir, 'exits.mjs')
  writeFileSync(exits, 'process.exit(3)\n')
  const pool = new WorkerPoolExecutor({ size: 2 }).start()
  t.after(() => pool.close())
  pool.preload([exits]) // every thread (and every replacement) exits while importing it
  const store = join(dir, 'store')
  const job = await runJob({ inputs: ['raw://x'], map: fn('wcMap'), maxAttempts: 2, retryBaseMs: 1 }, { store, executor: pool })
  await assert.rejects(job.wait(), taskFailed('DISCO_WORKER_LOST', /failed 2 times: worker thread exited \(code 3\)/))

  const badStores = new WorkerPoolExecutor({ size: 1, stores: { module: join(dir, 'no-factory.mjs'), export: 'stores' } }).start()
  t.after(() => badStores.close())
  const job2 = await runJob({ inputs: ['raw://x'], map: fn('wcMap') }, { store, executor: badStores })
  await assert.rejects(job2.wait(), taskFailed('MODULE_NOT_FOUND', /no-factory\.mjs/))
})

test('limit(n): a view of the pool running at most n tasks; closing it leaves the pool running', async (t) => {
  const dir = tempDir(t)
  const pool = new WorkerPoolExecutor({ size: 2 }).start()
  t.after(() => pool.close())
  const one = pool.limit(1)
  assert.equal(one.concurrency, 1)
  assert.equal(pool.limit(5), pool)
  const job = await runJob({ inputs: ['raw://a b', 'raw://b'], map: fn('wcMap'), reduce: fn('sumReduce') }, { store: join(dir, 'store'), executor: one })
  await job.wait()
  assert.deepEqual(await collect(job.results()), [['a', 1], ['b', 2]])
  await one.close()
  const again = await runJob({ inputs: ['raw://c'], map: fn('wcMap'), reduce: fn('sumReduce') }, { store: join(dir, 'store'), executor: pool })
  await again.wait()
  assert.deepEqual(await collect(again.results()), [['c', 1]])
})
