// `disco events --follow` follows the job store's event log (woken by each new event) instead of
// re-reading it on a timer: a counting job store shows one follow stream and at most one plain read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InProcessExecutor, JobRegistry, jobEvents, openLocalStores, runJob, type DiscoStores, type JobEvent } from 'disco-inferno'
import { followJobEvents } from '#src/cli/disco.js'
import { fn, tempDir } from '../disco/helpers.js'

/** The local stores with a job store that counts reads of event logs: with and without a follow signal. */
function countingStores(dir: string) {
  const base = openLocalStores(dir)
  const counts = { follows: 0, reads: 0 }
  const store = base.jobs.store
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'read') return Reflect.get(target, prop, receiver) as unknown
      return (log: string, after: number, follow?: AbortSignal) => {
        if (log.endsWith('.events')) follow ? counts.follows++ : counts.reads++
        return target.read(log, after, follow)
      }
    },
  })
  const stores: DiscoStores = { ...base, jobs: new JobRegistry(counted) }
  return { stores, counts }
}

test('events --follow prints events while the job runs, ends with the job, and never re-polls the log', async (t) => {
  const dir = tempDir(t)
  const { stores, counts } = countingStores(join(dir, 'store'))
  const release = join(dir, 'release')
  const job = await runJob({ inputs: ['raw://a b a', 'raw://block'], map: fn('blockMap'), reduce: fn('sumReduce'), params: { release }, partitions: 2 },
    { store: stores, executor: new InProcessExecutor(2, { stores: () => stores }) })
  const seen: JobEvent[] = []
  let releasedAt: number | undefined
  // map:1 blocks until the release file exists; it is written only once the follower printed
  // map:0's end, so an event reached the follower while the job was still active.
  const following = followJobEvents(stores, job.name, 0, (e) => {
    seen.push(e)
    if (releasedAt === undefined && e.message.startsWith('map:0 done')) {
      releasedAt = seen.length
      writeFileSync(release, 'go')
    }
  })
  let timer: NodeJS.Timeout | undefined
  await Promise.race([following, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('follow did not end within 30 s')), 30_000)))])
  clearTimeout(timer)
  await job.wait()
  const { follows, reads } = counts
  assert.ok(releasedAt !== undefined, 'map:0 done was printed before the job ended')
  assert.match(seen.at(-1)!.message, /READY/)
  const all = (await jobEvents(stores, job.name)).events
  assert.deepEqual(seen.map((e) => e.seq), all.map((e) => e.seq), 'every event once, in order')
  assert.equal(follows, 1, 'one follow stream of the log')
  assert.ok(reads <= 1, `at most one plain read (the tail after the end), found ${reads}`)
})
