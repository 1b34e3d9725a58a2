// Read speed of the DiscoDB reader: open, random lookups (all values decoded), the four query
// shapes of the baseline, and scans. Runs on the shared benchmark dataset when its .ddb files
// exist in bench/data/ (built by bench/build.ts, or with --build here), else on the compat vectors.
// Figures are compared with the original C library (../shared/spec/discodb-baseline.md). Each
// figure is the median of --runs runs (default 5) in this process, after one untimed warm-up run. The headline rows use the
// allocation-free API (lazy open, visitors, columnar batches); rows marked `(iter)` time the same
// work through the iterator API (a Uint8Array per value) for comparison.
//
//   node build/bench/read.js [--json] [--build] [--file X.ddb] [--lookups N] [--max-queries N] [--runs N] [--query-passes N] [--scan-passes N]
//     [--only NAME,NAME] [--data nocompress|default]
// Without --file or --data, each dataset DB is measured in a child process of its own.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DiscoDB, Q } from 'disco-inferno'
import { rng } from '../test/discodb/random.js'
import { dataDir, ensureDdbs, paths, repoRoot } from './dataset.js'
import { benchArgs } from './args.js'

const args = process.argv.slice(2)
const { values: o } = benchArgs(import.meta.url, { options: {
  json: { type: 'boolean' }, build: { type: 'boolean' }, file: { type: 'string' }, lookups: { type: 'string' }, 'max-queries': { type: 'string' },
  runs: { type: 'string' }, 'query-passes': { type: 'string' }, 'scan-passes': { type: 'string' }, only: { type: 'string' }, data: { type: 'string' },
} }, args)
const json = o.json === true
const opt = (name: `--${Exclude<keyof typeof o, 'json' | 'build' | 'help'>}`): string | undefined => o[name.slice(2) as Exclude<keyof typeof o, 'json' | 'build' | 'help'>]
const maxLookups = Number(opt('--lookups') ?? 200_000)
const maxQueries = Number(opt('--max-queries') ?? 20_000)
const runs = Math.max(1, Number(opt('--runs') ?? 5))
/** Passes over each query list per timed run. */
const queryPasses = Math.max(1, Number(opt('--query-passes') ?? 5))
/** Passes of an uncompressed DB's item scans (scanItems, scanValues) per timed run. */
const scanPasses = Math.max(1, Number(opt('--scan-passes') ?? 5))
/** Figures to measure (names without ` (iter)`); all when absent. */
const only = opt('--only')?.split(',')
const onlyData = opt('--data')

/** The original's figures (C library, median of 5), per mode, in operations per second. */
const BASELINE: Record<'default' | 'nocompress', Record<string, number>> = {
  default: { open: 1e6 / 5.7, lookups: 539_000, and2: 827_000, or2: 64_600, cnf3: 337_000, neg: 3_680, scanItems: 6_300_000, scanValues: 7_530_000, scanUniqueValues: 15_500_000 },
  nocompress: { open: 1e6 / 8.3, lookups: 2_103_000, and2: 751_000, or2: 63_000, cnf3: 265_000, neg: 3_150, scanItems: 51_800_000, scanValues: 176_000_000, scanUniqueValues: 425_000_000 },
}

interface Figure {
  name: string
  data: string
  n: number
  ms: number
  cpuMs: number
  opsPerSec: number
  /** Operations per CPU-second: steadier than wall time on a shared, loaded machine. */
  cpuOpsPerSec: number
  peakRssMB: number
  baselineOpsPerSec?: number
  ratio?: number
  /** The same ratio on CPU time (a loaded machine stretches wall time, not CPU time as much). */
  cpuRatio?: number
  /** 1-minute load average of the machine during the figure (2 cores). */
  load1: number
}

