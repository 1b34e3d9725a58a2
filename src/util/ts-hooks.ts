// Module hooks (node:module register) that let Node 20 import `.ts` modules (rules, job modules):
// `.ts`/`.mts` files are transpiled by esbuild (types are not checked), and a relative `./x.js`
// import resolves to `./x.ts` when only the TypeScript file exists. A syntax error surfaces as a
// SyntaxError whose message starts with `file:line:column:`.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

type Resolve = (spec: string, ctx: unknown) => Promise<{ url: string }>
type Load = (url: string, ctx: unknown) => Promise<{ format?: string; source?: unknown }>

/** Resolve hook: a relative `.js` import of a missing file falls back to the `.ts` beside it. */
export async function resolve(spec: string, ctx: { parentURL?: string }, next: Resolve): Promise<{ url: string }> {
  if ((spec.startsWith('./') || spec.startsWith('../')) && spec.endsWith('.js') && ctx.parentURL?.startsWith('file:')) {
    const js = new URL(spec, ctx.parentURL)
    if (!existsSync(fileURLToPath(js))) {
      const ts = new URL(spec.replace(/\.js$/, '.ts'), ctx.parentURL)
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, shortCircuit: true } as { url: string }
    }
  }
  return next(spec, ctx)
}

interface EsbuildFailure { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }

/** Load hook: transpiles `.ts`/`.mts` files to ES modules with esbuild. */
export async function load(url: string, ctx: unknown, next: Load): Promise<{ format?: string; source?: unknown }> {
  if (!/\.m?ts$/.test(url) || !url.startsWith('file:')) return next(url, ctx)
  const { transform } = await import('esbuild')
  const file = fileURLToPath(url)
  const source = await readFile(file, 'utf8')
  try {
    const out = await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, sourcemap: 'inline' })
    return { format: 'module', source: out.code, shortCircuit: true } as { format: string; source: string }
  } catch (e) {
    const first = (e as EsbuildFailure).errors?.[0]
    if (!first) throw e
    const at = first.location ? `${file}:${first.location.line}:${first.location.column + 1}` : file
    throw new SyntaxError(`${at}: ${first.text}`)
  }
}
