// The cluster store on loopback: object-store and S3 (s3rver) put/get MB/s, tag appends per second
// on a 3-server R3 cluster (one writer and 4 concurrent writers), the time a tag write takes to get
// through a kill -9 of the tag bucket's leader, one Inferno rule over the embedded store versus
// over the cluster store with 1 and 2 `disco worker` processes (which run its map and reduce), and one Disco
// sum-by-key job (bench/mr-job.ts: count and sum of amount per user, combiner, 8 partitions)
// embedded (worker threads) versus on a fresh 3-server R3 cluster with 1 and then 2 `disco worker`
// processes (concurrency 1 each), plus the time from kill -9 of one of the 2 workers (just after
// the first map task is done) to the job's completion. Every cluster result is checked equal to
// the embedded one (SHA-256 of `disco results`).
// Usage: node build/bench/cluster.js [--size 64MB] [--rule-size 1GB] [--job-size 1GB] [--skip store|jobs] [--json]
// Needs nats-server (Debian) on the PATH; servers bind 127.0.0.1 and are stopped by PID.
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openAnyStore, openDiscoStores, waitJob, type OpenedStore } from 'disco-inferno'
import { mulberry32 } from '../src/util/random.js'
import { hasNatsServer, startNats, startNatsCluster, startS3rver } from '../test/cluster/servers.js'
import { Bench, eventsSeen, stopWorker, type WorkerProcess } from '../test/cluster/workers.js'
import { benchArgs, usageExit } from './args.js'

const { values: o } = benchArgs(import.meta.url, { options: {
  size: { type: 'string', default: '64MB' }, 'rule-size': { type: 'string', default: '1GB' }, 'job-size': { type: 'string', default: '1GB' },
  skip: { type: 'string', default: '' }, json: { type: 'boolean', default: false },
} })
/** A size in MiB (MB when no unit is given; GB = 1024 MB here). */
function mb(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(MB|GB)?$/i.exec(s)
  if (!m) usageExit(import.meta.url, `${what}: expected a size like 64MB or 1GB, found ${JSON.stringify(s)}`)
  return Number(m[1]) * ((m[2] ?? 'MB').toUpperCase() === 'GB' ? 1024 : 1)
}

const json = o.json
const sizeMB = mb(o.size, '--size')
const ruleMB = mb(o['rule-size'], '--rule-size')
const jobMB = mb(o['job-size'], '--job-size')
const skip = o.skip

function report(f: { name: string, n: number, ms: number, opsPerSec: number, unit: string, [k: string]: unknown }): void {
  if (json) process.stdout.write(JSON.stringify(f) + '\n')
  else process.stdout.write(`${f.name}: ${f.opsPerSec.toFixed(1)} ${f.unit} (${f.n} in ${Math.round(f.ms)} ms)\n`)
}

async function putGet(label: string, s: OpenedStore, bytes: Buffer): Promise<void> {
  const t0 = performance.now()
  const [url] = await s.ddfs.pushBlob('bench.bin', bytes)
  const t1 = performance.now()
  let got = 0
  for await (const c of await s.ddfs.openBlob([url!])) got += c.length
  const t2 = performance.now()
  if (got !== bytes.length) throw new Error(`${label}: read ${got} of ${bytes.length} bytes`)
  report({ name: `${label} put`, n: sizeMB, ms: t1 - t0, opsPerSec: sizeMB / ((t1 - t0) / 1000), unit: 'MB/s' })
  report({ name: `${label} get`, n: sizeMB, ms: t2 - t1, opsPerSec: sizeMB / ((t2 - t1) / 1000), unit: 'MB/s' })
}

async function appends(label: string, s: OpenedStore, writers: number, each: number): Promise<void> {
  const t0 = performance.now()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < each; i++) await s.ddfs.tag(`bench:${label}`, [`raw://w${w}-${i}`])
  }))
  const ms = performance.now() - t0
  const n = (await s.ddfs.urls(`bench:${label}`)).length
  if (n !== writers * each) throw new Error(`${label}: ${n} entries, expected ${writers * each}`)
  report({ name: `tag appends R3, ${writers} writer${writers > 1 ? 's' : ''}`, n, ms, opsPerSec: n / (ms / 1000), unit: 'appends/s' })
}

