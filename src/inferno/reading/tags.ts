// Tags and dates (spec inferno.md 2.1, 8): date-suffixed prefixes, prefix expansion, archive
// exclusion by blob name, blob caps, archiving and result tag names — over a small store interface.
import { blobFileName } from '../../ddfs/names.js'
import type { Rule } from '../rules/rule.js'
import { dayMinus, dayText, localDay } from '../rules/rule.js'

/** A blob as a list of replica URLs (the first one names it). */
export type BlobRef = readonly string[]

/**
 * What Inferno needs from a tag store (spec disco-ddfs.md 7.1). The DDFS store is adapted to it in
 * `inferno-store.ts`; tests use an in-memory one.
 */
export interface InfernoTags {
  /** Tag names starting with `prefix` (raw string prefix, Q8). */
  listTags(prefix: string): Promise<string[]>
  /** The blobs of a tag, newest first; `[]` for a missing tag. */
  blobs(tag: string): Promise<BlobRef[]>
  /** Appends blobs to a tag (creating it), skipping blobs whose name it already lists. */
  append(tag: string, blobs: readonly BlobRef[]): Promise<void>
}

/** Date and tag overrides from settings or the command line (sections 8.2, 9). */
export interface TagOverrides {
  /** Used literally, with no date logic (`-t`). */
  readonly sourceTags?: readonly string[] | undefined
  /** `-S`: start day. */
  readonly dayStart?: string | Date | undefined
  /** `-R`: number of days (`0` disables suffixing). */
  readonly dayRange?: number | undefined
  /** `-O`: days before the start. */
  readonly dayOffset?: number | undefined
}

/**
 * The effective tag prefixes of a rule (sections 2.1 step 1 and 8.2): override tags literally, else
 * each rule prefix suffixed by `:<day>` for every day of the range (prefix-major), else bare.
 *
 * @example
 * resolveTagPrefixes(defineRule({ sourceTags: ['t'], dayRange: 2 }), { dayStart: '2012-12-05' })
 * // ['t:2012-12-05']   (-S alone selects one day)
 */
export function resolveTagPrefixes(rule: Rule, o: TagOverrides = {}, today: string = localDay(new Date())): string[] {
  if (o.sourceTags !== undefined && o.sourceTags !== null && o.sourceTags.length > 0) return [...o.sourceTags]
  const { start, count } = dayWindow(rule, o, today)
  if (count <= 0) return [...rule.sourceTags]
  return rule.sourceTags.flatMap((t) => Array.from({ length: count }, (_, i) => `${t}:${dayMinus(start, i)}`))
}

/** The start day and day count of section 8.2's table. */
export function dayWindow(rule: Rule, o: TagOverrides, today: string): { start: string; count: number } {
  const base = rule.dayStart ?? today
  if (o.dayStart !== undefined && o.dayStart !== null) {
    return { start: dayMinus(dayText(o.dayStart, 'day start'), o.dayOffset ?? 0), count: o.dayRange ?? 1 }
  }
  if (o.dayOffset !== undefined && o.dayOffset !== null) return { start: dayMinus(base, o.dayOffset), count: o.dayRange ?? 1 }
  return { start: dayMinus(base, rule.dayOffset), count: o.dayRange ?? rule.dayRange }
}

/**
 * The name of a blob: the last path segment of its first replica URL, version suffix included
 * (section 2.1 step 3), so that archive checks do not depend on replica hosts.
 *
 * @example
 * blobRefName(['disco://h/ddfs/vol0/blob/ab/data_txt-0$533-406a9-e50']) // 'data_txt-0$533-406a9-e50'
 */
export function blobRefName(blob: BlobRef): string {
  return blobFileName(blob[0] ?? '')
}

/**
 * The archive tag of a source tag: its first colon-separated component replaced by the prefix.
 *
 * @example
 * archiveTagName('incoming:data:chunk:2012-12-01') // 'processed:data:chunk:2012-12-01'
 */
export function archiveTagName(tag: string, archivePrefix = 'processed'): string {
  const i = tag.indexOf(':')
  return i < 0 ? archivePrefix : archivePrefix + tag.slice(i)
}