const figures: Figure[] = []
/** Where measured loops leave their results (so that they are not optimized away). */
let sunk = 0
const sinkOf = (x: void | number): void => {
  if (typeof x === 'number') sunk += x
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/**
 * Times `f`, which performs `n` operations, `runs` times; keeps the medians. A number `f` returns
 * goes to the sink (a scan loop returns its sum instead of writing a shared variable after the
 * loop: that write is first reached after the loop was compiled, and would deoptimize every run).
 */
function measure(name: string, data: string, mode: 'default' | 'nocompress' | undefined, n: number, f: () => void | number): void {
  if (only !== undefined && !only.includes(name.replace(/ \(iter\)$/, ''))) return
  // A full collection first (untimed, when node runs with --expose-gc, as the per-DB children
  // do): the garbage of earlier figures is not collected on this figure's CPU time.
  ;(globalThis as { gc?: () => void }).gc?.()
  const wall: number[] = []
  const cpus: number[] = []
  // One untimed run first: process CPU time counts the JIT's background compiler threads, which
  // are busy right after new code starts running (the original's C has no warm-up to pay).
  sinkOf(f())
  for (let i = 0; i < runs; i++) {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    sinkOf(f())
    wall.push(performance.now() - t0)
    const cpu = process.cpuUsage(cpu0)
    cpus.push((cpu.user + cpu.system) / 1000)
  }
  const ms = median(wall)
  const cpuMs = median(cpus)
  const opsPerSec = n / (ms / 1000)
  const base = mode === undefined ? undefined : BASELINE[mode][name.replace(/ \(iter\)$/, '')]
  figures.push({
    name,
    data,
    n,
    ms: Math.round(ms * 10) / 10,
    cpuMs: Math.round(cpuMs * 10) / 10,
    opsPerSec: Math.round(opsPerSec),
    cpuOpsPerSec: Math.round(n / (Math.max(cpuMs, 0.001) / 1000)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(base === undefined
      ? {}
      : { baselineOpsPerSec: Math.round(base), ratio: Math.round((opsPerSec / base) * 100) / 100, cpuRatio: Math.round((n / (Math.max(cpuMs, 0.001) / 1000) / base) * 100) / 100 }),
    load1: Math.round(loadavg()[0]! * 10) / 10,
  })
}

interface Workload {
  lookups: string[]
  queries: Map<string, string[]>
}

/** The dataset's workload files. */
function datasetWorkload(): Workload {
  const lookups = readFileSync(paths.lookups, 'utf8').split('\n').filter(Boolean).slice(0, maxLookups)
  const queries = new Map<string, string[]>()
  for (const line of readFileSync(paths.queries, 'utf8').split('\n')) {
    const tab = line.indexOf('\t')
    if (tab < 0) continue
    const kind = line.slice(0, tab)
    const list = queries.get(kind) ?? []
    if (list.length < maxQueries) list.push(line.slice(tab + 1))
    queries.set(kind, list)
  }
  return { lookups, queries }
}

/** A workload of the same shapes drawn from a DB's own keys (seeded). */
function syntheticWorkload(db: DiscoDB): Workload {
  const keys = db.keys().toStrings().filter((k) => /^[^&|~+*()\s]+$/.test(k))
  const r = rng(20240601)
  const k = (): string => r.pick(keys)
  const n = Math.min(maxLookups, 50_000)
  const q = Math.min(maxQueries, 5_000)
  return {
    lookups: Array.from({ length: n }, k),
    queries: new Map([
      ['and2', Array.from({ length: q }, () => `${k()} & ${k()}`)],
      ['or2', Array.from({ length: q }, () => `${k()} | ${k()}`)],
      ['cnf3', Array.from({ length: q }, () => `(${k()} | ${k()}) & (${k()} | ${k()}) & (${k()} | ${k()})`)],
      ['neg', Array.from({ length: Math.ceil(q / 10) }, () => `${k()} & ~${k()}`)],
    ]),
  }
}

/** UTF-8 bytes of each text, as views of one buffer. */
function keyViews(texts: string[]): Uint8Array[] {
  const enc = new TextEncoder()
  const all = enc.encode(texts.join('\n'))
  const views: Uint8Array[] = []
  for (let start = 0, i = 0; i < texts.length; i++) {
    let end = all.indexOf(10, start)
    if (end < 0) end = all.length
    views.push(all.subarray(start, end))
    start = end + 1
  }
  return views
}

/** All figures for one DB file. */
function run(file: string, data: string, mode: 'default' | 'nocompress' | undefined, work: (db: DiscoDB) => Workload): void {
  const reps = 2000
  // Opened by a path relative to the working directory, as the original's driver did (the
  // kernel's path walk grows with the number of directories named).
  const rel = relative(process.cwd(), file)
  const openPath = rel.startsWith('..') || isAbsolute(rel) ? file : rel
  measure('open', data, mode, reps, () => {
    for (let i = 0; i < reps; i++) DiscoDB.open(openPath).close()
  })
  measure('load', data, undefined, 20, () => {
    for (let i = 0; i < 20; i++) DiscoDB.load(file)
  })
  const db = DiscoDB.open(file)
  const w = work(db)
  // The lookup keys as views of one buffer, as the original's driver holds them (pointers into
  // the file it read): 200,000 separately allocated arrays would cost cache misses of their own.
  const lookupKeys = keyViews(w.lookups)
  // The first lookup reads the index and decodes the hash tables (once): keep it out of the timed loop.
  db.has(lookupKeys[0] ?? '')
  // The visitors' sum stays a small integer (a C long in the original's driver): past 2^30 each
  // `+=` would allocate a heap number in the closure's context.
  let sink = 0
  const visit = (_b: Uint8Array, s: number, e: number): void => {
    sink = (sink + (e - s)) & 0x3fffffff
  }
  measure('lookups', data, mode, lookupKeys.length, () => {
    for (const key of lookupKeys) db.get(key)?.visit(visit)
  })
  measure('lookups (iter)', data, mode, lookupKeys.length, () => {
    for (const key of lookupKeys) {
      const vs = db.get(key)
      if (vs) for (const v of vs) sink = (sink + v.length) & 0x3fffffff
    }
  })
  for (const [kind, texts] of w.queries) {
    if (only !== undefined && !only.includes(kind) && !(kind === 'and2' && only.includes('and2+parse'))) continue
    const qs = texts.map((t) => Q.parse(t))
    // The workload `queryPasses` times per run: one pass of a query list lasts 5-40 ms, too short a
    // run on a loaded machine.
    measure(kind, data, mode, qs.length * queryPasses, () => {
      for (let p = 0; p < queryPasses; p++) for (const q of qs) db.query(q).visit(visit)
    })
    measure(`${kind} (iter)`, data, mode, qs.length * queryPasses, () => {
      for (let p = 0; p < queryPasses; p++) for (const q of qs) for (const v of db.query(q)) sink = (sink + v.length) & 0x3fffffff
    })
    if (kind === 'and2') {
      measure('and2+parse', data, undefined, texts.length, () => {
        for (const t of texts) db.query(t).visit(visit)
      })
    }
  }
  // The workload is not needed any more: drop it, so that collections during the scans do not
  // walk it (a C driver's freed memory costs nothing).
  lookupKeys.length = 0
  w.lookups.length = 0
  w.queries.clear()
  // Scans: columnar batches of value IDs over one column of the unique values (built inside the
  // timed part: for a compressed DB that is where every value is decoded).
  // Scan loops sum into a local (as a C loop would) and add it to the sink once.
  // Uncompressed, one pass of the item scans lasts a few milliseconds: each timed run makes
  // --scan-passes passes (5 unless given; the count with them), so that a loaded machine's
  // interruptions weigh less on the figure. Compressed, one pass (see scanUniqueValues below).
  const scanReps = db.header.compressed ? 1 : scanPasses
  // One pass in a function of its own, called once per pass: its loops are compiled once for all
  // passes (a repeat loop around them, first reached at the end of the first pass, would throw
  // the compiled loops away there).
  const scanItemsOnce = (): number => {
    const { offsets } = db.valueColumn()
    let acc = 0
    for (const b of db.itemBatches()) {
      const { ids, idStarts } = b
      for (let k = 0; k < b.length; k++) {
        acc += b.keyEnds[k]! - b.keyStarts[k]!
        for (let j = idStarts[k]!, end = idStarts[k + 1]!; j < end; j++) acc += offsets[ids[j]!]! - offsets[ids[j]! - 1]!
      }
    }
    return acc
  }
  measure('scanItems', data, mode, scanReps * db.header.numValues, () => {
    let acc = 0
    for (let rep = 0; rep < scanReps; rep++) acc += scanItemsOnce()
    return acc
  })
  measure('scanItems (iter)', data, mode, db.header.numValues, () => {
    for (const [, vs] of db.items()) for (const v of vs) sink = (sink + v.length) & 0x3fffffff
  })
  const scanValuesOnce = (): number => {
    const { offsets } = db.valueColumn()
    let acc = 0
    for (const b of db.itemBatches()) {
      const ids = b.ids
      for (let j = 0, end = b.idStarts[b.length]!; j < end; j++) acc += offsets[ids[j]!]! - offsets[ids[j]! - 1]!
    }
    return acc
  }
  measure('scanValues', data, mode, scanReps * db.header.numValues, () => {
    let acc = 0
    for (let rep = 0; rep < scanReps; rep++) acc += scanValuesOnce()
    return acc
  })
  measure('scanValues (iter)', data, mode, db.header.numValues, () => {
    for (const v of db.values()) sink = (sink + v.length) & 0x3fffffff
  })
  // Unique values in batches (C's cursor: each value's extent, a compressed one decoded into a
  // reused buffer). Uncompressed, one pass takes well under a millisecond: it is repeated (the
  // count with it) so that the figure is measurable.
  // Compressed, one pass per run and no loop around it: the compiler enters the scan's loop during
  // the warm-up run, and a repeat loop whose increment had not run yet by then would throw that
  // code away at its end (and the timed runs would pay for compiling it again).
  const uniqueReps = db.header.compressed ? 1 : 20
  const scanUnique = (): number => {
    let acc = 0
    for (const b of db.valueBatches()) {
      const offsets = b.offsets
      for (let k = 0; k < b.length; k++) acc += offsets[k + 1]! - offsets[k]!
    }
    return acc
  }
  measure('scanUniqueValues', data, mode, uniqueReps * db.header.numUniqueValues, db.header.compressed ? scanUnique : () => {
    let acc = 0
    for (let rep = 0; rep < uniqueReps; rep++) {
      for (const b of db.valueBatches()) {
        const offsets = b.offsets
        for (let k = 0; k < b.length; k++) acc += offsets[k + 1]! - offsets[k]!
      }
    }
    return acc
  })
  measure('scanUniqueValues (iter)', data, mode, db.header.numUniqueValues, () => {
    for (const v of db.uniqueValues()) sink = (sink + v.length) & 0x3fffffff
  })
  if (sink < 0 || sunk < 0) console.log(sink, sunk)
}

if (o.build) ensureDdbs()
const file = opt('--file')
if (file !== undefined) {
  run(file, file, undefined, (db) => (existsSync(paths.lookups) ? datasetWorkload() : syntheticWorkload(db)))
} else if (onlyData === 'nocompress' || onlyData === 'default') {
  const f = onlyData === 'nocompress' ? paths.ddbNoCompress : paths.ddbDefault
  if (existsSync(f)) run(f, `dataset-${onlyData}`, onlyData, () => datasetWorkload())
} else if (existsSync(paths.ddbDefault) || existsSync(paths.ddbNoCompress)) {
  // Each DB in a fresh process (as the original's driver ran): one's heap and JIT state do not
  // weigh on the other's figures.
  const pass = args.filter((a, i) => a !== '--json' && a !== '--build' && args[i - 1] !== '--data' && a !== '--data')
  for (const mode of ['nocompress', 'default'] as const) {
    if (!existsSync(mode === 'nocompress' ? paths.ddbNoCompress : paths.ddbDefault)) continue
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...pass, '--data', mode, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    for (const line of out.split('\n')) if (line.startsWith('{')) figures.push(JSON.parse(line) as Figure)
  }
} else {
  // No dataset DB yet: the compat vectors (small; figures are not comparable to the baseline).
  const compat = [join(repoRoot, '..', 'shared', 'compat'), join(repoRoot, '..', '..', 'shared', 'compat')].find((d) => existsSync(d))
  if (compat === undefined) throw new Error(`no dataset DB in ${dataDir} and no ../shared/compat`)
  run(join(compat, 'medium-5000.ddb'), 'compat/medium-5000', undefined, syntheticWorkload)
  run(join(compat, 'compressed-text.ddb'), 'compat/compressed-text', undefined, syntheticWorkload)
}

if (json) for (const f of figures) console.log(JSON.stringify(f))
else {
  const show = (f: Figure): string => `${f.name} ${f.opsPerSec.toLocaleString('en-US')}/s${f.ratio === undefined ? '' : ` (${f.ratio}x C, CPU ${f.cpuRatio}x)`}`
  console.log(`read [${[...new Set(figures.map((f) => f.data))].join(', ')}; load ${loadavg()[0]!.toFixed(1)}]: ${figures.map(show).join(' · ')}`)
}
