// In-flight writes, made visible to GC through the tag store. A write (push, chunk, tarball)
// first stores a pending record `+pending:<id>` with a lease, then names every blob it puts
// `<name>$<id>.<n>`, tags them, and removes the record. GC never deletes a blob whose write id
// has a live record; an expired record is the leftover of a crashed or failed write: GC purges it
// (compare-and-set, so a writer that renews its lease at the same moment wins) and only then
// deletes that write's untagged blobs. Everything is plain TagStore calls, so any adapter (a
// directory, a KV bucket) carries it.
import { DiscoError } from '../errors.js'
import { blobFileName, newVersion } from './names.js'
import type { TagRecord, TagStore } from './types.js'

/** Tag-store names starting with this are pending-write records, never tags (`+` is outside the tag grammar). */
export const PENDING_PREFIX = '+pending:'
/** Default lease of a pending write: renewed while the write runs, GC honours it until it ends. */
export const DEFAULT_WRITE_LEASE_MS = 2 * 60_000

/** True for tag-store names that hold store bookkeeping rather than a tag. */
export function isBookkeeping(name: string): boolean {
  return name.startsWith('+')
}

/**
 * The write id a blob URL was written under (`<name>$<id>.<n>`), or undefined for blobs written
 * without a pending record.
 *
 * @example
 * writeIdOf('disco://localhost/ddfs/vol0/blob/3f/a-0$19ab-0-aa.0') // '19ab-0-aa'
 */
export function writeIdOf(url: string): string | undefined {
  const f = blobFileName(url)
  const d = f.lastIndexOf('$')
  if (d < 0) return undefined
  const v = f.slice(d + 1)
  const dot = v.lastIndexOf('.')
  return dot > 0 && /^\d+$/.test(v.slice(dot + 1)) ? v.slice(0, dot) : undefined
}

/**
 * One in-flight write. `begin` stores the record before any blob is put; `blobName` names blobs
 * under it; `renew` extends the lease (and fails with `DDFS_WRITE_EXPIRED` when GC reaped the
 * record after its lease ended, so the writer never tags blobs that may be gone; a timer renews
 * it while the write runs); `finish`
 * removes the record after the tag update; `abandon` marks it expired so GC removes the blobs.
 *
 * @example
 * const w = await PendingWrite.begin(tags, 600_000)
 * const info = await blobs.put(w.blobName('a-0'), bytes)   // a-0$<id>.0
 * await w.renew(); await tag(...); await w.finish()
 */
export class PendingWrite {
  private next = 0
  private queue: Promise<void> = Promise.resolve()
  private failure: unknown
  private timer: NodeJS.Timeout | undefined

  private constructor(
    private readonly tags: TagStore,
    readonly id: string,
    private revision: number,
    private readonly leaseMs: number,
    private readonly record: TagRecord,
  ) {
    // Renew on a timer, so one long blob upload cannot outlive the lease.
    this.timer = setInterval(() => { void this.renew().catch(() => {}) }, Math.max(1, Math.floor(leaseMs / 3)))
    this.timer.unref()
  }

  /** Stores a fresh pending record; resolves once GC can see it. */
  static async begin(tags: TagStore, leaseMs: number = DEFAULT_WRITE_LEASE_MS): Promise<PendingWrite> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = newVersion()
      const now = Date.now()
      const record: TagRecord = { name: PENDING_PREFIX + id, id, mtime: now, urls: [], attrs: {}, expires: now + leaseMs }
      const rev = await tags.write(record.name, record, 0)
      if (rev !== undefined) return new PendingWrite(tags, id, rev, leaseMs, record)
    }
    throw new DiscoError('DDFS_CONFLICT', 'could not store a pending-write record: 5 fresh ids were taken')
  }

  /** The versioned name of this write's next blob: `<base>$<id>.<n>`. */
  blobName(base: string): string {
    return `${base}$${this.id}.${this.next++}`
  }

  /** Extends the lease now (serialised with the timer's renewals); throws `DDFS_WRITE_EXPIRED` once the record is gone or changed. */
  renew(): Promise<void> {
    const step = this.queue.then(async () => {
      if (this.failure !== undefined) throw this.failure
      const now = Date.now()
      const rec: TagRecord = { ...this.record, mtime: now, expires: now + this.leaseMs }
      const rev = await this.tags.write(rec.name, rec, this.revision)
      if (rev === undefined) {
        this.failure = new DiscoError('DDFS_WRITE_EXPIRED', `write ${this.id}: its lease expired and GC may have removed its blobs; nothing was tagged, run it again`)
        throw this.failure
      }
      this.revision = rev
    })
    this.queue = step.catch(() => {})
    return step
  }

  /** Throws when a timer renewal found the lease lost (cheap; call between blobs). */
  check(): void {
    if (this.failure !== undefined) throw this.failure
  }

  private stop(): Promise<void> {
    clearInterval(this.timer)
    return this.queue
  }

  /** Removes the record (the blobs are tagged now). */
  async finish(): Promise<void> {
    await this.stop()
    await this.tags.purge(this.record.name, this.revision).catch(() => false)
  }

  /** Marks the write failed: its lease ends now, so GC removes its untagged blobs after the leftover grace. */
  async abandon(): Promise<void> {
    await this.stop()
    if (this.failure !== undefined) return
    const now = Date.now()
    const rec: TagRecord = { ...this.record, mtime: now, expires: now }
    await this.tags.write(rec.name, rec, this.revision).catch(() => undefined)
  }
}

/** What GC learns from the pending records: writes to protect and failed writes to clean up. */
export interface PendingScan {
  /** Write ids whose blobs GC must keep (live lease, or expired less than the leftover grace ago). */
  protect: Set<string>
  /** Write ids whose record was removed (expired past the grace): their untagged blobs go now. */
  reaped: Set<string>
}

/**
 * Reads every pending record. Records expired at least `leftoverGraceMs` ago are purged
 * (compare-and-set; a renewed record survives) unless `dryRun`, and their ids are returned as
 * reaped; all others are protected.
 */
export async function scanPending(tags: TagStore, leftoverGraceMs: number, dryRun: boolean): Promise<PendingScan> {
  const scan: PendingScan = { protect: new Set(), reaped: new Set() }
  const now = Date.now()
  for (const name of await tags.list(PENDING_PREFIX)) {
    const s = await tags.read(name)
    if (!s) continue
    const expires = typeof s.record.expires === 'number' ? s.record.expires : 0
    const id = name.slice(PENDING_PREFIX.length)
    if (now - expires < leftoverGraceMs) { scan.protect.add(id); continue }
    if (dryRun || (await tags.purge(name, s.revision))) scan.reaped.add(id)
    else scan.protect.add(id)
  }
  return scan
}
