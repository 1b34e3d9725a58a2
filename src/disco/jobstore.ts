// The job store: everything the Disco engine keeps about jobs (records, event logs, kill
// requests), worker heartbeats and leases, behind one small backend interface. A backend is a
// key/value store with revisions (compare-and-set), prefix listing and watching, plus append-only
// logs. `JobRegistry` (registry.ts) implements the semantics once on top of it, so an adapter only
// stores and notifies.
//
// How a NATS JetStream adapter maps each method (spec/ecosystem.md part B; nats-server ≥ 2.9):
//
// * Keys are `.`-separated tokens of `[A-Za-z0-9_=-]` — already valid NATS KV keys, so a key maps
//   to itself in one KV bucket (e.g. `disco-jobs`). The registry encodes every other character.
// * get(key)               = kv.get(key); revision = the entry's sequence (`entry.revision`);
//                            a DEL/PURGE marker (entry.operation ≠ PUT) reads as undefined.
// * put(key, v, 0)         = kv.create(key, v)          ("wrong last sequence" → undefined)
//   put(key, v, rev)       = kv.update(key, v, rev)     ("wrong last sequence" → undefined)
//   put(key, v)            = kv.put(key, v)
//   put(key, null, rev?)   = kv.delete(key, { previousSeq: rev }) (a delete marker; keeps the
//                            revision chain, so a later create with expected 0 succeeds)
// * keys(prefix)           = kv.keys(`${prefix}.>`) (or `>` for the empty prefix)
// * watch(prefix, signal)  = kv.watch({ key: `${prefix}.>` }): it delivers the current value of
//                            every key first, then each change; stop it on abort.
// * append(log, data)      = js.publish(`<stream subject prefix>.${log}`, data) on a stream with
//                            subjects `<prefix>.>` (e.g. stream `DISCO_EVENTS`, `events.>`).
// * read(log, after, f)    = an ordered consumer with filter subject `<prefix>.${log}` and
//                            deliver policy by_start_sequence `after + 1`; the entry's `seq` is
//                            the stream sequence. Without `follow` it stops at the consumer's
//                            pending count 0; with `follow` it keeps delivering until aborted.
// * purge(prefix)          = kv.purge of every key of kv.keys(`${prefix}.>`), then
//                            jsm.streams.purge(stream, { filter: `<prefix>.${prefix}.>` }).
//
// Expiry (worker heartbeats, leases) is decided by the registry from the `expires` time written in
// the value, against its clock, so a backend needs no per-key TTL. A NATS adapter may still keep
// the `hb.` and `lease.` keys in a bucket with `max_age` (or per-message TTL on nats-server ≥ 2.11)
// so that the keys of dead workers disappear by themselves; the registry never depends on it.

/** One stored value with its compare-and-set handle. */
export interface KvEntry {
  /** Store revision, > 0; grows with every change of the key (not necessarily by 1). */
  revision: number
  /** The stored text (UTF-8; the registry stores JSON). */
  value: string
}

/** A change seen by {@link JobStore.watch}: the key's new value, or `value: undefined` when deleted. */
export interface KvChange {
  key: string
  /** The revision of the change (0 when the key was purged and the store keeps none). */
  revision: number
  value: string | undefined
}

/** One entry of an append-only log. */
export interface LogEntry {
  /** Position in the log, > 0 and increasing; pass the last one seen as `after` to continue. */
  seq: number
  data: string
}

/**
 * The job store backend: a key/value store with compare-and-set, prefix listing and watching, and
 * append-only logs. Keys and log names are `.`-separated tokens of `[A-Za-z0-9_=-]` (at most 200
 * characters each, 1000 in all); adapters may rely on that grammar. The registry
 * (`JobRegistry`) is the public face: it validates, encodes and implements jobs, kill requests,
 * heartbeats and leases on these seven methods. Every adapter passes the exported compliance
 * suite (`runJobStoreCompliance` in compliance.ts).
 *
 * @example
 * const r = await store.put('job.x.info', '{}', 0)   // the new revision, e.g. 1
 * await store.put('job.x.info', '{}', 0)             // undefined: the key exists
 * await store.put('job.x.info', '{"a":1}', r!)       // a greater revision
 */
export interface JobStore {
  /** The current value of a key, or undefined when it was never written or is deleted. */
  get(key: string): Promise<KvEntry | undefined>
  /**
   * Writes `value` (or deletes the key, `value === null`) iff the key's revision is `expected`:
   * 0 means "absent or deleted"; `undefined` writes unconditionally. Resolves to the new
   * revision, or `undefined` when the key's revision is a different one (another writer won).
   */
  put(key: string, value: string | null, expected?: number): Promise<number | undefined>
  /** The live keys strictly under `prefix` (`prefix.…`; every key for ''), in any order. */
  keys(prefix: string): Promise<string[]>
  /**
   * The live keys strictly under `prefix` with their current values, then every later change
   * under it (deletes and purges with `value: undefined`), until `signal` aborts. A change may be
   * delivered once more after the current value was delivered, and intermediate revisions of a
   * key that changes quickly may be skipped; the last revision of every key is always delivered.
   */
  watch(prefix: string, signal: AbortSignal): AsyncIterable<KvChange>
  /** Appends one entry to a log (created on first use). */
  append(log: string, data: string): Promise<void>
  /**
   * The entries of a log after position `after` (0: from the start), in append order. Without
   * `follow` it ends at the current end of the log; with it, it waits for new entries until
   * `follow` aborts (then it ends without an error).
   */
  read(log: string, after: number, follow?: AbortSignal): AsyncIterable<LogEntry>
  /** Removes every key strictly under `prefix` and every log strictly under it (no history kept). */
  purge(prefix: string): Promise<void>
}
