// A coverage-guided mutation fuzzer on V8's own block coverage (node:inspector, precise coverage
// with block counts): an input is kept in the corpus when it reaches code no kept input reached
// (a new function or block). Seeded, so a run is reproducible from its seed and corpus.
import { Session } from 'node:inspector'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { mulberry32u32 } from '#src/util/random.js'
import { Defect, type Target } from './targets.js'

interface Range { startOffset: number; endOffset: number; count: number }
interface FunctionCoverage { ranges: Range[] }
interface ScriptCoverage { url: string; functions: FunctionCoverage[] }

/** Block coverage of the code under test, read and reset through the inspector. */
export class Coverage {
  readonly #session = new Session()
  /** Features seen so far. */
  readonly #seen = new Set<string>()
  /** Per executed function, the blocks never seen executed (`start:end`). */
  readonly #uncovered = new Map<string, Set<string>>()

  constructor(readonly include: (url: string) => boolean) {
    this.#session.connect()
    this.#post('Profiler.enable')
    this.#post('Profiler.startPreciseCoverage', { callCount: false, detailed: true })
  }

  #post(method: string, params?: object): unknown {
    let out: unknown
    let err: Error | null = null
    // The in-thread session answers synchronously.
    this.#session.post(method, params ?? {}, (e, r) => { err = e; out = r })
    if (err) throw err
    return out
  }

  /**
   * Takes (and resets) the counts since the last call; returns how many new features they hold
   * and, with `keep`, adds them to what was seen.
   */
  take(keep: boolean): number {
    const { result } = this.#post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] }
    const fresh: string[] = []
    const uncoveredNow: Array<[string, Set<string>]> = []
    for (const script of result) {
      if (!this.include(script.url)) continue
      for (const fn of script.functions) {
        const top = fn.ranges[0]
        if (top === undefined || top.count === 0) continue
        const fk = `${script.url}:${top.startOffset}`
        if (!this.#seen.has(`f:${fk}`)) fresh.push(`f:${fk}`)
        const zeros: Range[] = []
        for (let i = 1; i < fn.ranges.length; i++) {
          const r = fn.ranges[i]!
          if (r.count === 0) zeros.push(r)
          else {
            // Presence only: counts summed over a batch would look new in every batch.
            const f = `b:${fk}:${r.startOffset}:${r.endOffset}`
            if (!this.#seen.has(f)) fresh.push(f)
          }
        }
        // A block that ran as often as its function is not listed: it shows as a zero range gone.
        const before = this.#uncovered.get(fk)
        if (before !== undefined) {
          for (const key of before) {
            const [s, e] = key.split(':').map(Number) as [number, number]
            if (!zeros.some((z) => z.startOffset <= s && e <= z.endOffset)) fresh.push(`z:${fk}:${key}`)
          }
        }
        uncoveredNow.push([fk, new Set(zeros.map((z) => `${z.startOffset}:${z.endOffset}`))])
      }
    }
    const news = fresh.filter((f) => !this.#seen.has(f)).length
    if (keep) {
      for (const f of fresh) this.#seen.add(f)
      for (const [fk, zeros] of uncoveredNow) {
        const before = this.#uncovered.get(fk)
        if (before === undefined) this.#uncovered.set(fk, zeros)
        else for (const key of [...before]) if (!zeros.has(key)) before.delete(key)
      }
    }
    return news
  }

  /** Features seen so far. */
  get features(): number {
    return this.#seen.size
  }

  close(): void {
    this.#post('Profiler.stopPreciseCoverage')
    this.#session.disconnect()
  }
}

/** Options of one fuzzing run of one target. */
export interface FuzzOptions {
  readonly seconds: number
  readonly seed: number
  /** Where kept inputs go: `<dir>/<target>/<hash>` (read at start). */
  readonly corpusDir: string
  /** Where defect inputs go. */
  readonly crashDir: string
  /** Inputs tried between two coverage reads (a read costs milliseconds). */
  readonly batch?: number
  /** An execution longer than this is reported as slow (a hang suspect). */
  readonly slowMs?: number
  readonly log?: (line: string) => void
}

/** What one run found. */
export interface FuzzReport {
  target: string
  executions: number
  corpusBefore: number
  corpusAfter: number
  features: number
  defects: Array<{ file: string; message: string }>
  slow: Array<{ file: string; ms: number }>
  seconds: number
}

const hash = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex').slice(0, 16)

/** Inputs stored under `dir` (sorted by name, so a run is reproducible). */
export function readCorpus(dir: string): Array<{ name: string; bytes: Uint8Array }> {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((n) => !n.startsWith('.')).sort().map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }))
}

const INTERESTING_U32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]

