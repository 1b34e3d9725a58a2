// `npm run bench`: runs every bench script (build/bench/*.js except this one and helper modules)
// with --json, then prints one table of all figures: ratios against the original C library (its
// published figures) and against DuckDB in the same run (wall time, CPU time in brackets; for
// Inferno also DuckDB reading line by line, the form whose records equal ours). build.js runs
// first (it makes the .ddb files the readers measure).
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BENCH_HELPERS } from './args.js'

const here = dirname(fileURLToPath(import.meta.url))
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !BENCH_HELPERS.has(f))
  .sort((a, b) => (a === 'build.js' ? -1 : b === 'build.js' ? 1 : a.localeCompare(b)))

interface Figure {
  name: string
  n?: number
  ms?: number
  opsPerSec?: number
  peakRssMB?: number
  baselineMs?: number
  baselineOpsPerSec?: number
  baselinePeakRssMB?: number
  [k: string]: unknown
}

const rows: [string, Figure][] = []
for (const s of scripts) {
  process.stderr.write(`bench: ${s}...\n`)
  let text: string
  try {
    text = execFileSync(process.execPath, [join(here, s), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 })
  } catch (e) {
    process.stderr.write(`bench: ${s} failed: ${(e as Error).message.split('\n')[0]}\n`)
    continue
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      rows.push([s.replace(/\.js$/, ''), JSON.parse(line) as Figure])
    } catch {
      // not a figure line
    }
  }
}

const fmt = (x: number | undefined, digits = 0): string => (x === undefined || !Number.isFinite(x) ? '' : x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
const header = ['script', 'figure', 'n', 'ms', 'ops/s', 'peak RSS MB', 'original C', 'vs original', 'on CPU time', 'vs DuckDB (CPU)', 'vs DuckDB line by line (CPU)']
/** A peer ratio and its CPU-time twin as `0.82× (1.07×)`; empty when the figure has none. */
const peer = (wall: unknown, cpu: unknown): string =>
  typeof wall !== 'number' ? '' : `${wall.toFixed(2)}×${typeof cpu === 'number' ? ` (${cpu.toFixed(2)}×)` : ''}`
const table: string[][] = [header]
for (const [script, f] of rows) {
  let base = ''
  let ratio = ''
  if (f.baselineOpsPerSec && f.opsPerSec) {
    base = `${fmt(f.baselineOpsPerSec)}/s`
    ratio = `${(f.opsPerSec / f.baselineOpsPerSec).toFixed(2)}×`
  } else if (f.baselineMs && f.ms) {
    base = `${fmt(f.baselineMs)} ms${f.baselinePeakRssMB ? `, ${fmt(f.baselinePeakRssMB)} MB` : ''}`
    ratio = `${(f.baselineMs / f.ms).toFixed(2)}× faster`
    if (typeof f['memoryRatio'] === 'number') ratio += `, ${(f['memoryRatio'] as number).toFixed(1)}× less memory`
  }
  // A figure may name its data set (the read bench runs on the compressed and the plain DB).
  const name = typeof f['data'] === 'string' ? `${f.name} [${f['data']}]` : f.name
  const cpu = typeof f['cpuRatio'] === 'number' ? `${(f['cpuRatio'] as number).toFixed(2)}×` : ''
  table.push([script, name, fmt(f.n), fmt(f.ms, 1), fmt(f.opsPerSec), fmt(f.peakRssMB), base, ratio, cpu,
    peer(f['vsDuckdb'], f['vsDuckdbCpu']), peer(f['vsDuckdbExact'], f['vsDuckdbExactCpu'])])
}
const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
for (const [i, r] of table.entries()) {
  console.log(r.map((c, j) => (j < 2 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  '))
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
}
// Wall-time ratios shrink on a loaded machine (the original's figures come from a quieter one).
console.log(`machine load average (1/5/15 min, ${cpus().length} cores): ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`)
