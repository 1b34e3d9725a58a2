// One way to import user code (rule modules, job modules) by path: `.ts` works on Node 20 through
// esbuild, and every failure is a coded DiscoError naming the file, line and column.
import { existsSync } from 'node:fs'
import { register } from 'node:module'
import { resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DiscoError } from '../errors.js'

let tsHooks = false

/** Lets `import()` load `.ts`/`.mts` modules in this thread (esbuild transpiles them). Idempotent. */
export function enableTsModules(): void {
  if (tsHooks) return
  tsHooks = true
  register(new URL('./ts-hooks.js', import.meta.url))
}

const TS = /\.m?ts$/

/** This package's own code (dist/), whose frames are not the user's. */
const OWN = new URL('../', import.meta.url).href

/** `file:line:column` of the first frame of a stack that lies in user code, if any. */
function userFrame(e: Error): string | undefined {
  for (const line of (e.stack ?? '').split('\n').slice(1)) {
    const m = /\(?(file:\/\/[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(line)
    if (m && !m[1]!.startsWith(OWN) && !m[1]!.includes('/node_modules/')) return `${fileURLToPath(m[1]!)}:${m[2]}:${m[3]}`
  }
  return undefined
}

interface Located { text: string; location?: { file: string; line: number; column: number } | null }

/** Finds where a syntax error is: esbuild parses the module and the local files it imports. */
async function locateSyntaxError(file: string): Promise<string | undefined> {
  try {
    const { build } = await import('esbuild')
    await build({
      entryPoints: [file], bundle: true, write: false, platform: 'node', format: 'esm',
      packages: 'external', logLevel: 'silent', target: 'esnext',
    })
    return undefined
  } catch (e) {
    const first = (e as { errors?: Located[] }).errors?.[0]
    if (!first?.location) return undefined
    return `${resolvePath(first.location.file)}:${first.location.line}:${first.location.column + 1}: ${first.text}`
  }
}

/**
 * Imports a module by path or `file:` URL (cached by Node), with `.ts` support. Failures:
 * `MODULE_NOT_FOUND` (the file, or a module it imports, is missing), `MODULE_SYNTAX` (with
 * `file:line:column`), `MODULE_LOAD_FAILED` (the module threw while loading; the line where).
 * `what` names the module's role in messages.
 *
 * @example
 * await importModule('rules/names.ts', 'rule module') // the module namespace
 * // a typo → MODULE_SYNTAX '/abs/rules/names.ts:3:9: Expected "}" but found "x" (syntax error in the rule module …)' 
 */
export async function importModule(pathOrUrl: string, what = 'module'): Promise<Record<string, unknown>> {
  const isUrl = pathOrUrl.startsWith('file:')
  const file = isUrl ? fileURLToPath(pathOrUrl) : resolvePath(pathOrUrl)
  if (!existsSync(file)) throw new DiscoError('MODULE_NOT_FOUND', `expected the ${what} ${file}, found no such file`)
  if (TS.test(file)) enableTsModules()
  try {
    return (await import(isUrl ? pathOrUrl : pathToFileURL(file).href)) as Record<string, unknown>
  } catch (e) {
    const err = e as Error & { code?: string }
    if (e instanceof DiscoError || err?.name === 'DiscoError') {
      // A coded mistake while the module ran (e.g. defineRule rejecting a keyword): keep the code, add where.
      const at = userFrame(err)
      throw new DiscoError(err.code ?? 'MODULE_LOAD_FAILED', at ? `${at}: ${err.message}` : err.message, { cause: e })
    }
    if (err instanceof SyntaxError || err?.name === 'SyntaxError') {
      const at = /^\/.*:\d+:\d+: /.test(err.message) ? err.message : await locateSyntaxError(file)
      throw new DiscoError('MODULE_SYNTAX', `${at ?? `${file}: ${err.message}`} (syntax error in the ${what} ${file})`, { cause: e })
    }
    if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
      throw new DiscoError('MODULE_NOT_FOUND', `${what} ${file} imports a module that cannot be found: ${err.message}`, { cause: e })
    }
    const at = err instanceof Error ? userFrame(err) : undefined
    throw new DiscoError('MODULE_LOAD_FAILED', `${at ?? file}: ${err instanceof Error ? err.message : String(e)} (thrown while loading the ${what} ${file})`, { cause: e })
  }
}
