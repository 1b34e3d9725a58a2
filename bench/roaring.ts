// The query workload of the shared dataset evaluated with Roaring bitmaps over value IDs (the
// `roaring` npm package, installed at bench time into bench/data/roaring/, never a dependency),
// next to the original C numbers — a yardstick for our own query engine (bench/read.ts).
// Like the baseline: queries pre-parsed (untimed), every result value decoded.
//
//   node build/bench/roaring.js [--json]
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { DiscoDB } from 'disco-inferno'
import { dataDir, ensureDdbs, paths } from './dataset.js'
import { benchArgs } from './args.js'

const json = benchArgs(import.meta.url, { options: { json: { type: 'boolean', default: false } } }).values.json

interface Bitmap {
  size: number
  toUint32Array(): Uint32Array
}
interface RoaringModule {
  RoaringBitmap32: {
    new (values?: Iterable<number> | Uint32Array): Bitmap
    and(a: Bitmap, b: Bitmap): Bitmap
    or(a: Bitmap, b: Bitmap): Bitmap
    andNot(a: Bitmap, b: Bitmap): Bitmap
  }
}

/** Installs `roaring` into bench/data/roaring (once) and loads it; null when it cannot be installed. */
function loadRoaring(): RoaringModule | null {
  const prefix = join(dataDir, 'roaring')
  const req = createRequire(join(prefix, 'package.json'))
  const tryLoad = (): RoaringModule | null => {
    try {
      return req('roaring') as RoaringModule
    } catch {
      return null
    }
  }
  let mod = tryLoad()
  if (mod) return mod
  mkdirSync(prefix, { recursive: true })
  try {
    process.stderr.write('installing roaring for the bitmap comparison (once)...\n')
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, 'roaring'], { stdio: ['ignore', 'ignore', 'inherit'] })
  } catch (e) {
    process.stderr.write(`roaring could not be installed: ${(e as Error).message.split('\n')[0]}\n`)
    return null
  }
  mod = tryLoad()
  return mod
}

/** Original C figures (discodb-baseline.md, uncompressed file) for the same shapes. */
const BASELINE: Record<string, number> = { and2: 751_000, or2: 63_000, cnf3: 265_000, neg: 3_150 }

const roaring = loadRoaring()
if (!roaring) {
  const line = { name: 'roaring', n: 0, ms: 0, opsPerSec: 0, peakRssMB: process.resourceUsage().maxRSS / 1024, error: 'roaring could not be installed' }
  console.log(json ? JSON.stringify(line) : 'roaring: not measured (the package could not be installed)')
  process.exit(0)
}
ensureDdbs()
const { RoaringBitmap32 } = roaring
const db = DiscoDB.load(paths.ddbNoCompress)
const t0 = performance.now()
const bitmaps = new Map<string, Bitmap>()
for (const key of db.keys()) bitmaps.set(Buffer.from(key).toString('latin1'), new RoaringBitmap32(db.idsOfKey(key)))
const buildMs = performance.now() - t0
const empty = new RoaringBitmap32()
const bm = (k: string): Bitmap => bitmaps.get(k) ?? empty

const byKind = new Map<string, string[][]>()
for (const line of readFileSync(paths.queries, 'latin1').split('\n')) {
  if (!line) continue
  const [kind, q] = line.split('\t') as [string, string]
  const terms = q.replace(/[()~]/g, ' ').split(/[&|]/).map((s) => s.trim())
  if (!byKind.has(kind)) byKind.set(kind, [])
  byKind.get(kind)!.push(terms)
}
const evalers: Record<string, (t: string[]) => Bitmap> = {
  and2: (t) => RoaringBitmap32.and(bm(t[0]!), bm(t[1]!)),
  or2: (t) => RoaringBitmap32.or(bm(t[0]!), bm(t[1]!)),
  cnf3: (t) => RoaringBitmap32.and(RoaringBitmap32.and(RoaringBitmap32.or(bm(t[0]!), bm(t[1]!)), RoaringBitmap32.or(bm(t[2]!), bm(t[3]!))), RoaringBitmap32.or(bm(t[4]!), bm(t[5]!))),
  neg: (t) => RoaringBitmap32.andNot(bm(t[0]!), bm(t[1]!)),
}
const figures: object[] = [{ name: 'roaring-build-bitmaps', n: bitmaps.size, ms: buildMs, opsPerSec: bitmaps.size / (buildMs / 1000), peakRssMB: process.resourceUsage().maxRSS / 1024 }]
for (const [kind, list] of byKind) {
  const f = evalers[kind]
  if (!f) continue
  let results = 0
  const t = performance.now()
  for (const terms of list) {
    const ids = f(terms).toUint32Array()
    for (let i = 0; i < ids.length; i++) results += db.valueAt(ids[i]!).length >= 0 ? 1 : 0
  }
  const ms = performance.now() - t
  figures.push({ name: `roaring-query-${kind}`, n: list.length, ms, opsPerSec: list.length / (ms / 1000), peakRssMB: process.resourceUsage().maxRSS / 1024, results, baselineOpsPerSec: BASELINE[kind] })
}
for (const f of figures as { name: string; n: number; ms: number; opsPerSec: number; baselineOpsPerSec?: number }[]) {
  console.log(json ? JSON.stringify(f) : `${f.name}: ${f.n.toLocaleString('en')} in ${f.ms.toFixed(0)} ms = ${Math.round(f.opsPerSec).toLocaleString('en')}/s${f.baselineOpsPerSec ? ` (original C ${f.baselineOpsPerSec.toLocaleString('en')}/s)` : ''}`)
}
void existsSync
