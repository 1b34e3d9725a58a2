// Module hooks (node:module register) that let Node 20 import `.ts` rule modules: `.ts` files are
// transpiled with the `typescript` package (types are not checked), and `./x.js` resolves to
// `./x.ts` when only the TypeScript file exists.
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

/** Load hook: transpiles `.ts`/`.mts` files to ES modules. */
export async function load(url: string, ctx: unknown, next: Load): Promise<{ format?: string; source?: unknown }> {
  if (!/\.m?ts$/.test(url) || !url.startsWith('file:')) return next(url, ctx)
  let ts: typeof import('typescript')
  try {
    ts = (await import('typescript')).default
  } catch {
    throw new Error(`INFERNO_RULE_LOAD: ${fileURLToPath(url)} is TypeScript; install the typescript package or compile the rule to .js`)
  }
  const source = await readFile(fileURLToPath(url), 'utf8')
  const out = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
  })
  return { format: 'module', source: out.outputText, shortCircuit: true } as { format: string; source: string }
}
