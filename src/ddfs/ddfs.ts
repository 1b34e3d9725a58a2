// The DDFS facade: validates arguments and implements the original's tag semantics (newest-first
// append, set-update, put, tombstones, links, attributes, tokens, GC) over a TagStore + BlobStore.
import { createReadStream, promises as fsp } from 'node:fs'
import { basename, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { DiscoError } from '../errors.js'
import { backoffDelay } from '../util/backoff.js'
import type { ChunkOptions } from './chunk.js'
import { lineBatches, maybeGunzip, type LineOptions } from './lines.js'
import { LocalBlobStore, LocalTagStore } from './local.js'
import { TAG_LINK, blobFileName, blobName, checkTagName, isLink, normalizeEntries, rawText, safeName, versioned } from './names.js'
import { DEFAULT_WRITE_LEASE_MS, PENDING_PREFIX, PendingWrite, isBookkeeping, scanPending, writeIdOf } from './pending.js'
import type { BlobInfo, BlobSource, BlobStore, GetOptions, ReplicaSet, TagEntry, TagRecord, TagState, TagStore } from './types.js'

/** Default store directory when neither an argument nor `DISCO_STORE` names one. */
export const DEFAULT_STORE_DIR = './.disco'
/** Default grace period before GC deletes an unreferenced blob: 5 days, as in the original. */
export const DEFAULT_BLOB_GRACE_MS = 5 * 24 * 3600_000
/** Default age after which GC forgets a tombstone: 30 days, as in the original. */
export const DEFAULT_TOMBSTONE_GRACE_MS = 30 * 24 * 3600_000
/**
 * Default grace for leftovers: partial uploads, and the untagged blobs of a failed or interrupted
 * write (counted from the end of its lease). 1 hour.
 */
export const DEFAULT_PARTIAL_GRACE_MS = 3600_000

/** Attribute limits of the original. */
export const MAX_ATTRS = 1000
export const MAX_ATTR_NAME = 1024
export const MAX_ATTR_VALUE = 4096

/** A tag as readers see it: the original's JSON object (tokens hidden). */
export interface TagObject {
  version: 1
  /** `<name>$<unique>`, new on every modification. */
  id: string
  /** Local time `YYYY/MM/DD HH:MM:SS`. */
  'last-modified': string
  /** Entries, newest first: replica sets, or `['tag://other']` links. */
  urls: TagEntry[]
  /** Attributes. */
  'user-data': Record<string, string>
}

/** Token option shared by every tag operation (used as both read and write token). */
export interface TokenOption {
  token?: string
}

/** Options of {@link Ddfs.tag}. */
/** A write opened by {@link Ddfs.beginWrite}: blobs put now, tagged together at `commit`. */
export interface DdfsWrite {
  /** The write id: its blobs are named `<name>$<id>.<n>`, GC keeps them while the write is pending. */
  readonly id: string
  /** The tag `commit` updates. */
  readonly tag: string
  /** Stores a blob (named after `name`, made safe) under this write; returns its replica set. */
  put(name: string, data: BlobSource): Promise<ReplicaSet>
  /**
   * Checks the lease and that every blob exists, then adds the blobs put (and `extra` sets stored
   * under this write by {@link Ddfs.putInWrite}) to the tag in one update, or with `replace`
   * makes them the tag's whole content. Returns the sets tagged. On failure the write is aborted.
   */
  commit(opts?: { extra?: ReplicaSet[]; replace?: boolean }): Promise<ReplicaSet[]>
  /** Gives up: deletes the blobs put so far and ends the pending record (no-op once committed). */
  abort(): Promise<void>
}

export interface TagOptions extends TokenOption {
  /**
   * Set semantics: drop entries whose blob name is already in the tag or repeated (default
   * false); `'versioned'` compares the versioned name (`name$version`), so only the very same
   * blob is dropped (Inferno's archive and result appends).
   */
  update?: boolean | 'versioned'
}

/** Options of {@link Ddfs.list}. */
export interface ListOptions {
  /** Called for each tag whose stored version is damaged (`DDFS_CORRUPT_TAG`); the tag is left
   * out and listing goes on. Without it the first damaged tag fails the listing. */
  onCorrupt?: (tag: string, error: DiscoError) => void
}

/** Options of {@link Ddfs.blobs}. */
export interface BlobsOptions extends TokenOption {
  /** Skip missing linked/named tags (default true); false raises `DDFS_TAG_NOT_FOUND`. */
  ignoreMissing?: boolean
}

/** A file for {@link Ddfs.push}: a path, or bytes/stream with a blob name. */
export type PushItem = string | { path: string; name?: string } | { name: string; data: BlobSource }

/** An input for {@link Ddfs.chunk}: a file path (plain or .gz), or a named byte stream. */
export type ChunkInput = string | { name: string; source: AsyncIterable<Uint8Array> }

/** Options of {@link Ddfs.chunk}. */
export interface ChunkTagOptions extends ChunkOptions, TagOptions {}

/** Options of {@link Ddfs.pushTarball}. */
export interface TarPushOptions extends TagOptions {
  /** gzip each member's bytes. */
  gzip?: boolean
  /** Keep only members whose path contains this. */
  include?: string
  /** Drop members whose path contains this. */
  exclude?: string
}

/** Options of {@link Ddfs.gc}. */
export interface GcOptions {
  /** Unreferenced blobs younger than this are kept (default 5 days). */
  graceMs?: number
  /** Tombstones older than this are forgotten (default 30 days). */
  tombstoneGraceMs?: number
  /** Leftovers older than this are removed: partial uploads, and untagged blobs of writes whose
   * lease ended this long ago (default 1 hour). */
  partialGraceMs?: number
  /** Report only. */
  dryRun?: boolean
}

/** What {@link Ddfs.gc} did. */
export interface GcReport {
  blobsDeleted: string[]
  bytesFreed: number
  blobsKept: number
  tombstonesPurged: string[]
  /** Partial files and superseded tag versions removed (or, with `dryRun`, that would be). */
  leftoversRemoved: number
  /** Unreferenced blobs kept because an in-flight write will tag them (or its lease ended less than the leftover grace ago). */
  blobsPending: number
}

/** One node of {@link Ddfs.findTags}: a tag reached through the graph and the path to it. */
export interface FoundTag {
  tag: string
  path: string[]
  missing: boolean
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** The original's `last-modified` format (local time). */
export function formatLastModified(ms: number): string {
  const d = new Date(ms)
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

function toObject(r: TagRecord): TagObject {
  return { version: 1, id: r.id, 'last-modified': formatLastModified(r.mtime), urls: r.urls.map((e) => [...e]), 'user-data': { ...r.attrs } }
}

function notFound(name: string): DiscoError {
  return new DiscoError('DDFS_TAG_NOT_FOUND', `tag ${name} does not exist`)
}

function firstName(e: TagEntry): string {
  return isLink(e) ? e[0]! : blobName(e[0]!)
}

function firstVersionedName(e: TagEntry): string {
  return isLink(e) ? e[0]! : blobFileName(e[0]!)
}

/**
 * DDFS over a tag store and a blob store. Every public method validates its arguments; tag
 * updates are compare-and-set loops, so concurrent writers (threads or processes) never lose an
 * update.
 *
 * @example
 * const ddfs = openStore()                                   // ./.disco, or $DISCO_STORE
 * const [set] = await ddfs.push('data:demo', [{ name: 'a.txt', data: Buffer.from('x\n') }])
 * (await ddfs.blobs('data:demo'))[0][0] === set[0]           // true
 */
export class Ddfs {
  /** The tag backend. */
  readonly tags: TagStore
  /** The blob backend. */
  readonly blobStore: BlobStore
  /** The store directory for the local adapters, else undefined. */
  readonly dir: string | undefined
  /** Lease of a pending write (see pending.ts). */
  private readonly writeLeaseMs: number

  constructor(backends: { tags: TagStore; blobs: BlobStore; dir?: string; writeLeaseMs?: number }) {
    this.tags = backends.tags
    this.blobStore = backends.blobs
    this.dir = backends.dir
    this.writeLeaseMs = backends.writeLeaseMs ?? DEFAULT_WRITE_LEASE_MS
  }

  // ---------------------------------------------------------------- tag reads

  private static live(s: TagState | undefined): TagRecord | undefined {
    return s && s.record.deleted === undefined ? s.record : undefined
  }

  private static checkRead(r: TagRecord, token: string | undefined): void {
    if (r.readToken != null && token !== r.readToken) throw new DiscoError('DDFS_UNAUTHORIZED', `tag ${r.name} needs its read token`)
  }

  private static checkWrite(r: TagRecord, token: string | undefined): void {
    if (r.writeToken != null && token !== r.writeToken) throw new DiscoError('DDFS_UNAUTHORIZED', `tag ${r.name} needs its write token`)
  }

  /** The live record of a tag, token-checked; `undefined` when missing or deleted. */
  private async readLive(tag: string, token: string | undefined): Promise<TagRecord | undefined> {
    const r = Ddfs.live(await this.tags.read(tag))
    if (r) Ddfs.checkRead(r, token)
    return r
  }

  private async mustRead(tag: string, token: string | undefined): Promise<TagRecord> {
    const name = checkTagName(tag)
    const r = await this.readLive(name, token)
    if (!r) throw notFound(name)
    return r
  }

  /**
   * The tag object (the original's JSON shape, tokens hidden).
   * @example (await ddfs.get('data:demo')).urls // [['disco://localhost/ddfs/vol0/blob/…/a_txt$…']]
   */
  async get(tag: string, opts: TokenOption = {}): Promise<TagObject> {
    return toObject(await this.mustRead(tag, opts.token))
  }

  /**
   * True when the tag exists and is not deleted; a tag we may not read still counts as existing.
   * @example await ddfs.exists('nope') // false
   */
  async exists(tag: string, opts: TokenOption = {}): Promise<boolean> {
    const name = checkTagName(tag)
    try {
      return (await this.readLive(name, opts.token)) !== undefined
    } catch (e) {
      if (e instanceof DiscoError && e.code === 'DDFS_UNAUTHORIZED') return true
      throw e
    }
  }

  /**
   * The tag's direct entries, newest first (links not followed).
   * @example await ddfs.urls('t') // [['tag://u'], ['disco://…/b$…']]
   */
  async urls(tag: string, opts: TokenOption = {}): Promise<TagEntry[]> {
    return (await this.mustRead(tag, opts.token)).urls.map((e) => [...e])
  }

  /**
   * Live tag names starting with the raw string `prefix` (not colon-aware), sorted ascending.
   * @example await ddfs.list('incoming:data') // ['incoming:data:2026-11-21', 'incoming:database:x']
   */
  async list(prefix = '', opts: ListOptions = {}): Promise<string[]> {
    if (typeof prefix !== 'string') throw new DiscoError('DDFS_BAD_TAG_NAME', `expected a string prefix, found ${typeof prefix}`)
    if (prefix.startsWith(TAG_LINK)) prefix = prefix.slice(TAG_LINK.length)
    const names = (await this.tags.list(prefix)).filter((n) => !isBookkeeping(n))
    const live: string[] = []
    const one = async (n: string): Promise<void> => {
      try {
        if (Ddfs.live(await this.tags.read(n))) live.push(n)
      } catch (e) {
        // One damaged tag does not hide the others: it is reported and left out.
        if (!(e instanceof DiscoError && e.code === 'DDFS_CORRUPT_TAG') || !opts.onCorrupt) throw e
        opts.onCorrupt(n, e)
      }
    }
    // Tombstones are filtered by reading each tag, 64 at a time (bounded open files).
    for (let i = 0; i < names.length; i += 64) await Promise.all(names.slice(i, i + 64).map(one))
    return live.sort()
  }

  /**
   * Replica sets of every blob reachable from the tags, depth first, newest first, following
   * `tag://` links once each (cycle safe).
   * @example await ddfs.blobs('all') // [['disco://…/b$…'], ['disco://…/a$…']]
   */
  async blobs(tags: string | string[], opts: BlobsOptions = {}): Promise<ReplicaSet[]> {
    const ignoreMissing = opts.ignoreMissing ?? true
    const seen = new Set<string>()
    const out: ReplicaSet[] = []
    const visit = async (tag: string): Promise<void> => {
      const name = checkTagName(tag)
      if (seen.has(name)) return
      seen.add(name)
      const r = await this.readLive(name, opts.token)
      if (!r) {
        if (ignoreMissing) return
        throw notFound(name)
      }
      for (const e of r.urls) {
        if (isLink(e)) await visit(e[0]!)
        else out.push([...e])
      }
    }
    for (const t of Array.isArray(tags) ? tags : [tags]) await visit(t)
    return out
  }

  /**
   * Breadth-first walk of the tag graph from `tags` (cycle safe): every tag reached, with the
   * path of links that reached it and whether it is missing.
   * @example await ddfs.findTags(['all']) // [{ tag: 'all', path: ['all'], missing: false }, …]
   */
  async findTags(tags: string[], opts: TokenOption = {}): Promise<FoundTag[]> {
    const seen = new Set<string>()
    const out: FoundTag[] = []
    let frontier = tags.map((t) => [checkTagName(t)])
    while (frontier.length > 0) {
      const next: string[][] = []
      for (const path of frontier) {
        const tag = path[path.length - 1]!
        if (seen.has(tag)) continue
        seen.add(tag)
        const r = await this.readLive(tag, opts.token)
        out.push({ tag, path, missing: !r })
        for (const e of r?.urls ?? []) if (isLink(e)) next.push([...path, e[0]!.slice(TAG_LINK.length)])
      }
      frontier = next
    }
    return out
  }

  /**
   * All attributes of a tag.
   * @example await ddfs.attrs('t') // { owner: 'ops' }
   */
  async attrs(tag: string, opts: TokenOption = {}): Promise<Record<string, string>> {
    return { ...(await this.mustRead(tag, opts.token)).attrs }
  }

  /**
   * One attribute, or `undefined` when unset.
   * @example await ddfs.getattr('t', 'owner') // 'ops'
   */
  async getattr(tag: string, attr: string, opts: TokenOption = {}): Promise<string | undefined> {
    return (await this.mustRead(tag, opts.token)).attrs[attr]
  }

  // ---------------------------------------------------------------- tag writes

  /**
   * The compare-and-set loop behind every update. `change` gets the live record (undefined when
   * missing/deleted) and returns the new record, or `null` for "no new version".
   */
  private async modify(
    tag: string,
    token: string | undefined,
    change: (cur: TagRecord | undefined) => TagRecord | null,
  ): Promise<TagRecord | undefined> {
    const name = checkTagName(tag)
    const started = Date.now()
    for (let attempt = 0; ; attempt++) {
      const state = await this.tags.read(name)
      const cur = Ddfs.live(state)
      if (cur) Ddfs.checkWrite(cur, token)
      const next = change(cur)
      if (next === null) return cur
      const rev = await this.tags.write(name, next, state?.revision ?? 0)
      if (rev !== undefined) return next
      if (Date.now() - started > 120_000) {
        throw new DiscoError('DDFS_CONFLICT', `tag ${name}: gave up after ${attempt + 1} conflicting concurrent updates in 120 s`)
      }
      await sleep(backoffDelay(attempt + 1, 1, 50, { spread: true, floorMs: 0 }))
    }
  }

  private static fresh(name: string, cur: TagRecord | undefined, token: string | undefined, now: number): TagRecord {
    if (cur) return { ...cur, id: versioned(name, now), mtime: now, urls: [...cur.urls], attrs: { ...cur.attrs } }
    const r: TagRecord = { name, id: versioned(name, now), mtime: now, urls: [], attrs: {} }
    if (token !== undefined) { r.readToken = token; r.writeToken = token }
    return r
  }

  /**
   * Appends entries to a tag, **newest first** (prepended in the given order); creates the tag
   * when missing, even for an empty append; an empty append to an existing tag makes no new
   * version. With `update`, entries whose blob name (before `$`) is already present or repeated
   * are dropped. Creating with a `token` makes it the tag's read and write token.
   * @example await ddfs.tag('t', ['disco://…/b$2']); (await ddfs.urls('t'))[0] // ['disco://…/b$2']
   */
  async tag(tag: string, entries: ReadonlyArray<string | readonly string[]>, opts: TagOptions = {}): Promise<TagObject> {
    const add = normalizeEntries(entries)
    const r = await this.modify(tag, opts.token, (cur) => {
      let items = add
      if (opts.update) {
        const key = opts.update === 'versioned' ? firstVersionedName : firstName
        const have = new Set((cur?.urls ?? []).map(key))
        items = []
        for (const e of add) {
          const n = key(e)
          if (!have.has(n)) { have.add(n); items.push(e) }
        }
      }
      if (cur && items.length === 0) return null
      const next = Ddfs.fresh(cur?.name ?? checkTagName(tag), cur, opts.token, Date.now())
      next.urls = [...items, ...next.urls]
      return next
    })
    return toObject(r!)
  }

  /**
   * Replaces a tag's entries (creates it when missing; an empty list makes an empty tag).
   * @example await ddfs.put('t', []); await ddfs.urls('t') // []
   */
  async put(tag: string, entries: ReadonlyArray<string | readonly string[]>, opts: TokenOption = {}): Promise<TagObject> {
    const urls = normalizeEntries(entries)
    const r = await this.modify(tag, opts.token, (cur) => {
      const next = Ddfs.fresh(cur?.name ?? checkTagName(tag), cur, opts.token, Date.now())
      next.urls = urls
      return next
    })
    return toObject(r!)
  }

  /**
   * Creates an empty tag if it is missing (no new version otherwise).
   * @example await ddfs.touch('t'); await ddfs.exists('t') // true
   */
  async touch(tag: string, opts: TokenOption = {}): Promise<TagObject> {
    return this.tag(tag, [], opts)
  }

  /**
   * Deletes a tag: it vanishes at once (a tombstone hides it) and may be re-created later.
   * Deleting a missing tag is not an error. Blobs stay until GC finds them unreferenced.
   * @example await ddfs.delete('t'); await ddfs.exists('t') // false
   */
  async delete(tag: string, opts: TokenOption = {}): Promise<void> {
    await this.modify(tag, opts.token, (cur) => {
      if (!cur) return null
      const now = Date.now()
      return { name: cur.name, id: versioned(cur.name, now), mtime: now, urls: [], attrs: {}, deleted: now }
    })
  }

  /**
   * Copies `src`'s entries to `dst`, replacing its content.
   * @example await ddfs.cp('a', 'b') // b now lists what a lists
   */
  async cp(src: string, dst: string, opts: TokenOption = {}): Promise<TagObject> {
    return this.put(dst, await this.urls(src, opts), opts)
  }

  /**
   * Sets an attribute. Names in the reserved `ddfs:` namespace are refused, except
   * `ddfs:read-token` / `ddfs:write-token`, which set the tokens.
   * @example await ddfs.setattr('t', 'owner', 'ops')
   */
  async setattr(tag: string, attr: string, value: string, opts: TokenOption = {}): Promise<void> {
    if (typeof attr !== 'string' || attr.length === 0 || Buffer.byteLength(attr) > MAX_ATTR_NAME) {
      throw new DiscoError('DDFS_BAD_ATTR', `expected an attribute name of 1-${MAX_ATTR_NAME} bytes, found ${JSON.stringify(String(attr).slice(0, 80))}`)
    }
    if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_ATTR_VALUE) {
      throw new DiscoError('DDFS_BAD_ATTR', `attribute ${attr}: expected a string value of at most ${MAX_ATTR_VALUE} bytes, found ${typeof value === 'string' ? Buffer.byteLength(value) + ' bytes' : typeof value}`)
    }
    const tokenKind = attr === 'ddfs:read-token' ? 'readToken' : attr === 'ddfs:write-token' ? 'writeToken' : undefined
    if (!tokenKind && attr.startsWith('ddfs:')) {
      throw new DiscoError('DDFS_RESERVED_ATTR', `attribute names starting with "ddfs:" are reserved, found ${attr}`)
    }
    await this.modify(tag, opts.token, (cur) => {
      if (!cur) throw notFound(checkTagName(tag))
      if (!tokenKind && !(attr in cur.attrs) && Object.keys(cur.attrs).length >= MAX_ATTRS) {
        throw new DiscoError('DDFS_BAD_ATTR', `tag ${cur.name} already has the maximum of ${MAX_ATTRS} attributes`)
      }
      const next = Ddfs.fresh(cur.name, cur, opts.token, Date.now())
      if (tokenKind) next[tokenKind] = value
      else next.attrs[attr] = value
      return next
    })
  }

  /**
   * Deletes an attribute (a missing attribute is fine).
   * @example await ddfs.delattr('t', 'owner')
   */
  async delattr(tag: string, attr: string, opts: TokenOption = {}): Promise<void> {
    await this.modify(tag, opts.token, (cur) => {
      if (!cur) throw notFound(checkTagName(tag))
      if (!(attr in cur.attrs)) return null
      const next = Ddfs.fresh(cur.name, cur, opts.token, Date.now())
      delete next.attrs[attr]
      return next
    })
  }

  /**
   * Sets (or with `null`, clears) a tag's read and/or write token (the `chtok` verb).
   * @example await ddfs.setToken('t', 'secret', { read: true, write: true })
   */
  async setToken(tag: string, newToken: string | null, which: { read?: boolean; write?: boolean }, opts: TokenOption = {}): Promise<void> {
    await this.modify(tag, opts.token, (cur) => {
      if (!cur) throw notFound(checkTagName(tag))
      const next = Ddfs.fresh(cur.name, cur, opts.token, Date.now())
      if (which.read) next.readToken = newToken
      if (which.write) next.writeToken = newToken
      return next
    })
  }

  // ---------------------------------------------------------------- blobs

  /**
   * Stores bytes as a new blob named `<safe name>$<unique>` and returns its replica set
   * (untagged: tag it soon, GC removes untagged blobs after the grace period).
   * @example await ddfs.pushBlob('a.txt', Buffer.from('x\n')) // ['disco://localhost/ddfs/vol0/blob/4e/a_txt$19b…']
   */
  async pushBlob(name: string, data: BlobSource): Promise<ReplicaSet> {
    const info = await this.blobStore.put(versioned(safeName(name)), data)
    return [info.url]
  }

  /**
   * Stores files as they are (no compression) and appends them to `tag` in one update.
   * Resolves to the new replica sets in the order given.
   * @example await ddfs.push('raw:logs', ['./a.log.gz']) // [['disco://…/a_log_gz$…']]
   */
  async push(tag: string, items: PushItem[], opts: TagOptions = {}): Promise<ReplicaSet[]> {
    return this.writeAndTag(tag, opts, async (put) => {
      for (const item of items) {
        if (typeof item === 'string' || 'path' in item) {
          const path = typeof item === 'string' ? item : item.path
          const st = await fsp.stat(path)
          if (!st.isFile()) throw new DiscoError('DDFS_NOT_A_FILE', `expected a regular file, found ${path} (a ${st.isDirectory() ? 'directory' : 'special file'})`)
          const name = typeof item === 'string' || item.name === undefined ? basename(path) : item.name
          await put(safeName(name), createReadStream(path, { highWaterMark: 1 << 20 }))
        } else {
          await put(safeName(item.name), item.data)
        }
      }
    })
  }

  /**
   * Opens a write that ends in an update of `tag`, safe against a concurrent GC whatever its grace:
   * a pending record (with a renewed lease, see pending.ts) makes the write's blobs visible to GC
   * before the first one is stored. `put` stores blobs under it, `commit` renews the lease, checks
   * every blob still exists and tags them in one update (so a tag never names a blob that is
   * gone), `abort` deletes what was put. push, chunk and tarballs are writes of this kind; use it
   * wherever blobs are stored first and tagged later (Inferno results, analytics indexes).
   * A token that cannot write the tag fails here, before anything is uploaded.
   *
   * @example
   * const w = await ddfs.beginWrite('results:daily')
   * await w.put('counts', Buffer.from('{"a":1}\n'))
   * await w.commit() // [['disco://localhost/ddfs/vol0/blob/…/counts$<id>.0']]
   */
  async beginWrite(tag: string, opts: TagOptions = {}): Promise<DdfsWrite> {
    const name = checkTagName(tag)
    const cur = Ddfs.live(await this.tags.read(name))
    if (cur) Ddfs.checkWrite(cur, opts.token)
    const w = await PendingWrite.begin(this.tags, this.writeLeaseMs)
    const sets: ReplicaSet[] = []
    let state: 'open' | 'tagging' | 'done' = 'open'
    const closed = (): DiscoError => new DiscoError('DDFS_WRITE_CLOSED', `write ${w.id} to tag ${name} is already committed or aborted`)
    const abort = async (): Promise<void> => {
      if (state === 'done') return
      const tagging = state === 'tagging'
      state = 'done'
      // Blobs of a failed tag update may be listed by now: GC (which checks references) removes them.
      if (!tagging) {
        let clean = true
        for (const s of sets) await this.blobStore.delete(s[0]!).catch(() => { clean = false })
        if (clean) { await w.finish(); return }
      }
      await w.abandon()
    }
    return {
      id: w.id,
      tag: name,
      put: async (base, data) => {
        if (state !== 'open') throw closed()
        w.check()
        const info = await this.blobStore.put(w.blobName(safeName(base)), data)
        sets.push([info.url])
        return [info.url]
      },
      commit: async (copts = {}) => {
        if (state !== 'open') throw closed()
        const all = [...sets, ...(copts.extra ?? [])]
        try {
          await w.renew()
          for (const s of all) await this.mustExist(s[0]!)
          state = 'tagging'
          if (copts.replace) await this.put(name, all, opts)
          else await this.tag(name, all, opts)
        } catch (e) {
          await abort()
          throw e
        }
        state = 'done'
        await w.finish()
        return all
      },
      abort,
    }
  }

  /**
   * Stores a blob under a write opened elsewhere (another process of the same job, given the
   * write's id): the write's lease protects it from GC, and the opener commits its replica set
   * (as `extra`). Fails with `DDFS_WRITE_EXPIRED` when the write is no longer pending.
   * @example const set = await ddfs.putInWrite(writeId, 'index-s3', bytes) // tag it via w.commit({ extra: [set] })
   */
  async putInWrite(id: string, name: string, data: BlobSource): Promise<ReplicaSet> {
    if (typeof id !== 'string' || !/^[A-Za-z0-9-]+$/.test(id)) throw new DiscoError('DDFS_BAD_OPTION', `expected a write id, found ${JSON.stringify(id)}`)
    const s = await this.tags.read(PENDING_PREFIX + id)
    const expires = s && typeof s.record.expires === 'number' ? s.record.expires : 0
    if (expires <= Date.now()) throw new DiscoError('DDFS_WRITE_EXPIRED', `write ${id} is not pending (committed, aborted or its lease expired); nothing was stored`)
    // Unique across processes: a time and random digits (the `.<n>` suffix is numeric).
    const n = `${Date.now()}${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`
    const info = await this.blobStore.put(`${safeName(name)}$${id}.${n}`, data)
    return [info.url]
  }

  /** push, chunk, tarballs: one write through {@link beginWrite}, aborted when `produce` fails. */
  private async writeAndTag(
    tag: string,
    opts: TagOptions,
    produce: (put: (base: string, data: BlobSource) => Promise<ReplicaSet>) => Promise<void>,
  ): Promise<ReplicaSet[]> {
    const w = await this.beginWrite(tag, opts)
    try {
      await produce(w.put)
    } catch (e) {
      await w.abort()
      throw e
    }
    return w.commit()
  }

  /** Throws `DDFS_BLOB_NOT_FOUND` unless the blob can be opened (then closes it unread). */
  private async mustExist(url: string): Promise<void> {
    const src = await this.blobStore.get(url)
    const destroy = (src as { destroy?: unknown }).destroy
    if (typeof destroy === 'function') { destroy.call(src); return }
    // A generator only runs its cleanup once started.
    const it = src[Symbol.asyncIterator]()
    await it.next()
    await it.return?.()
  }

  /**
   * Stores each regular file of a tar archive (plain or gzip-compressed) as its own blob, named
   * after the member path made safe, and appends them to `tag` in one update (`push -x`).
   * `gzip` compresses each member; `include`/`exclude` keep or drop members by substring.
   * @example await ddfs.pushTarball('raw:logs', './day.tar.gz', { include: '.log' }) // [[url], …]
   */
  async pushTarball(tag: string, archive: string | AsyncIterable<Uint8Array>, opts: TarPushOptions = {}): Promise<ReplicaSet[]> {
    checkTagName(tag)
    const label = typeof archive === 'string' ? archive : 'archive'
    return this.writeAndTag(tag, opts, async (put) => {
      // Loaded here: pool workers and `inferno -i` read blobs and never push archives.
      const [{ tarMembers }, { createGzip }] = await Promise.all([import('./tar.js'), import('node:zlib')])
      const source = typeof archive === 'string' ? createReadStream(archive, { highWaterMark: 1 << 20 }) : archive
      for await (const m of tarMembers(maybeGunzip(source, label), label)) {
        if (opts.include !== undefined && !m.name.includes(opts.include)) continue
        if (opts.exclude !== undefined && m.name.includes(opts.exclude)) continue
        const body = opts.gzip ? Readable.from(m.body).pipe(createGzip()) : m.body
        await put(safeName(m.name), body)
      }
    })
  }

  /**
   * Record-aware chunking: splits line inputs (files, .gz files, streams) into gzip blobs of at
   * most `chunkSize` compressed bytes (default 64 MiB), named `<safe input name>-<n>`, never
   * splitting a line, then appends all of them to `tag` in one update.
   * @example await ddfs.chunk('incoming:clicks:2026-11-22', ['./clicks.ndjson']) // [[url0], [url1], …]
   */
  async chunk(tag: string, inputs: ChunkInput[], opts: ChunkTagOptions = {}): Promise<ReplicaSet[]> {
    return this.writeAndTag(tag, opts, async (put) => {
      const { chunkLines } = await import('./chunk.js') // see pushTarball
      for (const input of inputs) {
        const name = safeName(typeof input === 'string' ? basename(input) : input.name)
        const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input.source
        const label = typeof input === 'string' ? input : input.name
        await chunkLines(source, (i, bytes) => put(`${name}-${i}`, bytes), opts, label)
      }
    })
  }

  /**
   * Checks a URL read through the store: the blob store's own URLs (confined to the store by the
   * adapter) and `raw://<text>` pass; anything else (`file://`, absolute paths, other schemes)
   * is `DDFS_BAD_URL`, so a tag cannot point a reader at files outside the store.
   * @example ddfs.checkUrl('file:///etc/passwd') // throws DDFS_BAD_URL
   */
  checkUrl(url: string): string {
    if (typeof url === 'string' && (url.startsWith('raw://') || this.blobStore.owns(url))) return url
    throw new DiscoError('DDFS_BAD_URL', `expected a blob URL of this store or raw://, found ${JSON.stringify(String(url).slice(0, 200))}`)
  }

  /**
   * The raw bytes of a blob, trying each replica in turn. Accepts this store's URLs and
   * `raw://<text>` only (see {@link Ddfs.checkUrl}). `opts` goes to the blob store (GetOptions).
   * @example for await (const b of await ddfs.openBlob(set)) process.stdout.write(b)
   */
  async openBlob(urls: string | readonly string[], opts: GetOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const list = typeof urls === 'string' ? [urls] : urls
    let last: unknown
    for (const url of list) {
      try {
        this.checkUrl(url)
        const raw = rawText(url)
        if (raw !== undefined) return Readable.from([Buffer.from(raw)])
        return await this.blobStore.get(url, opts)
      } catch (e) {
        last = e
      }
    }
    throw last ?? new DiscoError('DDFS_BAD_URL', 'expected at least one replica URL, found an empty list')
  }

  /**
   * The stored size in bytes of a blob (its first replica whose store can tell; compressed bytes
   * for a gzip blob), or undefined when no replica's store knows it. Reads nothing.
   * @example await ddfs.blobSize(set) // 1048576
   */
  async blobSize(urls: string | readonly string[]): Promise<number | undefined> {
    for (const url of typeof urls === 'string' ? [urls] : urls) {
      try {
        this.checkUrl(url)
        const raw = rawText(url)
        if (raw !== undefined) return Buffer.byteLength(raw)
        const n = await this.blobStore.size?.(url)
        if (n !== undefined) return n
      } catch { /* try the next replica */ }
    }
    return undefined
  }

  /**
   * The lines of a blob as strings (newline removed), transparently gunzipped.
   * @example for await (const line of ddfs.readLines(set)) JSON.parse(line)
   */
  async *readLines(urls: string | readonly string[], opts?: LineOptions): AsyncGenerator<string> {
    for await (const batch of this.readLineBatches(urls, opts)) for (let i = 0; i < batch.length; i++) yield batch[i]!
  }

  /**
   * The lines of a blob in batches (one array per decompressed piece): the fast path for bulk
   * readers such as map tasks.
   * @example for await (const lines of ddfs.readLineBatches(set)) n += lines.length
   */
  async *readLineBatches(urls: string | readonly string[], opts?: LineOptions): AsyncGenerator<string[]> {
    const label = typeof urls === 'string' ? urls : urls[0] ?? 'blob'
    yield* lineBatches(await this.openBlob(urls), label, opts)
  }

  // ---------------------------------------------------------------- garbage collection

  private async referenced(): Promise<Set<string>> {
    const refs = new Set<string>()
    for (const name of await this.tags.list('')) {
      if (isBookkeeping(name)) continue
      const r = Ddfs.live(await this.tags.read(name))
      for (const e of r?.urls ?? []) if (!isLink(e)) for (const u of e) refs.add(u)
    }
    return refs
  }

  /**
   * Mark and sweep: deletes blobs that no live tag references and that are older than the grace
   * period, forgets old tombstones, and removes leftovers. Blobs of in-flight writes (push,
   * chunk, tarball: see pending.ts) are never deleted, whatever the grace; the untagged blobs of
   * a write whose lease ended more than `partialGraceMs` ago (a crashed or failed write) are.
   * @example await ddfs.gc({ graceMs: 0 }) // { blobsDeleted: [...], bytesFreed: 123, … }
   */
  async gc(opts: GcOptions = {}): Promise<GcReport> {
    const graceMs = opts.graceMs ?? DEFAULT_BLOB_GRACE_MS
    const tombMs = opts.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS
    const partialMs = opts.partialGraceMs ?? DEFAULT_PARTIAL_GRACE_MS
    const report: GcReport = { blobsDeleted: [], bytesFreed: 0, blobsKept: 0, tombstonesPurged: [], leftoversRemoved: 0, blobsPending: 0 }
    const now = Date.now()
    const refs = await this.referenced()
    const unreferenced: BlobInfo[] = []
    for await (const b of this.blobStore.list()) {
      if (!refs.has(b.url)) unreferenced.push(b)
      else report.blobsKept++
    }
    // Order matters: every blob listed above was put after its write's pending record was stored,
    // and a record is removed only after its tag update. So a write is either still pending here,
    // or its tags are in the second reference snapshot below.
    const pending = await scanPending(this.tags, partialMs, Boolean(opts.dryRun))
    const again = unreferenced.length > 0 ? await this.referenced() : refs
    for (const b of unreferenced) {
      const w = writeIdOf(b.url)
      if (again.has(b.url)) { report.blobsKept++; continue }
      if (w !== undefined && pending.protect.has(w)) { report.blobsKept++; report.blobsPending++; continue }
      if (!(w !== undefined && pending.reaped.has(w)) && now - b.mtime < graceMs) { report.blobsKept++; continue }
      if (!opts.dryRun) await this.blobStore.delete(b.url)
      report.blobsDeleted.push(b.url)
      report.bytesFreed += b.size
    }
    for (const name of await this.tags.list('')) {
      if (isBookkeeping(name)) continue
      const s = await this.tags.read(name)
      if (s?.record.deleted !== undefined && now - s.record.deleted >= tombMs) {
        if (opts.dryRun || (await this.tags.purge(name, s.revision))) report.tombstonesPurged.push(name)
      }
    }
    report.leftoversRemoved += (await this.blobStore.sweep?.(partialMs, opts.dryRun)) ?? 0
    report.leftoversRemoved += (await this.tags.sweep?.(partialMs, opts.dryRun)) ?? 0
    return report
  }
}

/**
 * Opens the embedded store: tags and blobs under one directory — `dir`, else `$DISCO_STORE`,
 * else `./.disco` (created on first write).
 *
 * @example
 * const ddfs = openStore('/tmp/my-store')
 * await ddfs.list() // []
 */
export function openStore(dir?: string): Ddfs {
  const d = resolve(dir ?? process.env.DISCO_STORE ?? DEFAULT_STORE_DIR)
  return new Ddfs({ tags: new LocalTagStore(d), blobs: new LocalBlobStore(d), dir: d })
}
