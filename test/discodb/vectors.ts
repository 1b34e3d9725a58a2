// Loads the compatibility vectors of ../shared/compat (schema discodb-compat-vector/1) by
// scanning the directory, so any further vector of the same form is picked up.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

/** The repository root (tests run from build/test/discodb/). */
export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..')
/**
 * The shared vector directory: `../shared/compat` beside the repository (as CI lays it out), else
 * the nearest `shared/compat` above it (a git worktree nested deeper), or $DISCO_COMPAT_DIR.
 */
export const compatDir = findCompatDir()

function findCompatDir(): string {
  if (process.env['DISCO_COMPAT_DIR']) return resolve(process.env['DISCO_COMPAT_DIR'])
  const beside = resolve(repoRoot, '..', 'shared', 'compat')
  for (let d = resolve(repoRoot, '..'); ; d = dirname(d)) {
    const c = join(d, 'shared', 'compat')
    if (existsSync(c)) return c
    if (dirname(d) === d) return beside
  }
}

export type Lit = [string, boolean]
export interface Digest { count: number; sha256: string; head: string[]; tail: string[] }
export interface VError { type: string; message: string; stage: string }
export interface VQuery {
  q: string | null
  cnf?: Lit[][]
  deref?: boolean
  view?: string[]
  result?: string[]
  result_digest?: Digest
  error?: VError
  intended?: { cnf: Lit[][]; result?: string[]; result_digest?: Digest }
}
export interface Vector {
  name: string
  file: string
  ddb: string
  encoding: 'utf8' | 'base64' | 'hex'
  sha256: string
  header: Record<string, number | boolean>
  len: { db: number; keys: number; values: number; unique_values: number }
  items: [string, string[]][]
  unique_values: string[]
  lookups: { key: string; found: boolean; values: string[] | null }[]
  queries: VQuery[]
  metaqueries: { q: string; result?: { cnf: Lit[][]; values: string[] }[]; error?: VError }[]
}

/** Every vector file (.json / .json.gz) in `dir` that follows the schema. */
export function loadVectors(dir = compatDir): Vector[] {
  const out: Vector[] = []
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json') && !name.endsWith('.json.gz')) continue
    const raw = readFileSync(join(dir, name))
    const v = JSON.parse((name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'))
    if (v.schema !== 'discodb-compat-vector/1') continue
    out.push({ ...v, file: name, ddb: join(dir, v.ddb) })
  }
  return out
}

/** Raw bytes of a vector string. */
export function dec(v: Vector, s: string): Uint8Array {
  if (v.encoding === 'utf8') return new Uint8Array(Buffer.from(s, 'utf8'))
  return new Uint8Array(Buffer.from(s, v.encoding))
}
