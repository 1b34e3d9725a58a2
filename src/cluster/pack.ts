// Job packs: how user code reaches workers on other machines. The coordinator collects a job
// module and every file it imports by a relative specifier (static imports, re-exports, dynamic
// `import('./…')` with a string literal), stores each file in the job data store under the SHA-256
// of its bytes, and a manifest (paths relative to the files' common directory, with hashes) under
// the SHA-256 of the manifest. A worker writes a pack once into its cache directory
// (`$DISCO_PACK_CACHE`, default `<tmp>/disco-packs-<hash of the package path>`), checking every hash, and imports the entry
// from there. Bare imports resolve from the cache: `disco-inferno` is linked to the worker's own
// package; any other npm package must be installed where the worker can find it. Modules inside
// this package itself (Inferno's job functions, built-in rules) are never packed: they travel as
// `disco-self:<path>` and each worker imports its own copy.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DiscoError } from '../errors.js'
import type { BlobStore } from '../ddfs/types.js'
import type { FnRef, NormalizedSpec } from '../disco/index.js'

/** Module references of a packed function: `disco-pack:<pack id>/<path in the pack>`. */
export const PACK_SCHEME = 'disco-pack:'
/**
 * Module references into this package's own code (`disco-self:<path under its code root>`, e.g.
 * Inferno's job functions or a built-in rule module): never packed, each worker resolves them to
 * its own installed copy.
 */
export const SELF_SCHEME = 'disco-self:'
/** The root of this package's compiled code (dist/). */
const CODE_ROOT = fileURLToPath(new URL('../', import.meta.url))

/** A pack manifest: the entry and every file with its hash and where it is stored. */
export interface PackManifest {
  entry: string
  /** The `type` of the entry's nearest package.json (how `.js` files load); absent when none says (Node then detects it). */
  type?: 'module' | 'commonjs'
  files: { path: string; sha256: string; url: string }[]
}

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex')

/** The relative specifiers a module's source imports (static, re-export, literal dynamic import). */
export function relativeImports(source: string): string[] {
  const out = new Set<string>()
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]+)\1/g
  for (const m of source.matchAll(re)) out.add(m[2]!)
  return [...out]
}

/** The `type` of the package.json nearest to `file` (undefined when none gives one). */
function moduleType(file: string): 'module' | 'commonjs' | undefined {
  for (let d = dirname(file); ; d = dirname(d)) {
    const p = join(d, 'package.json')
    if (existsSync(p)) {
      try {
        const type = (JSON.parse(readFileSync(p, 'utf8')) as { type?: string }).type
        return type === 'module' || type === 'commonjs' ? type : undefined
      } catch {
        return undefined
      }
    }
    if (dirname(d) === d) return undefined
  }
}

