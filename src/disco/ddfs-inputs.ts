// The bridge to DDFS: where a store lives, reading tags and blobs as task inputs, and saving
// results under a tag. Filled in once DDFS lands.
import { DiscoError } from '../errors.js'
import type { InputStore } from './inputs.js'
import { setInputStoreFactory } from './task.js'

/** A store: its directory (e.g. `./.disco`) or an opened store object with a `dir`. */
export type StoreRef = string | { readonly dir: string }

export function storeDirOf(store: StoreRef): string {
  if (typeof store === 'string' && store !== '') return store
  if (store && typeof store === 'object' && typeof store.dir === 'string') return store.dir
  throw new DiscoError('DISCO_BAD_SPEC', `expected a store directory or an opened store, found ${JSON.stringify(store)}`)
}

/** The DDFS view of a store used to expand tags and read blobs, if DDFS is available. */
export function ddfsInputStore(_store: StoreRef): InputStore | undefined {
  return undefined
}

/** Makes tasks in this thread read DDFS blobs from the store directory of their job. */
export function useDdfsInputs(): void {
  setInputStoreFactory(() => undefined)
}

/** Puts result files as blobs and appends them to `tag`; returns the tag. */
export async function saveResults(_store: StoreRef, tag: string, _files: string[], _job: string): Promise<string> {
  throw new DiscoError('DISCO_SAVE_UNAVAILABLE', `cannot save results under ${tag}: no DDFS store available`)
}
