// One Inferno map task in-process, for the per-record CPU of the map (issue 11): the bench rule of
// bench/inferno.ts (3 keysets, a field transform, a pre-processor) over generated click-log lines
// held in memory (or a file), through mapBytes — the fast path (byte scanner), or with `--slow` the
// full-parse path. Prints CPU µs per line and a digest of the emitted pairs and read counters
// (identical for both paths and before/after any speed work). No child processes, no job engine:
// start-up, chunking and the job store are not in these figures.
//
//   node build/bench/map-task.js [--lines 400000] [--repeat 5] [--slow] [--js] [--json]
//   node build/bench/map-task.js --gzip      # gunzip the lines on each run, as a map task of gzip chunks
//   node build/bench/map-task.js --file F [--stream]   # NDJSON from a file (--stream: read from disk each run)
//   node --cpu-prof build/bench/map-task.js  # where the CPU goes
import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createGunzip, gzipSync } from 'node:zlib'
import { mapBytes, newJobStats, type Rule } from 'disco-inferno'
import { clickLogLines } from '#src/inferno/examples/clicks-data.js'
import { RULES } from './inferno-rule.js'
import { benchArgs } from './args.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const RULE_DIR = join(ROOT, 'bench', 'data', 'inferno', 'rules')
const { values: opt } = benchArgs(import.meta.url, {
  options: {
    /** The rule module (default: bench/inferno.ts's, written to bench/data/inferno/rules/bench.js). */
    rules: { type: 'string' },
    /** NDJSON input (default: generated click logs, seed 42). */
    file: { type: 'string' },
    lines: { type: 'string', default: '400000' },
    repeat: { type: 'string', default: '5' },
    slow: { type: 'boolean', default: false },
    /** The JS field scanner only (no WebAssembly blocks): the figure before json-block.ts. */
    js: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    /** Read the file from disk in 1 MiB chunks on each run (as a map task reads a blob) instead of from memory. */
    stream: { type: 'boolean', default: false },
    /** Gunzip the lines (gzipped once, in memory) on each run, as a map task reads a gzip blob. */
    gzip: { type: 'boolean', default: false },
  },
})

let rulesFile = opt.rules
if (rulesFile === undefined) {
  mkdirSync(RULE_DIR, { recursive: true })
  rulesFile = join(RULE_DIR, 'bench.js')
  writeFileSync(rulesFile, RULES)
}
const mod = (await import(pathToFileURL(rulesFile).href)) as { rules: Rule[] }
const rule = mod.rules.find((r) => r.name === (opt.slow ? 'traffic_slow' : 'traffic'))!
const want = Number(opt.lines)

/** The first `want` lines of the input. */
async function input(): Promise<Buffer> {
  let all: Buffer
  if (opt.file !== undefined) {
    all = readFileSync(opt.file)
  } else {
    const parts: Buffer[] = []
    // ~192 bytes a line; the generator stops after about `bytes`.
    for await (const b of clickLogLines({ seed: 42, day: '2026-11-20', bytes: want * 200 })) parts.push(b)
    all = Buffer.concat(parts)
  }
  let n = 0
  let cut = 0
  while (n < want) {
    const nl = all.indexOf(10, cut)
    if (nl < 0) break
    cut = nl + 1
    n++
  }
  return all.subarray(0, cut)
}

const all = await input()
const chunks: Buffer[] = []
for (let i = 0; i < all.length; i += 1 << 20) chunks.push(all.subarray(i, Math.min(all.length, i + (1 << 20))))
const gz = opt.gzip ? gzipSync(all) : Buffer.alloc(0)

const results: number[] = []
let digest = ''
let lines = 0
for (let r = 0; r < Math.max(1, Number(opt.repeat)); r++) {
  const pairs: string[] = []
  const stats = newJobStats()
  const c0 = process.cpuUsage()
  const bytes = opt.gzip ? Readable.from([gz]).pipe(createGunzip({ chunkSize: 1 << 18 }))
    : opt.stream && opt.file !== undefined ? createReadStream(opt.file, { highWaterMark: 1 << 20, end: all.length - 1 }) : chunks
  await mapBytes({ rule, params: {}, scanner: opt.js ? 'js' : 'wasm' }, bytes, (k, v) => pairs.push(JSON.stringify([k, v])), stats)
  const c = process.cpuUsage(c0)
  lines = stats.read.lines
  const us = (c.user + c.system) / lines
  results.push(us)
  digest = createHash('sha256').update(pairs.join('\n')).update(JSON.stringify(stats.read)).digest('hex').slice(0, 16)
  if (!opt.json) process.stdout.write(`run ${r}: ${lines} lines, ${stats.read.records} records, ${us.toFixed(3)} µs CPU/line, digest ${digest}\n`)
}
const best = Math.min(...results)
const med = [...results].sort((a, b) => a - b)[Math.floor(results.length / 2)]!
const form = `${opt.slow ? 'full parse' : opt.js ? 'fast path, JS scanner' : 'fast path'}${opt.gzip ? ', gzip' : ''}`
if (opt.json) {
  process.stdout.write(JSON.stringify({ name: `inferno map task, CPU per line (${form})`, n: lines, ms: Math.round((med * lines) / 1000),
    opsPerSec: Math.round(1e6 / med), usPerLineMedian: Number(med.toFixed(3)), usPerLineBest: Number(best.toFixed(3)), digest }) + '\n')
} else {
  process.stdout.write(`inferno map task (${form}): ${lines.toLocaleString('en-US')} lines, median ${med.toFixed(3)} µs CPU/line = ` +
    `${Math.round(1e6 / med).toLocaleString('en-US')} lines/s per core (best ${best.toFixed(3)}), digest ${digest}\n`)
}
