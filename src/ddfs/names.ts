// Tag and blob naming rules of DDFS: the `[A-Za-z0-9_\-@:]` grammar, versioned blob names, links.
import { createHash, randomBytes } from 'node:crypto'
import { DiscoError } from '../errors.js'

const TAG_RE = /^[A-Za-z0-9_\-@:]+$/
/** The longest tag name the original accepts. */
export const MAX_TAG_NAME = 511
/** Prefix of a tag link entry. */
export const TAG_LINK = 'tag://'

/**
 * Validates a tag name (also accepts the `tag://name` form) and returns the bare name.
 *
 * @example
 * checkTagName('tag://data:log') // 'data:log'
 * checkTagName('a b')            // throws DDFS_BAD_TAG_NAME
 */
export function checkTagName(tag: string): string {
  const name = typeof tag === 'string' && tag.startsWith(TAG_LINK) ? tag.slice(TAG_LINK.length) : tag
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TAG_NAME || !TAG_RE.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.length > 80 ? name.slice(0, 80) + '…' : name) : typeof name
    throw new DiscoError(
      'DDFS_BAD_TAG_NAME',
      `expected a tag name of 1-${MAX_TAG_NAME} characters from [A-Za-z0-9_-@:], found ${shown}` +
        (typeof name === 'string' && name.length > MAX_TAG_NAME ? ` (${name.length} characters)` : ''),
    )
  }
  return name
}

/** Longest blob base name kept as it is (a file name stops at 255 bytes; versions add ~40). */
export const MAX_BLOB_BASE = 160

/**
 * Makes a string safe as a blob name: characters outside `[A-Za-z0-9_\-@:]` become `_`, and a
 * name longer than {@link MAX_BLOB_BASE} keeps its head plus a hash of the whole (still unique,
 * never `ENAMETOOLONG`).
 *
 * @example
 * safeName('data.txt')       // 'data_txt'
 * safeName('x'.repeat(300))  // 'xxx…x-3f9a…' (160 characters)
 */
export function safeName(s: string): string {
  const out = s.replace(/[^A-Za-z0-9_\-@:]/g, '_')
  if (out.length > MAX_BLOB_BASE) return `${out.slice(0, MAX_BLOB_BASE - 17)}-${createHash('sha256').update(s).digest('hex').slice(0, 16)}`
  return out.length > 0 ? out : '_'
}

let lastStamp = 0
let counter = 0
/**
 * A fresh version suffix: hex milliseconds, a per-process counter and random bits, so two pushes
 * of the same name (even from two processes in the same millisecond) never collide.
 *
 * @example
 * newVersion() // '19ab3c5d2e1-0-7f3a9c'
 */
export function newVersion(now: number = Date.now()): string {
  if (now === lastStamp) counter++
  else { lastStamp = now; counter = 0 }
  return `${now.toString(16)}-${counter.toString(16)}-${randomBytes(3).toString('hex')}`
}

/** `<name>$<version>` for a new blob or tag id. */
export function versioned(name: string, now?: number): string {
  return `${name}$${newVersion(now)}`
}

/**
 * The last path segment of a URL, version included: what Inferno's archive check compares.
 *
 * @example
 * blobFileName('disco://localhost/ddfs/vol0/blob/3f/data_txt-0$19ab-0-aa') // 'data_txt-0$19ab-0-aa'
 */
export function blobFileName(url: string): string {
  let u = url
  const q = u.search(/[?#]/)
  if (q >= 0) u = u.slice(0, q)
  while (u.endsWith('/')) u = u.slice(0, -1)
  const seg = u.slice(u.lastIndexOf('/') + 1)
  try { return decodeURIComponent(seg) } catch { return seg }
}

/**
 * A blob's name without its version suffix: what set-update (`update: true`) deduplicates on.
 *
 * @example
 * blobName('disco://localhost/ddfs/vol0/blob/3f/data_txt-0$19ab-0-aa') // 'data_txt-0'
 */
export function blobName(url: string): string {
  const f = blobFileName(url)
  const d = f.indexOf('$')
  return d >= 0 ? f.slice(0, d) : f
}

/** True when an entry is a `tag://` link. */
export function isLink(entry: readonly string[]): boolean {
  return entry.length === 1 && entry[0]!.startsWith(TAG_LINK)
}

/**
 * Normalises user-given entries: a string is a one-replica set, unless it holds whitespace
 * (then it is a replica set, as on the `ddfs` command line) or is a `tag://` link (validated).
 *
 * @example
 * normalizeEntries(['tag://b', 'file:///x a', ['u1', 'u2']]) // [['tag://b'], ['file:///x', 'a'], ['u1', 'u2']]
 */
export function normalizeEntries(entries: ReadonlyArray<string | readonly string[]>): string[][] {
  if (!Array.isArray(entries)) throw new DiscoError('DDFS_BAD_ENTRY', `expected a list of URLs or replica sets, found ${typeof entries}`)
  return entries.map((e, i) => {
    const set = typeof e === 'string' ? e.trim().split(/\s+/).filter(Boolean) : Array.isArray(e) ? [...e] : null
    if (!set || set.length === 0 || set.some((u) => typeof u !== 'string' || u.length === 0 || /\s/.test(u))) {
      throw new DiscoError('DDFS_BAD_ENTRY', `entry ${i}: expected a URL, a tag:// link or a list of replica URLs, found ${JSON.stringify(e)}`)
    }
    if (set.some((u) => u.startsWith(TAG_LINK))) {
      if (set.length !== 1) throw new DiscoError('DDFS_BAD_ENTRY', `entry ${i}: a tag:// link must stand alone, found ${JSON.stringify(e)}`)
      return [TAG_LINK + checkTagName(set[0]!)]
    }
    return set
  })
}

/**
 * The text of a `raw://TEXT` URL, percent-decoded (the one decoder: DDFS reads, Disco inputs and
 * Inferno sources all use it), or undefined for other URLs. A malformed escape is DDFS_BAD_URL.
 *
 * @example
 * rawText('raw://a%20b') // 'a b'
 */
export function rawText(url: string): string | undefined {
  if (!url.startsWith('raw://')) return undefined
  try {
    return decodeURIComponent(url.slice('raw://'.length))
  } catch {
    throw new DiscoError('DDFS_BAD_URL', `expected a raw:// URL with valid percent escapes, found ${JSON.stringify(url.slice(0, 80))}`)
  }
}
