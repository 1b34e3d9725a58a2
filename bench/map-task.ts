// One Inferno map task in-process, for profiling the per-record CPU: the bench rule (written by
// bench/inferno.ts) over one NDJSON file held in memory, through mapBytes (the fast path) or, with
// `--slow`, the rule without preprocessReads (full parse). Prints CPU µs per record and a digest of
// the emitted pairs (identical before and after any speed work).
//
//   node build/bench/inferno.js --size 300MB --only duckdb --repeat 1   # writes the data and rule
//   node build/bench/map-task.js [--file F] [--lines N] [--repeat 3] [--slow] [--json]
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Readable } from 'node:stream'
import { createGunzip, gzipSync } from 'node:zlib'
import { mapBytes, newJobStats, type Rule } from 'disco-inferno'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DATA = join(ROOT, 'bench', 'data', 'inferno')
const { values: opt } = parseArgs({
  options: {
    /** The rule module (default: the one bench/inferno.ts writes). */
    rules: { type: 'string', default: join(DATA, 'rules', 'bench.js') },
    file: { type: 'string', default: join(DATA, 'clicks-300mb-3d-s42', 'events-2026-11-20.ndjson') },
    lines: { type: 'string', default: '400000' },
    repeat: { type: 'string', default: '3' },
    slow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    /** Read the file from disk in 1 MiB chunks on each run (as a map task reads a blob) instead of from memory. */
    stream: { type: 'boolean', default: false },
    /** Gunzip the lines (gzipped once, in memory) on each run, as a map task reads a gzip blob. */
    gzip: { type: 'boolean', default: false },
  },
})

const mod = (await import(pathToFileURL(opt.rules!).href)) as { rules: Rule[] }
const rule = mod.rules.find((r) => r.name === (opt.slow ? 'traffic_slow' : 'traffic'))!
let all = readFileSync(opt.file!)
// The first N lines.
let n = 0
let cut = 0
const want = Number(opt.lines)
while (n < want) {
  const nl = all.indexOf(10, cut)
  if (nl < 0) break
  cut = nl + 1
  n++
}
all = all.subarray(0, cut)
const chunks: Buffer[] = []
for (let i = 0; i < all.length; i += 1 << 20) chunks.push(all.subarray(i, Math.min(all.length, i + (1 << 20))))

const gz = opt.gzip ? gzipSync(all) : Buffer.alloc(0)
const results: number[] = []
let digest = ''
for (let r = 0; r < Number(opt.repeat); r++) {
  const pairs: string[] = []
  const stats = newJobStats()
  const c0 = process.cpuUsage()
  const input = opt.gzip ? Readable.from([gz]).pipe(createGunzip(process.env.GZ_CHUNK ? { chunkSize: Number(process.env.GZ_CHUNK) } : {})) : opt.stream ? createReadStream(opt.file!, { highWaterMark: 1 << 20, end: cut - 1 }) : chunks
  await mapBytes({ rule, params: {} }, input, (k, v) => pairs.push(JSON.stringify([k, v])), stats)
  const c = process.cpuUsage(c0)
  const us = (c.user + c.system) / stats.read.lines
  results.push(us)
  digest = createHash('sha256').update(pairs.join('\n')).update(JSON.stringify(stats.read)).digest('hex').slice(0, 16)
  if (!opt.json) process.stdout.write(`run ${r}: ${stats.read.lines} lines, ${stats.read.records} records, ${us.toFixed(3)} µs CPU/line, digest ${digest}\n`)
}
const best = Math.min(...results)
const med = [...results].sort((a, b) => a - b)[Math.floor(results.length / 2)]!
if (opt.json) {
  process.stdout.write(JSON.stringify({ name: `inferno map task${opt.slow ? ' (full parse)' : ''}`, n, ms: Math.round((med * n) / 1000),
    opsPerSec: Math.round(1e6 / med), usPerLineMedian: med, usPerLineBest: best, digest }) + '\n')
}
else process.stdout.write(`median ${med.toFixed(3)} µs/line, best ${best.toFixed(3)} µs/line = ${Math.round(1e6 / best).toLocaleString('en-US')} lines/s per core, digest ${digest}\n`)
