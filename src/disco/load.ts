// Loading user functions by module and (dotted) export name, once per worker.
import { DiscoError } from '../errors.js'
import { importModule } from '../util/modules.js'
import type { FnRef } from './types.js'

const modules = new Map<string, Promise<Record<string, unknown>>>()

/**
 * Imports `ref.module` (cached) and returns the function at `ref.export`: MODULE_* codes when the
 * module does not load (see util/modules.ts), DISCO_FN_NOT_FOUND when it has no such function.
 */
export async function loadFn<T>(ref: FnRef, role: string): Promise<T> {
  let mod = modules.get(ref.module)
  if (!mod) {
    // Files go through importModule (`.ts`, located syntax errors); package specifiers are imported as they are.
    mod = ref.module.startsWith('file:') || ref.module.startsWith('/')
      ? importModule(ref.module, `${role} module`)
      : import(ref.module).catch((e: unknown) => {
        throw new DiscoError('MODULE_NOT_FOUND', `cannot load the ${role} module ${ref.module}: ${(e as Error).message}`, { cause: e })
      }) as Promise<Record<string, unknown>>
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