/** Options of blob collection. */
export interface CollectOptions {
  readonly archive?: boolean
  readonly archivePrefix?: string
  readonly newestFirst?: boolean
  readonly maxBlobs?: number | undefined
  /** Called once per tag that lists an empty replica list. */
  readonly warn?: (msg: string) => void
}

/** The result of blob collection: tag → blobs in walk order, and the total. */
export interface TagBlobs {
  readonly tags: Map<string, BlobRef[]>
  readonly count: number
}

/**
 * Expands prefixes and collects blobs (section 2.1 steps 2-4): union of matching tags sorted
 * (descending when newest first), archived blob names skipped, a global `maxBlobs` cap.
 *
 * @example
 * const { tags, count } = await collectBlobs(store, ['incoming:data:chunk'], { archive: true })
 */
export async function collectBlobs(store: InfernoTags, prefixes: readonly string[], opts: CollectOptions = {}): Promise<TagBlobs> {
  const archivePrefix = opts.archivePrefix ?? 'processed'
  const names = new Set<string>()
  for (const p of prefixes) for (const t of await store.listTags(p)) names.add(t)
  const sorted = [...names].sort()
  if (opts.newestFirst ?? true) sorted.reverse()
  const archived = new Set<string>()
  if (opts.archive) {
    for (const t of sorted) {
      if (t.startsWith(archivePrefix)) continue
      for (const b of await store.blobs(archiveTagName(t, archivePrefix))) archived.add(blobRefName(b))
    }
  }
  const tags = new Map<string, BlobRef[]>()
  const max = opts.maxBlobs ?? Infinity
  let count = 0
  for (const t of sorted) {
    // The cap is global; the first tag is always listed (possibly empty, as with maxBlobs = 0).
    if (count >= max && tags.size > 0) break
    const list: BlobRef[] = []
    tags.set(t, list)
    let warned = false
    for (const b of await store.blobs(t)) {
      if (count >= max) return { tags, count }
      if (b.length === 0) {
        if (!warned) opts.warn?.(`tag ${t} lists an empty replica list; skipped`)
        warned = true
        continue
      }
      if (archived.has(blobRefName(b))) continue
      list.push(b)
      count++
    }
  }
  return { tags, count }
}

/**
 * Archives processed blobs (sections 2.8 step 6, 8.3): for every source tag that contributed blobs
 * and does not start with the archive prefix, appends them to its archive tag (blobs the archive tag
 * already lists by name are not added twice). Source tags are not modified. Returns the archive
 * tags written.
 *
 * @example
 * await archiveBlobs(store, tags) // ['processed:data:chunk:2011-11-13', …]
 */
export async function archiveBlobs(store: InfernoTags, tags: ReadonlyMap<string, readonly BlobRef[]>,
  archivePrefix = 'processed'): Promise<string[]> {
  const written: string[] = []
  for (const [tag, blobs] of tags) {
    if (blobs.length === 0 || tag.startsWith(archivePrefix)) continue
    const target = archiveTagName(tag, archivePrefix)
    const have = new Set((await store.blobs(target)).map(blobRefName))
    const fresh = blobs.filter((b) => !have.has(blobRefName(b)))
    if (fresh.length > 0) await store.append(target, fresh)
    written.push(target)
  }
  return written
}

/**
 * The result tag name (section 8.4): `'date'` → today; true → the last segment of the greatest
 * prefix when it looks like a day (10 characters with `-`), else the job name; false → job name.
 *
 * @example
 * resultTagName('result:daily', true, ['t:2012-11-30', 't:2012-12-01'], 'job@1') // 'result:daily:2012-12-01'
 */
export function resultTagName(resultTag: string, suffix: boolean | 'date', prefixes: readonly string[], jobName: string,
  today: string = localDay(new Date())): string {
  if (suffix === 'date') return `${resultTag}:${today}`
  if (suffix && prefixes.length > 0) {
    const greatest = [...prefixes].sort().at(-1)!
    const last = greatest.slice(greatest.lastIndexOf(':') + 1)
    if (last.length === 10 && last.includes('-')) return `${resultTag}:${last}`
  }
  return `${resultTag}:${jobName}`
}
