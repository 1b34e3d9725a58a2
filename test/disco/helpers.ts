// Shared helpers of the Disco tests: seeded data, temp stores, a reference word count.
import { mulberry32 } from '#src/util/random.js'
import type { DiscoStores } from 'disco-inferno'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FIXTURES = fileURLToPath(new URL('./fixtures/jobs.js', import.meta.url))

/** mulberry32: a small seeded PRNG. */
export const rng = mulberry32

export function tempDir(t: { after(fn: () => void): void }, label = 'disco'): string {
  const d = mkdtempSync(join(tmpdir(), `${label}-`))
  t.after(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** Sets environment variable `name` to `value` for the rest of the test (restored after it). */
export function withEnv(t: { after(fn: () => void): void }, name: string, value: string): void {
  const saved = process.env[name]
  process.env[name] = value
  t.after(() => {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  })
}

const WORDS = ['a', 'to', 'be', 'or', 'not', 'that', 'is', 'the', 'question', 'é', 'Z', 'zz', 'a b', '9', '10']

/**
 * Writes `files` files named `<name>-<f>.<ext>` of `lines` lines each, made by `line(i, add)` where
 * `add(key, n)` adds to the reference; returns the paths and the reference.
 */
function seededFiles(
  dir: string, name: string, ext: string, files: number, lines: number,
  line: (i: number, add: (key: string, n: number) => void) => string,
): { paths: string[]; ref: Map<string, number> } {
  const ref = new Map<string, number>()
  const add = (key: string, n: number): void => {
    ref.set(key, (ref.get(key) ?? 0) + n)
  }
  const paths: string[] = []
  for (let f = 0; f < files; f++) {
    const out: string[] = []
    for (let i = 0; i < lines; i++) out.push(line(i, add))
    const p = join(dir, `${name}-${f}.${ext}`)
    writeFileSync(p, out.join('\n') + '\n')
    paths.push(p)
  }
  return { paths, ref }
}

/** `files` text files of `lines` lines of seeded words; returns the paths and the reference counts. */
export function wordFiles(dir: string, seed: number, files: number, lines: number): { paths: string[]; ref: Map<string, number> } {
  const r = rng(seed)
  return seededFiles(dir, 'words', 'txt', files, lines, (i, add) => {
    const n = Math.floor(r() * 8)
    const ws: string[] = [`#${i}`]
    for (let j = 0; j < n; j++) {
      const w = r() < 0.7 ? WORDS[Math.floor(r() * WORDS.length)]!.replace(' ', '_') : `w${Math.floor(r() * 500)}`
      ws.push(w)
    }
    for (const w of ws) add(w, 1)
    return ws.join(' ')
  })
}

/** NDJSON files of {k, v} records; returns the paths and the reference sums. */
export function kvFiles(dir: string, seed: number, files: number, lines: number): { paths: string[]; ref: Map<string, number> } {
  const r = rng(seed)
  return seededFiles(dir, 'kv', 'ndjson', files, lines, (_i, add) => {
    const k = `user${Math.floor(r() * 300)}`
    const v = Math.floor(r() * 1000) - 100
    add(k, v)
    return JSON.stringify({ k, v })
  })
}

/** The reference as sorted [key, value] pairs (JS string order, like the engine). */
export function sorted(ref: Map<string, number>): [string, number][] {
  return [...ref.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** A user function of the fixtures module by export name. */
export const fn = (name: string) => ({ module: FIXTURES, export: name })

/** The URLs of every job-data blob (map outputs and results) in a store. */
export async function dataUrls(stores: DiscoStores): Promise<string[]> {
  const out: string[] = []
  for await (const b of stores.data.list()) out.push(b.url)
  return out
}
