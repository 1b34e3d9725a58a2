// The bridge to DDFS: where a store lives, reading tags and blobs as task inputs, and saving
// results under a tag.
import { basename, resolve } from 'node:path'
import { DiscoError } from '../errors.js'
import { Ddfs, openStore, maybeGunzip } from '../ddfs/index.js'
import type { InputStore } from './inputs.js'
import { setInputStoreFactory } from './task.js'

/** A store: its directory (e.g. `./.disco`) or an opened DDFS store with a directory. */
export type StoreRef = string | Ddfs

/** The directory job state lives in. */
export function storeDirOf(store: StoreRef): string {
  if (typeof store === 'string' && store !== '') return resolve(store)
  if (store instanceof Ddfs && typeof store.dir === 'string') return store.dir
  throw new DiscoError('DISCO_BAD_SPEC', 'expected a store directory or a DDFS store opened on a directory')
}

const opened = new Map<string, Ddfs>()

/** The DDFS store of a store reference (opened once per directory and thread). */
export function ddfsOf(store: StoreRef): Ddfs {
  if (store instanceof Ddfs) return store
  const dir = storeDirOf(store)
  let d = opened.get(dir)
  if (!d) {
    d = openStore(dir)
    opened.set(dir, d)
  }
  return d
}

/** The DDFS view Disco reads inputs through: tags expand to their blobs' first replica. */
export function ddfsInputStore(store: StoreRef): InputStore {
  const ddfs = ddfsOf(store)
  return {
    // URLs from a tag resolve through the store only: a tag naming file:// or a path is refused.
    tagBlobs: async (tag) => (await ddfs.blobs(tag, { ignoreMissing: false })).map((set) => set[0]!).filter((u) => u !== undefined).map((u) => ddfs.checkUrl(u)),
    ownsUrl: (url) => ddfs.blobStore.owns(url),
    readBlob: (url) => gunzipped(ddfs, url),
  }
}

async function* gunzipped(ddfs: Ddfs, url: string): AsyncGenerator<Uint8Array> {
  yield* maybeGunzip(await ddfs.blobStore.get(url), url)
}

/** Makes tasks in this thread read DDFS blobs from the store directory of their job. */
export function useDdfsInputs(): void {
  setInputStoreFactory((dir) => ddfsInputStore(dir))
}

/** Puts result files as blobs (named `<job>-<partition>.ndjson`) and appends them to `tag`; returns the tag. */
export async function saveResults(store: StoreRef, tag: string, files: string[], job: string): Promise<string> {
  await ddfsOf(store).push(tag, files.map((path) => ({ path, name: `${job}-${basename(path)}` })))
  return tag
}
