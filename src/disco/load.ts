// Loading user functions by module and (dotted) export name, once per worker.
import { DiscoError } from '../errors.js'
import { importModule } from '../util/modules.js'
import type { FnRef } from './types.js'

const modules = new Map<string, Promise<Record<string, unknown>>>()

/** Imports a module: files through importModule (`.ts`, located syntax errors), package specifiers as they are. */
function importAs(module: string, role: string): Promise<Record<string, unknown>> {
  return module.startsWith('file:') || module.startsWith('/')
    ? importModule(module, `${role} module`)
    : import(module).catch((e: unknown) => {
      throw new DiscoError('MODULE_NOT_FOUND', `cannot load the ${role} module ${module}: ${(e as Error).message}`, { cause: e })
    }) as Promise<Record<string, unknown>>
}

/**
 * Starts importing a module a task will load (a pool thread's `preload`). Node keeps the module
 * (a later import of it joins this one while it loads); a failure is dropped here and reported by
 * the task's own import, with its role and code.
 *
 * @example
 * preloadModule('/abs/rules/clicks.js') // the rule module's import by the first task is then (nearly) done
 */
export function preloadModule(module: string): void {
  importAs(module, 'preloaded').catch(() => {})
}

/**
 * Imports `ref.module` (cached) and returns the function at `ref.export`: MODULE_* codes when the
 * module does not load (see util/modules.ts), DISCO_FN_NOT_FOUND when it has no such function.
 */
export async function loadFn<T>(ref: FnRef, role: string): Promise<T> {
  let mod = modules.get(ref.module)
  if (!mod) {
    mod = importAs(ref.module, role)
    modules.set(ref.module, mod)
  }
  let value: unknown
  try {
    value = await mod
  } catch (e) {
    modules.delete(ref.module)
    throw e
  }
  const path = ref.export ?? 'default'
  for (const part of path.split('.')) {
    value = value !== null && (typeof value === 'object' || typeof value === 'function') ? (value as Record<string, unknown>)[part] : undefined
  }
  if (typeof value !== 'function') {
    throw new DiscoError('DISCO_FN_NOT_FOUND', `expected a ${role} function at export ${path} of ${ref.module}, found ${value === undefined ? 'nothing' : typeof value}`)
  }
  return value as T
}