/** Seeded click events like the example rule expects, `mbytes` MB of NDJSON. */
function clicks(path: string, mbytes: number): void {
  const rand = mulberry32(20261127)
  const events = ['view', 'signup', 'purchase', 'view', 'view']
  const fd = openSync(path, 'w')
  try {
    let size = 0
    while (size < mbytes * 1048576) {
      // a few MB per write: a whole GB does not fit in one string
      const parts: string[] = []
      for (let i = 0; i < 20_000 && size < mbytes * 1048576; i++) {
        const line = JSON.stringify({ ts: Date.UTC(2026, 10, 20) + Math.floor(rand() * 86_400_000), event: events[Math.floor(rand() * 5)], country: ['fi', 'se', 'us', 'de'][Math.floor(rand() * 4)], device: rand() < 0.5 ? 'mobile' : 'desktop', referrer: `r${Math.floor(rand() * 50)}`, amount: Math.floor(rand() * 100) })
        parts.push(line)
        size += line.length + 1
      }
      writeSync(fd, parts.join('\n') + '\n')
    }
  } finally {
    closeSync(fd)
  }
}

async function storeBench(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
  const bytes = randomBytes(sizeMB * 1048576)
  const tmp = mkdtempSync(join(tmpdir(), 'bench-cluster-'))
  const [single, s3, cluster] = await Promise.all([startNats(), startS3rver(), startNatsCluster(3)])
  try {
    const one = await openAnyStore(single.url)
    await putGet('object store, 1 server', one, bytes)
    await one.close()
    const viaS3 = await openAnyStore(`${single.url}?prefix=s3&blobs=s3://${s3.bucket}/bench&s3-endpoint=${encodeURIComponent(s3.url)}`)
    await putGet('S3 (s3rver)', viaS3, bytes)
    await viaS3.close()
    const r3 = await openAnyStore(cluster.url)
    await putGet('object store, R3 cluster', r3, bytes)
    await appends('one', r3, 1, 200)
    await appends('four', r3, 4, 50)

    // Failover: kill the tag bucket's leader, then time one tag write.
    const leader = (await r3.cluster!.jsm.streams.info(`KV_${r3.cluster!.name('tags')}`)).cluster?.leader ?? 'n1'
    const victim = cluster.servers[Number(leader.slice(1)) - 1]!
    await victim.kill9()
    const t0 = performance.now()
    await r3.ddfs.tag('bench:failover', ['raw://after-kill'])
    const failMs = performance.now() - t0
    report({ name: 'tag write through kill -9 of the leader', n: 1, ms: failMs, opsPerSec: 1000 / failMs, unit: 'writes/s' })
    await r3.close()

    // One Inferno rule, embedded vs over the (single-server) cluster store.
    const infernoBin = fileURLToPath(import.meta.resolve('#src/cli/inferno.js'))
    const ddfsBin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
    const run = (bin: string, args: string[]): string => {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, DISCO_STORE: '' } })
      if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }
    run(infernoBin, ['--example-rules', join(tmp, 'rules')])
    clicks(join(tmp, 'clicks.json'), ruleMB)
    const outs: string[] = []
    const bench = new Bench(tmp)
    const workers: WorkerProcess[] = []
    try {
      run(ddfsBin, ['--store', join(tmp, 'store'), 'chunk', 'incoming:clicks:2026-11-20', './clicks.json'])
      run(ddfsBin, ['--store', single.url, 'chunk', 'incoming:clicks:2026-11-20', './clicks.json'])
      for (const [label, store, nWorkers] of [['embedded', join(tmp, 'store'), 0], ['cluster store, 1 worker', single.url, 1], ['cluster store, 2 workers', single.url, 2]] as const) {
        while (workers.length < nWorkers) workers.push(await bench.worker(store))
        const t = performance.now()
        outs.push(run(infernoBin, ['--store', store, '-y', join(tmp, 'rules'), '-i', 'clicks.traffic', '-S', '2026-11-20', '-R', '1', '--no-progress']))
        const ms = performance.now() - t
        report({ name: `inferno clicks.traffic, ${label}`, n: ruleMB, ms, opsPerSec: ruleMB / (ms / 1000), unit: 'MB/s' })
      }
    } finally {
      for (const w of workers) await stopWorker(w)
      bench.killAll()
    }
    if (outs.some((o) => o !== outs[0])) throw new Error('the rule gave different CSV on the stores')
  } finally {
    await Promise.all([single.stop(), s3.stop(), cluster.stop()])
    rmSync(tmp, { recursive: true, force: true })
  }
}

const DISCO = fileURLToPath(import.meta.resolve('#src/cli/disco.js'))
const DDFS = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
const JOB = fileURLToPath(new URL('./mr-job.js', import.meta.url))
const FILES = 16