/** The entry file and every file it reaches by relative imports. */
function collect(entry: string): string[] {
  const seen = new Set<string>([entry])
  const todo = [entry]
  while (todo.length > 0) {
    const f = todo.pop()!
    for (const spec of relativeImports(readFileSync(f, 'utf8'))) {
      const target = resolve(dirname(f), spec.split(/[?#]/)[0]!)
      if (seen.has(target) || !existsSync(target) || !statSync(target).isFile()) continue
      seen.add(target)
      todo.push(target)
    }
  }
  return [...seen]
}

function commonDir(files: string[]): string {
  let base = dirname(files[0]!)
  for (const f of files) while (!(f + sep).startsWith(base.endsWith(sep) ? base : base + sep)) base = dirname(base)
  return base
}

/**
 * Stores the pack of a module (a `file:` URL) in `data`; returns the module reference workers
 * import and the manifest's URL.
 */
export async function storePack(data: BlobStore, moduleUrl: string): Promise<{ id: string; module: string; manifest: string }> {
  const entry = fileURLToPath(moduleUrl)
  const files = collect(entry)
  const base = commonDir(files)
  const type = moduleType(entry)
  const manifest: PackManifest = { entry: relative(base, entry).split(sep).join('/'), ...(type ? { type } : {}), files: [] }
  for (const f of files.sort()) {
    const bytes = readFileSync(f)
    const hash = sha256(bytes)
    const { url } = await data.put(`pack-file-${hash}`, bytes, { replace: true })
    manifest.files.push({ path: relative(base, f).split(sep).join('/'), sha256: hash, url })
  }
  const text = JSON.stringify(manifest)
  const id = sha256(text).slice(0, 32)
  const { url } = await data.put(`pack-${id}.json`, Buffer.from(text), { replace: true })
  return { id, module: `${PACK_SCHEME}${id}/${manifest.entry}`, manifest: url }
}

/** A module reference as workers see it: this package's own code by `disco-self:`, other files packed. */
async function shipModule(data: BlobStore, module: string, cache: Map<string, ReturnType<typeof storePack>>, packs: Record<string, string>): Promise<string> {
  if (!module.startsWith('file:')) return module
  const file = fileURLToPath(module)
  if (file.startsWith(CODE_ROOT)) return `${SELF_SCHEME}${relative(CODE_ROOT, file).split(sep).join('/')}`
  let p = cache.get(module)
  if (!p) {
    p = storePack(data, module)
    cache.set(module, p)
    p.catch(() => cache.delete(module))
  }
  const packed = await p
  packs[packed.id] = packed.manifest
  return packed.module
}

/**
 * Packs every user module of a spec (its functions' modules and its `modules`; once per module per
 * `cache`); returns the spec with packed module references and the manifests' URLs by pack id.
 */
export async function packSpec(data: BlobStore, spec: NormalizedSpec, cache: Map<string, ReturnType<typeof storePack>>): Promise<{ spec: NormalizedSpec; packs: Record<string, string> }> {
  const out: NormalizedSpec = { ...spec }
  const packs: Record<string, string> = {}
  for (const role of ['map', 'reduce', 'combiner', 'partitioner'] as const) {
    const ref = spec[role]
    if (ref) out[role] = { ...ref, module: await shipModule(data, ref.module, cache, packs) } satisfies FnRef
  }
  if (spec.modules) {
    const modules: Record<string, string> = {}
    for (const [name, module] of Object.entries(spec.modules)) modules[name] = await shipModule(data, module, cache, packs)
    out.modules = modules
  }
  return { spec: out, packs }
}

/** The root of this package (so packed code can import `disco-inferno`). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The worker's pack cache directory: $DISCO_PACK_CACHE, else one per installed package under the temp directory. */
export function packCacheDir(): string {
  return process.env.DISCO_PACK_CACHE || join(tmpdir(), `disco-packs-${sha256(PACKAGE_ROOT).slice(0, 12)}`)
}

async function readAll(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of src) parts.push(c)
  return Buffer.concat(parts)
}

/** Writes a pack into the cache once (hash-checked, atomically); returns its directory. */
export async function materializePack(data: BlobStore, id: string, manifestUrl: string, cacheDir = packCacheDir()): Promise<string> {
  const dir = join(cacheDir, id)
  if (existsSync(join(dir, '.complete'))) return dir
  mkdirSync(cacheDir, { recursive: true })
  const link = join(cacheDir, 'node_modules', 'disco-inferno')
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true })
    try { symlinkSync(PACKAGE_ROOT, link, 'dir') } catch { /* another worker made it */ }
  }
  const text = (await readAll(await data.get(manifestUrl))).toString('utf8')
  if (sha256(text).slice(0, 32) !== id) throw new DiscoError('DISCO_FN_NOT_FOUND', `job pack ${id}: the stored manifest does not match its id`)
  const manifest = JSON.parse(text) as PackManifest
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    for (const f of manifest.files) {
      const bytes = await readAll(await data.get(f.url))
      if (sha256(bytes) !== f.sha256) throw new DiscoError('DISCO_FN_NOT_FOUND', `job pack ${id}: file ${f.path} does not match its SHA-256`)
      const target = join(tmp, ...f.path.split('/'))
      if (!target.startsWith(tmp + sep)) throw new DiscoError('DISCO_FN_NOT_FOUND', `job pack ${id}: bad path ${JSON.stringify(f.path)}`)
      mkdirSync(dirname(target), { recursive: true })
      writeFileSync(target, bytes)
    }
    // The pack's own package.json: the source's `type`, or none (Node then detects ESM as it did there).
    writeFileSync(join(tmp, 'package.json'), JSON.stringify(manifest.type ? { type: manifest.type } : {}))
    writeFileSync(join(tmp, '.complete'), '')
    try {
      renameSync(tmp, dir)
    } catch (e) {
      if (!existsSync(join(dir, '.complete'))) throw e // else another worker won the race
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return dir
}

/** A module reference of a task turned into one this worker can import. */
async function localModule(data: BlobStore, module: string, packs: Record<string, string>, cacheDir: string): Promise<string> {
  if (module.startsWith(SELF_SCHEME)) {
    const target = resolve(CODE_ROOT, ...module.slice(SELF_SCHEME.length).split('/'))
    if (!target.startsWith(CODE_ROOT)) throw new DiscoError('DISCO_FN_NOT_FOUND', `bad module reference ${module}`)
    return pathToFileURL(target).href
  }
  if (!module.startsWith(PACK_SCHEME)) return module
  const rest = module.slice(PACK_SCHEME.length)
  const slash = rest.indexOf('/')
  const id = rest.slice(0, slash)
  const url = packs[id]
  if (slash < 0 || !url) throw new DiscoError('DISCO_FN_NOT_FOUND', `expected a job pack for ${module}, found none in the task`)
  const dir = await materializePack(data, id, url, cacheDir)
  return pathToFileURL(join(dir, ...rest.slice(slash + 1).split('/'))).href
}

/** A spec with packed (and `disco-self:`) module references turned into `file:` URLs on this worker. */
export async function unpackSpec(data: BlobStore, spec: NormalizedSpec, packs: Record<string, string>, cacheDir = packCacheDir()): Promise<NormalizedSpec> {
  const out: NormalizedSpec = { ...spec }
  for (const role of ['map', 'reduce', 'combiner', 'partitioner'] as const) {
    const ref = spec[role]
    if (ref) out[role] = { ...ref, module: await localModule(data, ref.module, packs, cacheDir) }
  }
  if (spec.modules) {
    const modules: Record<string, string> = {}
    for (const [name, module] of Object.entries(spec.modules)) modules[name] = await localModule(data, module, packs, cacheDir)
    out.modules = modules
  }
  return out
}
