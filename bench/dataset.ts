// The benchmark dataset of ../shared/bench/gen-dataset.mjs (1M pairs, 100k keys), generated into
// bench/data/ when missing, and the .ddb files built from it (by bench/build.ts).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (bench/ compiles to build/bench/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Generated data lives here (git-ignored). */
export const dataDir = join(repoRoot, 'bench', 'data')

/** Paths of the dataset files and of the two built DBs. */
export const paths = {
  tsv: join(dataDir, 'dataset.tsv'),
  lookups: join(dataDir, 'lookups.txt'),
  queries: join(dataDir, 'queries.tsv'),
  params: join(dataDir, 'params.json'),
  /** Built with default options (compressed: the values exceed 5 MiB). */
  ddbDefault: join(dataDir, 'bench-default.ddb'),
  /** Built with `disableCompression`. */
  ddbNoCompress: join(dataDir, 'bench-nocompress.ddb'),
}

/** Finds the shared generator: $DDB_GEN_DATASET, or `shared/bench/gen-dataset.mjs` in a parent folder. */
export function findGenerator(): string {
  const env = process.env.DDB_GEN_DATASET
  if (env) return env
  for (let d = repoRoot; ; d = dirname(d)) {
    const p = join(d, 'shared', 'bench', 'gen-dataset.mjs')
    if (existsSync(p)) return p
    if (dirname(d) === d) throw new Error('cannot find shared/bench/gen-dataset.mjs (set DDB_GEN_DATASET)')
  }
}

/** Generates the default dataset into bench/data/ unless it is already there. */
export function ensureDataset(): void {
  if (existsSync(paths.tsv) && existsSync(paths.lookups) && existsSync(paths.queries)) return
  mkdirSync(dataDir, { recursive: true })
  process.stderr.write('generating the benchmark dataset (once)...\n')
  execFileSync(process.execPath, [findGenerator(), '--out', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] })
}

/** Builds the two .ddb files with bench/build.js unless they exist. */
export function ensureDdbs(): void {
  ensureDataset()
  if (existsSync(paths.ddbDefault) && existsSync(paths.ddbNoCompress)) return
  execFileSync(process.execPath, [join(repoRoot, 'build', 'bench', 'build.js')], { stdio: ['ignore', 'ignore', 'inherit'] })
}