/** `FILES` NDJSON files of seeded events `{user, amount, …}`, `mbytes` MB in all. */
function events(dir: string, mbytes: number): string[] {
  const rand = mulberry32(1127)
  const paths: string[] = []
  for (let f = 0; f < FILES; f++) {
    const p = join(dir, `events-${f}.json`)
    const fd = openSync(p, 'w')
    let size = 0
    while (size < (mbytes * 1048576) / FILES) {
      const lines: string[] = []
      for (let i = 0; i < 2000; i++) lines.push(JSON.stringify({ user: `u${Math.floor(rand() * 200_000)}`, event: ['view', 'click', 'buy'][Math.floor(rand() * 3)], amount: Math.floor(rand() * 1000), ts: 1_790_000_000_000 + Math.floor(rand() * 86_400_000) }))
      const text = lines.join('\n') + '\n'
      writeSync(fd, text)
      size += text.length
    }
    closeSync(fd)
    paths.push(p)
  }
  return paths
}

/** Runs a CLI to completion (no timeout: a 1 GB job may take minutes); its stdout. */
function cli(bin: string, args: string[], cwd: string): string {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, DISCO_STORE: '' } })
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/** The Disco sum-by-key job embedded versus on a 3-server cluster with 1 and 2 workers, and a worker kill. */
async function jobBench(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-cluster-jobs-'))
  const b = new Bench(tmp)
  const cluster = await startNatsCluster(3)
  try {
    const files = events(tmp, jobMB)
    const jobArgs = ['run', JOB, '-i', 'data:events', '-p', '8']
    const timed = (label: string, store: string): { ms: number, digest: string } => {
      const t = performance.now()
      const name = cli(DISCO, ['--store', store, ...jobArgs], tmp).trim()
      const ms = performance.now() - t
      report({ name: `disco sum-by-key job, ${label}`, n: jobMB, ms, opsPerSec: jobMB / (ms / 1000), unit: 'MB/s' })
      return { ms, digest: sha(cli(DISCO, ['--store', store, 'results', name], tmp)) }
    }
    const local = join(tmp, 'store')
    cli(DDFS, ['--store', local, 'push', 'data:events', ...files], tmp)
    const embedded = timed('embedded (worker threads = cores)', local)

    const store = `${cluster.url}?prefix=bench`
    let t = performance.now()
    cli(DDFS, ['--store', store, 'push', 'data:events', ...files], tmp)
    let ms = performance.now() - t
    report({ name: 'ddfs push of the job inputs, R3 object store', n: jobMB, ms, opsPerSec: jobMB / (ms / 1000), unit: 'MB/s' })
    const workerArgs = ['--ack-wait', '10']
    const w1 = await b.worker(store, workerArgs)
    const one = timed('R3 cluster, 1 worker process', store)
    const w2 = await b.worker(store, workerArgs)
    const two = timed('R3 cluster, 2 worker processes', store)
    for (const r of [one, two]) if (r.digest !== embedded.digest) throw new Error('the cluster job gave other results than the embedded one')
    // The embedded run once more, after the cluster runs: on a shared machine the load drifts.
    const again = timed('embedded again (after the cluster runs)', local)
    const base = (embedded.ms + again.ms) / 2
    const ratios = { name: 'disco sum-by-key job, cluster time / embedded time (mean of the 2 embedded runs)', oneWorker: one.ms / base, twoWorkers: two.ms / base }
    if (json) process.stdout.write(JSON.stringify(ratios) + '\n')
    else process.stdout.write(`  ratios: 1 worker ${ratios.oneWorker.toFixed(2)}x embedded, 2 workers ${ratios.twoWorkers.toFixed(2)}x embedded\n`)

    // kill -9 of one worker once the first map task is done; time to the job's completion.
    const opened = await openDiscoStores(store)
    try {
      const name = cli(DISCO, ['--store', store, ...jobArgs.slice(0, 1), '-d', ...jobArgs.slice(1)], tmp).trim()
      await eventsSeen(opened.stores, name, /^map:\d+ done/, 1)
      t = performance.now()
      w1.kill('SIGKILL')
      await w1.exited
      await waitJob(opened.stores, name, { timeoutMs: 3_600_000 })
      ms = performance.now() - t
      report({ name: 'kill -9 of 1 of 2 workers after the first map task, to job completion (ack wait 10 s)', n: 1, ms, opsPerSec: 1000 / ms, unit: 'jobs/s' })
      if (sha(cli(DISCO, ['--store', store, 'results', name], tmp)) !== embedded.digest) throw new Error('the job with a killed worker gave other results')
    } finally {
      await opened.close()
    }
    await stopWorker(w2)
  } finally {
    b.killAll()
    await cluster.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (!hasNatsServer()) throw new Error('nats-server is not on the PATH (apt-get install nats-server)')
if (skip !== 'store') await storeBench()
if (skip !== 'jobs') await jobBench()
