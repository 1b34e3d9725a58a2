// DDFS throughput: chunk generated NDJSON into gzip blobs, then read every line back.
// Usage: node build/bench/ddfs.js [--size 300MB|1GB] [--chunk-size 64MB] [--level 6] [--json]
// Data: bench/data/ddfs-<size>.ndjson (seeded, generated once). The store is a temp directory.
// Also the cost of durability (fsync of blobs, tag versions and directories): the same chunk,
// small pushes and tag appends with the local adapters' `durable` on and off, in the same run.
import { mulberry32 } from '#src/util/random.js'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ddfs, LocalBlobStore, LocalTagStore, openStore } from '../src/ddfs/index.js'
import { benchArgs, usageExit } from './args.js'

const { values: o } = benchArgs(import.meta.url, { options: {
  size: { type: 'string', default: '300MB' }, 'chunk-size': { type: 'string', default: '64MB' }, level: { type: 'string', default: '6' }, json: { type: 'boolean', default: false },
} })

/** A size in binary units (KB = 1024 B here), MB when no unit is given. */
function size(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(B|KB|MB|GB)?$/i.exec(s)
  if (!m) usageExit(import.meta.url, `${what}: expected a size like 300MB or 1GB, found ${JSON.stringify(s)}`)
  return Math.round(Number(m[1]) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'MB').toLowerCase() as 'b'])
}

const json = o.json
const sizeArg = o.size
const target = size(sizeArg, '--size')
const chunkSize = size(o['chunk-size'], '--chunk-size')
const level = Number(o.level)
const dataDir = fileURLToPath(new URL('../../bench/data/', import.meta.url))

/** Peak RSS sampler for one phase. */
function sampler(): { stop: () => number } {
  let peak = process.memoryUsage.rss()
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 20)
  return { stop: () => { clearInterval(t); return Math.round(Math.max(peak, process.memoryUsage.rss()) / 1048576) } }
}

/** Writes `bytes` of seeded NDJSON click events (mulberry32), streaming. */
async function generate(path: string, bytes: number): Promise<void> {
  const rand = mulberry32(20261122)
  const events = ['view', 'click', 'signup', 'purchase', 'logout']
  const out = createWriteStream(path + '.tmp')
  let written = 0
  let ts = Date.UTC(2026, 10, 22)
  while (written < bytes) {
    let buf = ''
    for (let i = 0; i < 20000; i++) {
      ts += Math.floor(rand() * 50)
      buf += `{"ts":"${new Date(ts).toISOString()}","user":"u${Math.floor(rand() ** 2 * 100000)}","event":"${events[Math.floor(rand() * 5)]}",` +
        `"path":"/p/${Math.floor(rand() * 5000)}","ms":${Math.floor(rand() * 3000)},"country":"${String.fromCharCode(65 + Math.floor(rand() * 26), 65 + Math.floor(rand() * 26))}"}\n`
    }
    written += Buffer.byteLength(buf)
    if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())))
  renameSync(path + '.tmp', path)
}