/** The mutator: 1 to 4 stacked edits of a parent (bit flips, bytes, tokens, u32 fields, splices). */
export function mutate(parent: Uint8Array, other: Uint8Array, t: Target, rand: () => number): Uint8Array {
  let b: Uint8Array = Uint8Array.from(parent)
  const pick = (n: number): number => (n <= 0 ? 0 : rand() % n)
  const edits = 1 + pick(4)
  for (let k = 0; k < edits; k++) {
    const at = pick(b.length + 1)
    switch (pick(9)) {
      case 0: if (b.length) { const i = pick(b.length); b[i]! ^= 1 << pick(8) } break
      case 1: if (b.length) b[pick(b.length)] = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x22, pick(256)][pick(8)]!; break
      case 2: b = splice(b, at, 0, Uint8Array.from({ length: 1 + pick(8) }, () => pick(256))); break
      case 3: if (b.length) b = splice(b, at, Math.min(b.length - at, 1 + pick(16)), new Uint8Array(0)); break
      case 4: if (b.length) { const s = pick(b.length); b = splice(b, at, 0, b.slice(s, s + 1 + pick(64))) } break
      case 5: if (t.dictionary.length) b = splice(b, at, 0, t.dictionary[pick(t.dictionary.length)]!); break
      case 6: if (b.length >= 4) {
        const i = pick(b.length - 3)
        const v = pick(3) === 0 ? b.length + pick(5) - 2 : INTERESTING_U32[pick(INTERESTING_U32.length)]!
        new DataView(b.buffer, b.byteOffset).setUint32(i, v >>> 0, true)
      } break
      case 7: b = splice(b.slice(0, at), at, 0, other.slice(pick(other.length + 1))); break
      case 8: if (b.length) { const i = pick(b.length); b[i] = (b[i]! + (pick(2) ? 1 : 255) * (1 + pick(4))) & 0xff } break
    }
  }
  return b.length > t.maxLength ? b.slice(0, t.maxLength) : b
}

function splice(b: Uint8Array, at: number, del: number, ins: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length - del + ins.length)
  out.set(b.subarray(0, at), 0)
  out.set(ins, at)
  out.set(b.subarray(at + del), at + ins.length)
  return out
}

/** Runs one input; returns the defect message, if any. */
function execute(t: Target, input: Uint8Array): string | undefined {
  try {
    t.run(input)
    return undefined
  } catch (e) {
    if (e instanceof Defect) return e.message
    return `uncaught ${(e as Error)?.name}: ${(e as Error)?.message}`
  }
}

/**
 * Fuzzes one target for `seconds`: loads its corpus (or seeds), then mutates kept inputs, keeping
 * those that reach new coverage and saving defects and slow inputs.
 */
export function fuzz(t: Target, cov: Coverage, o: FuzzOptions): FuzzReport {
  const log = o.log ?? (() => {})
  const corpusDir = join(o.corpusDir, t.name)
  const crashDir = join(o.crashDir, t.name)
  const rand = mulberry32u32(o.seed)
  const batch = o.batch ?? 64
  const slowMs = o.slowMs ?? 1000
  const report: FuzzReport = { target: t.name, executions: 0, corpusBefore: 0, corpusAfter: 0, features: 0, defects: [], slow: [], seconds: 0 }
  const known = new Set<string>()
  const save = (dir: string, input: Uint8Array): string => {
    mkdirSync(dir, { recursive: true })
    const name = hash(input)
    writeFileSync(join(dir, name), input)
    return join(dir, name)
  }
  const one = (input: Uint8Array): void => {
    const t0 = performance.now()
    const bad = execute(t, input)
    const ms = performance.now() - t0
    report.executions++
    // One report per kind of defect (numbers and quoted text stripped).
    const kind = bad?.split('\n')[0]!.replace(/"[^"]*"|\d+/g, '#')
    if (bad !== undefined && !known.has(kind!)) {
      known.add(kind!)
      const file = save(crashDir, input)
      report.defects.push({ file, message: bad })
      log(`${t.name}: DEFECT ${bad.split('\n')[0]} (${file})`)
    }
    if (ms > slowMs) {
      const file = save(crashDir, input)
      report.slow.push({ file, ms: Math.round(ms) })
      log(`${t.name}: SLOW ${Math.round(ms)} ms (${file})`)
    }
  }
  const corpus: Uint8Array[] = readCorpus(corpusDir).map((c) => c.bytes)
  report.corpusBefore = corpus.length
  if (corpus.length === 0) for (const s of t.seeds()) { corpus.push(s); save(corpusDir, s) }
  cov.take(false)
  for (const c of corpus) {
    one(c)
    cov.take(true)
  }
  const start = performance.now()
  const end = start + o.seconds * 1000
  while (performance.now() < end) {
    const inputs: Uint8Array[] = []
    for (let i = 0; i < batch; i++) {
      const m = mutate(corpus[rand() % corpus.length]!, corpus[rand() % corpus.length]!, t, rand)
      inputs.push(m)
      one(m)
    }
    if (cov.take(false) === 0) continue
    // Something new in this batch: find which inputs reach it, one by one.
    for (const m of inputs) {
      one(m)
      if (cov.take(true) > 0) {
        corpus.push(m)
        save(corpusDir, m)
      }
    }
  }
  report.seconds = Math.round((performance.now() - start) / 100) / 10
  report.corpusAfter = corpus.length
  report.features = cov.features
  return report
}
