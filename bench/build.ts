// Build speed and peak memory of the DiscoDB writer on the shared dataset (1M pairs, 100k keys),
// without and with compression, each in a fresh process (so peak RSS is the build's own).
// Timed like the original's baseline: the TSV is read into memory first (untimed), then
// parse + add, finalize, write the file.
//
//   node build/bench/build.js [--json] [--mode nocompress|default]
import { execFileSync } from 'node:child_process'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DiscoDBConstructor } from '#src/discodb/constructor.js'
import { addTsvLines } from '#src/discodb/tsv.js'
import { ensureDataset, paths } from './dataset.js'
import { benchArgs } from './args.js'

const { values: o } = benchArgs(import.meta.url, { options: { json: { type: 'boolean' }, mode: { type: 'string' } } })
const json = o.json === true
const modeArg = o.mode

interface Figure {
  name: string
  n: number
  ms: number
  opsPerSec: number
  peakRssMB: number
  /** CPU time of the build (all threads): less sensitive to a busy machine than wall time. */
  cpuMs: number
  addMs: number
  finalizeMs: number
  writeMs: number
  fileBytes: number
  baselineMs: number
  baselinePeakRssMB: number
  /** How many times faster than the original on CPU time (its figure is wall time on a quiet machine). */
  cpuRatio: number
  /** How many times less peak memory than the original. */
  memoryRatio: number
}

/** One build in this process. */
function buildOnce(mode: 'nocompress' | 'default'): Figure {
  const tsv = readFileSync(paths.tsv)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const c = new DiscoDBConstructor()
  addTsvLines(c, tsv, 0, tsv.length, true)
  const t1 = performance.now()
  const n = c.pairCount
  const bytes = c.finalizeBytes({ disableCompression: mode === 'nocompress' })
  const t2 = performance.now()
  const out = mode === 'nocompress' ? paths.ddbNoCompress : paths.ddbDefault
  writeFileSync(out + '.tmp', bytes)
  renameSync(out + '.tmp', out)
  const t3 = performance.now()
  const cpu = process.cpuUsage(cpu0)
  const base = mode === 'nocompress' ? { ms: 1970, rss: 547 } : { ms: 3630, rss: 1050 }
  return {
    name: `build-${mode}`, n, ms: t3 - t0, opsPerSec: n / ((t3 - t0) / 1000),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    cpuMs: (cpu.user + cpu.system) / 1000, addMs: t1 - t0, finalizeMs: t2 - t1, writeMs: t3 - t2, fileBytes: bytes.length,
    baselineMs: base.ms, baselinePeakRssMB: base.rss,
    cpuRatio: Math.round((base.ms / ((cpu.user + cpu.system) / 1000)) * 100) / 100,
    memoryRatio: Math.round((base.rss / (process.resourceUsage().maxRSS / 1024)) * 100) / 100,
  }
}

function human(f: Figure): string {
  return `${f.name}: ${f.n.toLocaleString('en')} pairs in ${(f.ms / 1000).toFixed(2)} s (add ${(f.addMs / 1000).toFixed(2)}, ` +
    `finalize ${(f.finalizeMs / 1000).toFixed(2)}, write ${(f.writeMs / 1000).toFixed(2)}; CPU ${(f.cpuMs / 1000).toFixed(2)} s), peak RSS ${f.peakRssMB.toFixed(0)} MB, ` +
    `${f.fileBytes.toLocaleString('en')} B — original C: ${(f.baselineMs / 1000).toFixed(2)} s, ${f.baselinePeakRssMB} MB ` +
    `(${(f.baselineMs / f.ms).toFixed(2)}× faster, CPU ${f.cpuRatio}×, ${f.memoryRatio}× less memory)`
}

if (modeArg === 'nocompress' || modeArg === 'default') {
  const f = buildOnce(modeArg)
  console.log(json ? JSON.stringify(f) : human(f))
} else {
  ensureDataset()
  for (const mode of ['nocompress', 'default']) {
    const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--json', '--mode', mode], { encoding: 'utf8' }).trim()
    const f = JSON.parse(line) as Figure
    console.log(json ? JSON.stringify(f) : human(f))
  }
}