mkdirSync(dataDir, { recursive: true })
const input = join(dataDir, `ddfs-${sizeArg}.ndjson`)
if (!existsSync(input)) {
  if (!json) process.stderr.write(`generating ${input}…\n`)
  await generate(input, target)
}
const inputBytes = statSync(input).size
const storeDir = mkdtempSync(join(tmpdir(), 'ddfs-bench-'))
const dirs: string[] = []
try {
  const ddfs = openStore(storeDir)
  let s = sampler()
  let t0 = performance.now()
  const sets = await ddfs.chunk('bench:clicks:2026-11-22', [input], { chunkSize, level })
  const chunkMs = performance.now() - t0
  const chunkRss = s.stop()
  let stored = 0
  for await (const b of ddfs.blobStore.list()) stored += b.size

  s = sampler()
  t0 = performance.now()
  let lines = 0
  let bytes = 0
  for (const set of await ddfs.blobs('bench:clicks:2026-11-22')) {
    for await (const line of ddfs.readLines(set)) { lines++; bytes += line.length + 1 }
  }
  const readMs = performance.now() - t0
  const readRss = s.stop()
  if (bytes !== inputBytes) throw new Error(`read back ${bytes} bytes, expected ${inputBytes}`)

  // fsync cost: the same work with durable (default) and non-durable adapters, interleaved.
  const store = (durable: boolean): Ddfs => {
    const d = mkdtempSync(join(tmpdir(), 'ddfs-bench-fsync-'))
    dirs.push(d)
    return new Ddfs({ tags: new LocalTagStore(d, { durable }), blobs: new LocalBlobStore(d, { durable }), dir: d })
  }
  const timed = async (fn: () => Promise<unknown>): Promise<number> => { const t = performance.now(); await fn(); return performance.now() - t }
  const cost: Record<string, { durableMs: number; plainMs: number; n: number }> = {}
  const add = (k: string, n: number, durableMs: number, plainMs: number): void => {
    const c = (cost[k] ??= { durableMs: 0, plainMs: 0, n: 0 })
    c.durableMs += durableMs; c.plainMs += plainMs; c.n += n
  }
  const appends = 300
  const pushes = 100
  for (let round = 0; round < 2; round++) {
    for (const durable of round === 0 ? [true, false] : [false, true]) {
      const d = store(durable)
      const ms = await timed(async () => { for (let i = 0; i < appends; i++) await d.tag('bench:appends', [`raw://entry-${i}`]) })
      add('tagAppend', durable ? appends : 0, durable ? ms : 0, durable ? 0 : ms)
      const msp = await timed(async () => { for (let i = 0; i < pushes; i++) await d.push('bench:small', [{ name: `f${i}.txt`, data: Buffer.alloc(4096, 97) }]) })
      add('push4KB', durable ? pushes : 0, durable ? msp : 0, durable ? 0 : msp)
    }
  }
  for (const durable of [false, true, true, false]) {
    const ms = await timed(() => store(durable).chunk('bench:clicks:2026-11-22', [input], { chunkSize, level }))
    add('chunk', durable ? 1 : 0, durable ? ms : 0, durable ? 0 : ms)
  }

  const mb = inputBytes / 1e6
  const perOp = (k: string): { durableMsPerOp: number; plainMsPerOp: number; ratio: number } => {
    const c = cost[k]!
    return { durableMsPerOp: +(c.durableMs / c.n).toFixed(3), plainMsPerOp: +(c.plainMs / c.n).toFixed(3), ratio: +(c.durableMs / c.plainMs).toFixed(2) }
  }
  const fsyncFig = {
    name: 'ddfs.fsync', n: cost.tagAppend!.n + cost.push4KB!.n, ms: Math.round(cost.tagAppend!.durableMs + cost.push4KB!.durableMs),
    opsPerSec: Math.round((cost.tagAppend!.n + cost.push4KB!.n) / ((cost.tagAppend!.durableMs + cost.push4KB!.durableMs) / 1000)),
    tagAppend: perOp('tagAppend'), push4KB: perOp('push4KB'),
    chunk: { durableMBps: +(mb * 2 / (cost.chunk!.durableMs / 1000)).toFixed(1), plainMBps: +(mb * 2 / (cost.chunk!.plainMs / 1000)).toFixed(1), ratio: +(cost.chunk!.durableMs / cost.chunk!.plainMs).toFixed(2) },
  }
  const figures = [
    { name: 'ddfs.chunk', n: lines, ms: Math.round(chunkMs), opsPerSec: Math.round(lines / (chunkMs / 1000)), MBps: +(mb / (chunkMs / 1000)).toFixed(1), peakRssMB: chunkRss, inputMB: +mb.toFixed(1), storedMB: +(stored / 1e6).toFixed(1), chunks: sets.length, chunkSizeMB: +(chunkSize / 1048576).toFixed(2), level },
    { name: 'ddfs.readLines', n: lines, ms: Math.round(readMs), opsPerSec: Math.round(lines / (readMs / 1000)), MBps: +(mb / (readMs / 1000)).toFixed(1), peakRssMB: readRss, inputMB: +mb.toFixed(1) },
  ]
  if (json) for (const f of [...figures, fsyncFig]) console.log(JSON.stringify(f))
  else {
    console.log(`ddfs: ${mb.toFixed(0)} MB NDJSON (${lines} lines) → ${sets.length} gzip chunks of ≤ ${(chunkSize / 1048576).toFixed(0)} MiB (${(stored / 1e6).toFixed(0)} MB): ` +
      `chunk ${figures[0]!.MBps} MB/s (peak RSS ${chunkRss} MB), read back ${figures[1]!.MBps} MB/s (peak RSS ${readRss} MB)`)
    const f = fsyncFig
    console.log(`fsync cost: tag append ${f.tagAppend.durableMsPerOp} ms vs ${f.tagAppend.plainMsPerOp} ms (×${f.tagAppend.ratio}), ` +
      `4 KB push ${f.push4KB.durableMsPerOp} ms vs ${f.push4KB.plainMsPerOp} ms (×${f.push4KB.ratio}), chunk ${f.chunk.durableMBps} vs ${f.chunk.plainMBps} MB/s (×${f.chunk.ratio} time)`)
  }
} finally {
  for (const d of [storeDir, ...dirs]) rmSync(d, { recursive: true, force: true })
}
