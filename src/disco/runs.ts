// Sorted runs of binary records (the format lives in records.ts): a Sorter buffers records of
// one task in one byte arena, with the partition of each, sorts them by (partition, key bytes)
// within a memory budget and spills sorted runs; a k-way merge (loser tree) streams runs back in key
// order, folding equal keys when the job has a combiner. Result files stay NDJSON lines
// (AtomicWriter), written from the binary records by an NdjsonSink.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DiscoError } from '../errors.js'
import { ByteSink, ByteSource, RECORDS_MAGIC, compareKeyBytes, encodePair } from './records.js'

/** Runs merged in one pass at most; more are merged in rounds. */
export const MERGE_FAN_IN = 64
const READ_CHUNK = 1 << 18
const WRITE_CHUNK = 1 << 20

/** Where binary records go: one record body `buf[start, end)` (key header, key, value) at a time. */
export interface RecordSink {
  raw(buf: Buffer, start: number, end: number): void
}

/**
 * A path, or a function that gives it when it is first needed (a task's spill directory is made
 * only when something is written there: most tasks never write a local file).
 */
export type LazyPath = string | (() => string)

/** Resolves a {@link LazyPath} once and keeps it. */
class PathOf {
  private value: string | undefined
  constructor(private readonly where: LazyPath) {}
  get(): string {
    return (this.value ??= typeof this.where === 'string' ? this.where : this.where())
  }
}

/**
 * A file written as `<path>.<random>.partial` and renamed to `path` on commit (atomic output);
 * subclasses buffer and `flush` their bytes. The file is created on the first flush.
 */
abstract class PartialFile {
  protected fd = -1
  private tmp = ''
  private readonly at: PathOf

  constructor(path: LazyPath) {
    this.at = new PathOf(path)
  }

  /** The final path (resolved: a lazy path's directory is made). */
  get path(): string {
    return this.at.get()
  }

  /** The open partial file, created on first use (never again once committed or aborted). */
  protected file(): number {
    if (this.fd === -2) throw new Error(`${this.tmp || this.path}: written to after its commit or abort`)
    if (this.fd < 0) {
      const path = this.path
      mkdirSync(dirname(path), { recursive: true })
      this.tmp = `${path}.${randomBytes(4).toString('hex')}.partial`
      this.fd = openSync(this.tmp, 'w')
    }
    return this.fd
  }

  /** True once bytes went to the file. */
  get onDisk(): boolean {
    return this.fd >= 0
  }

  protected abstract flush(): void

  /** Flushes, closes and renames into place. */
  commit(): void {
    this.file()
    this.flush()
    closeSync(this.fd)
    this.fd = -2
    renameSync(this.tmp, this.path)
  }

  /** Closes and removes the partial file. */
  abort(): void {
    if (this.fd >= 0) {
      try { closeSync(this.fd) } catch { /* already closed */ }
      this.fd = -2
    }
    if (this.tmp !== '') rmSync(this.tmp, { force: true })
  }
}

/**
 * Writes lines to `<path>.<random>.partial` and renames it to `path` on commit (atomic output).
 * Lines stay in memory until they pass `limit` bytes: `commitBytes` then gives them without a file.
 */
export class AtomicWriter extends PartialFile {
  private pending: string[] = []
  private pendingLen = 0
  lines = 0

  constructor(path: LazyPath, private readonly limit = WRITE_CHUNK) {
    super(path)
  }

  write(line: string): void {
    this.pending.push(line)
    this.pendingLen += line.length + 1
    this.lines++
    if (this.pendingLen >= this.limit) this.flush()
  }

  /** Ends the output: its bytes when they stayed in memory (no file made), else undefined (the file is at `path`). */
  commitBytes(): Buffer | undefined {
    if (this.onDisk) {
      this.commit()
      return undefined
    }
    const b = Buffer.from(this.text(), 'utf8')
    this.pending = []
    this.pendingLen = 0
    return b
  }

  /**
   * The lines written while they are all still in memory (then forgets them: the writer is
   * spent), else undefined.
   */
  takeLines(): string[] | undefined {
    if (this.onDisk) return undefined
    const lines = this.pending
    this.pending = []
    this.pendingLen = 0
    return lines
  }

  private text(): string {
    if (this.pending.length === 0) return ''
    this.pending.push('')
    const t = this.pending.join('\n')
    this.pending.pop()
    return t
  }

  protected flush(): void {
    if (this.pending.length === 0) return
    writeSync(this.file(), this.text())
    this.pending = []
    this.pendingLen = 0
  }
}

/** Writes binary records as NDJSON `[key, value]` lines (result files). */
export class NdjsonSink implements RecordSink {
  private readonly src = new ByteSource(Buffer.alloc(0))
  constructor(readonly out: AtomicWriter) {}

  raw(buf: Buffer, start: number, end: number): void {
    const s = this.src
    s.buf = buf
    s.pos = start
    s.end = end
    const key = s.text()
    this.out.write(encodePair(key, s.value()))
  }
}

/**
 * Writes binary records to `<path>.<random>.partial` (MAGIC first) and renames it to `path` on
 * commit. `records` counts what was written.
 */
export class RecordWriter extends PartialFile implements RecordSink {
  private readonly sink = new ByteSink(WRITE_CHUNK + 4096)
  private readonly scratch = new ByteSink(256)
  records = 0

  constructor(path: string) {
    super(path)
    this.sink.buf.set(RECORDS_MAGIC, 0)
    this.sink.pos = RECORDS_MAGIC.length
  }

  /** Appends one record body. */
  raw(buf: Buffer, start: number, end: number): void {
    const n = end - start
    const s = this.sink
    s.varint(n)
    if (s.pos + n > WRITE_CHUNK) {
      this.flush()
      if (n > WRITE_CHUNK) {
        writeSync(this.file(), buf, start, n)
        this.records++
        return
      }
    }
    s.bytes(buf, start, end)
    this.records++
  }

  /** Appends one (key, value) pair. */
  pair(key: string, value: unknown): void {
    const t = this.scratch
    t.pos = 0
    t.text(key)
    t.value(value)
    this.raw(t.buf, 0, t.pos)
  }

  protected flush(): void {
    if (this.sink.pos > 0) writeSync(this.file(), this.sink.buf, 0, this.sink.pos)
    this.sink.pos = 0
  }
}

/**
 * Binary records (MAGIC first) held in memory, written to `<path>.<random>.partial` (renamed to
 * `path` on commit) only once they pass `limit` bytes: a map task's outputs are mostly small (a
 * combined partition) and are stored from memory, without a local file each.
 */
export class RecordBuffer implements RecordSink {
  private readonly sink = new ByteSink(1 << 12)
  private fd = -1
  private tmp = ''
  private readonly at: PathOf
  records = 0

  constructor(path: LazyPath, private readonly limit = WRITE_CHUNK) {
    this.at = new PathOf(path)
    this.sink.buf.set(RECORDS_MAGIC, 0)
    this.sink.pos = RECORDS_MAGIC.length
  }

  /** The file's path (resolved: a lazy path's directory is made). */
  get path(): string {
    return this.at.get()
  }

  /** Appends one record body. */
  raw(buf: Buffer, start: number, end: number): void {
    const n = end - start
    const s = this.sink
    s.varint(n)
    s.bytes(buf, start, end)
    this.records++
    if (s.pos >= this.limit) this.flush()
  }

  private flush(): void {
    if (this.fd < 0) {
      const path = this.path
      mkdirSync(dirname(path), { recursive: true })
      this.tmp = `${path}.${randomBytes(4).toString('hex')}.partial`
      this.fd = openSync(this.tmp, 'w')
    }
    writeSync(this.fd, this.sink.buf, 0, this.sink.pos)
    this.sink.pos = 0
  }

  /** Ends the output: its bytes when they stayed in memory, else undefined (the file is at `path`). */
  commit(): Buffer | undefined {
    if (this.fd < 0) return this.sink.buf.subarray(0, this.sink.pos)
    this.flush()
    closeSync(this.fd)
    renameSync(this.tmp, this.path)
    return undefined
  }
}

/**
 * Reads the records of a binary file with synchronous reads (worker threads may block). After
 * `next()` returns true, the record's body is `buf[start, end)` and its key `buf[keyStart, keyEnd)`,
 * valid until the next call.
 */
export class RecordReader {
  private fd: number
  buf: Buffer
  /** Bytes in `buf`, and where the next record starts. */
  private have = 0
  private pos = 0
  private eof = false
  private readonly src: ByteSource
  start = 0
  end = 0
  keyStart = 0
  keyEnd = 0
  /**
   * The key's first 6 bytes as a number (big-endian, zeros past the end), or -1 when one of them
   * is ≥ 0xED (where byte order and UTF-16 order can differ): different prefixes order two keys.
   */
  prefix = 0
  /** Records read so far. */
  count = 0

  constructor(readonly path: string, readonly order = 0) {
    // O_NOFOLLOW: a reduce may read the job data store's own files, where a planted symlink is refused.
    this.fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    // A file smaller than a read chunk (a combined map output, mostly) gets a buffer of its size
    // (plus one, to see the end in one read): a reduce opens one reader per map task.
    let size = READ_CHUNK
    try {
      size = Math.min(READ_CHUNK, fstatSync(this.fd).size + 1)
    } catch (e) {
      this.close()
      throw e
    }
    this.buf = Buffer.allocUnsafe(Math.max(64, size))
    this.src = new ByteSource(this.buf)
    const M = RECORDS_MAGIC.length
    if (!this.need(M) || !this.buf.subarray(0, M).equals(RECORDS_MAGIC)) {
      const short = this.have < M
      this.close()
      throw new DiscoError('DISCO_BAD_RECORD', `expected a Disco intermediate file (binary records) in ${path}, found ${short ? 'a file too short' : 'other bytes'} at its start`)
    }
    this.pos = M
  }

  /** Moves to the next record; false at the end (the file is then closed). */
  next(): boolean {
    if (!this.need(1)) {
      this.close()
      return false
    }
    this.need(9) // a length varint takes at most 8 bytes; fewer may be left at the end
    const s = this.src
    s.buf = this.buf
    s.pos = this.pos
    s.end = this.have
    let n: number
    try {
      n = s.varint()
    } catch {
      throw this.corrupt('a record length runs past the end')
    }
    const head = s.pos - this.pos
    if (!this.need(head + n)) throw this.corrupt(`a record of ${n} bytes runs past the end`)
    const start = this.pos + head
    const end = start + n
    s.buf = this.buf
    s.pos = start
    s.end = end
    let h: number
    try {
      h = s.varint()
    } catch {
      throw this.corrupt('a key length runs past its record')
    }
    this.keyStart = s.pos
    this.keyEnd = s.pos + Math.floor(h / 2)
    if (this.keyEnd > end) throw this.corrupt('a key runs past its record')
    const b = this.buf
    let pre = 0
    for (let i = this.keyStart, e = this.keyStart + 6; i < e; i++) {
      const c = i < this.keyEnd ? b[i]! : 0
      if (c >= 0xed) {
        pre = -1
        break
      }
      pre = pre * 256 + c
    }
    this.prefix = pre
    this.start = start
    this.end = end
    this.pos = end
    this.count++
    return true
  }

  /** The current record's key. */
  key(): string {
    const s = this.src
    s.buf = this.buf
    s.pos = this.start
    s.end = this.end
    return s.text()
  }

  /** The current record's value. */
  value(): unknown {
    const s = this.src
    s.buf = this.buf
    s.pos = this.keyEnd
    s.end = this.end
    return s.value()
  }

  private corrupt(what: string): DiscoError {
    this.close()
    return new DiscoError('DISCO_BAD_RECORD', `expected a Disco intermediate record in ${this.path} (record ${this.count + 1}), found a corrupt one (${what})`)
  }

  /** Makes `n` bytes from `pos` available (moving them to the front, growing the buffer); false when the file ends first. */
  private need(n: number): boolean {
    if (this.have - this.pos >= n) return true
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.have)
      this.have -= this.pos
      this.pos = 0
    }
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2))
      this.buf.copy(bigger, 0, 0, this.have)
      this.buf = bigger
    }
    while (this.have < n && !this.eof && this.fd >= 0) {
      const got = readSync(this.fd, this.buf, this.have, this.buf.length - this.have, null)
      if (got === 0) this.eof = true
      this.have += got
    }
    return this.have >= n
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd)
      this.fd = -1
    }
  }
}

/** Folds two values of one key (a bound combiner). */
export type Fold = (key: string, acc: unknown, value: unknown) => unknown

/**
 * Chooses the partition of a record from its key (text and encoded bytes `bytes[start, end)`):
 * the default partitioner hashes the bytes, a custom one the text.
 */
export type PartitionOf = (key: string, bytes: Buffer, start: number, end: number) => number

/** A growable Int32Array. */
class IntList {
  a = new Int32Array(1024)
  n = 0

  /** Appends four numbers. */
  push4(x: number, y: number, z: number, w: number): void {
    if (this.n + 4 > this.a.length) this.grow()
    const a = this.a
    const n = this.n
    a[n] = x
    a[n + 1] = y
    a[n + 2] = z
    a[n + 3] = w
    this.n = n + 4
  }

  private grow(): void {
    const b = new Int32Array(this.a.length * 2)
    b.set(this.a)
    this.a = b
  }
}

/** Estimated bytes of one buffered record besides its encoded body (the index). */
const INDEX_BYTES = 20

/** Options of a {@link Sorter}. */
export interface SorterOptions {
  /** Partitions (default 1); records are kept and written per partition. */
  partitions?: number
  /** Partition of a record added without one (default: partition 0). */
  partitionOf?: PartitionOf
  /** Folds equal keys while writing runs and merging them. */
  fold?: Fold
  /** Runs merged at once (default MERGE_FAN_IN). */
  fanIn?: number
}

/**
 * Buffers the records of one task in a byte arena and spills them as sorted runs (one file per
 * partition) when asked; `finish` writes every partition, merged in key order (equal keys keep
 * their arrival order, or are folded into one with `fold`).
 */
export class Sorter {
  private readonly arena = new ByteSink(1 << 20)
  /**
   * Per record, side by side (one cache line holds four records' entries, so the sorted-order
   * gathers of the sort and the write miss once per record, not once per array): the record's
   * start in the arena, its key's start and end, its partition.
   */
  private readonly ix = new IntList()
  /** Records buffered. */
  private n = 0
  private readonly runs: string[][]
  private readonly P: number
  private spills = 0
  /** Estimated bytes held in memory. */
  bytes = 0

  private readonly dir: PathOf

  /** `tmpDir`: where runs are spilled (made, or resolved, on the first spill). */
  constructor(tmpDir: LazyPath, private readonly opts: SorterOptions = {}) {
    this.dir = new PathOf(tmpDir)
    this.P = opts.partitions ?? 1
    this.runs = Array.from({ length: this.P }, () => [])
  }

  /**
   * Adds a pair (to partition `part`, else the one `partitionOf` chooses); returns the estimated
   * memory it took.
   */
  add(key: string, value: unknown, part?: number): number {
    const a = this.arena
    const start = a.pos
    a.text(key)
    const ks = start + varintLength(a.buf, start)
    const ke = a.pos
    let p = part ?? 0
    if (part === undefined && this.opts.partitionOf) {
      try {
        p = this.opts.partitionOf(key, a.buf, ks, ke)
      } catch (e) {
        a.pos = start
        throw e
      }
    }
    a.value(value)
    this.ix.push4(start, ks, ke, p)
    this.n++
    const n = a.pos - start + INDEX_BYTES
    this.bytes += n
    return n
  }

  /**
   * Adds the pair (key, [numbers]) given as an ASCII key's bytes `key[ks, ke)` and the numbers
   * `nums[at, at + n)` to partition `part` (as `add` would the key's text and the array); returns
   * the estimated memory it took.
   */
  addNumberRow(key: Uint8Array, ks: number, ke: number, nums: Float64Array, at: number, n: number, part: number): number {
    const a = this.arena
    const start = a.pos
    const len = ke - ks
    a.varint(len * 2)
    const k0 = a.pos
    a.ensure(len + 2 + 9 * n)
    const b = a.buf
    for (let i = 0; i < len; i++) b[k0 + i] = key[ks + i]!
    a.pos = k0 + len
    a.array(n)
    for (let i = 0; i < n; i++) a.value(nums[at + i]!)
    this.ix.push4(start, k0, k0 + len, part)
    this.n++
    const size = a.pos - start + INDEX_BYTES
    this.bytes += size
    return size
  }

  get empty(): boolean {
    return this.n === 0 && this.runs.every((r) => r.length === 0)
  }

  /**
   * Moves the buffered records so that each partition's lie together, in arrival order: one pass
   * over the records as they came, written to one sequential stream per partition. The sort and
   * the write of a partition then read its own records only (a fraction of the arena, which stays
   * in the cache), where each record came from anywhere in the whole arena before.
   */
  private regroup(): void {
    const n = this.n
    const P = this.P
    const ix = this.ix.a
    const buf = this.arena.buf
    const last = this.arena.pos
    // Each partition's first byte and first record in the new layout.
    const at = new Int32Array(P + 1)
    const first = new Int32Array(P + 1)
    for (let i = 0; i < n; i++) {
      const p = ix[4 * i + 3]!
      at[p + 1]! += (i + 1 < n ? ix[4 * i + 4]! : last) - ix[4 * i]!
      first[p + 1]!++
    }
    for (let p = 0; p < P; p++) {
      at[p + 1]! += at[p]!
      first[p + 1]! += first[p]!
    }
    const out = Buffer.allocUnsafe(Math.max(buf.length, 1))
    const nix = new Int32Array(this.ix.a.length)
    for (let i = 0; i < n; i++) {
      const p = ix[4 * i + 3]!
      const s = ix[4 * i]!
      const e = i + 1 < n ? ix[4 * i + 4]! : last
      const d = at[p]!
      if (e - s <= 32) for (let j = s, k = d; j < e; j++, k++) out[k] = buf[j]!
      else buf.copy(out, d, s, e)
      at[p] = d + e - s
      const r = 4 * first[p]!++
      nix[r] = d
      nix[r + 1] = ix[4 * i + 1]! - s + d
      nix[r + 2] = ix[4 * i + 2]! - s + d
      nix[r + 3] = p
    }
    this.arena.buf = out
    this.ix.a = nix
  }

  /** The buffered records' indexes, grouped by partition and sorted by key within each; segment bounds per partition. */
  private sorted(): { order: Uint32Array; bounds: Int32Array } {
    if (this.P > 1) this.regroup()
    const n = this.n
    const P = this.P
    const ix = this.ix.a
    const bounds = new Int32Array(P + 1)
    for (let i = 0; i < n; i++) bounds[ix[4 * i + 3]! + 1]!++
    for (let p = 0; p < P; p++) bounds[p + 1]! += bounds[p]!
    const fillAt = bounds.slice(0, P)
    const order = new Uint32Array(n)
    for (let i = 0; i < n; i++) order[fillAt[ix[4 * i + 3]!]!++] = i
    // 5-byte big-endian key prefixes (4 in `pre`, the fifth in `pre5`) decide most comparisons; a
    // prefix with a byte ≥ 0xED (where byte order and UTF-16 order can differ) is marked NO_PREFIX.
    const buf = this.arena.buf
    const pre = new Uint32Array(n)
    const pre5 = new Uint8Array(n)
    let dirty = false
    for (let i = 0; i < n; i++) {
      let v = 0
      const s = ix[4 * i + 1]!
      const len = ix[4 * i + 2]! - s
      let clean = true
      for (let j = 0; j < 4; j++) {
        const b = j < len ? buf[s + j]! : 0
        if (b >= 0xed) clean = false
        v = v * 256 + b
      }
      const b5 = len > 4 ? buf[s + 4]! : 0
      if (b5 >= 0xed) clean = false
      pre[i] = clean ? v : NO_PREFIX
      pre5[i] = b5
      if (!clean) dirty = true
    }
    const cmp = (i: number, j: number): number => {
      const pi = pre[i]!
      const pj = pre[j]!
      if (pi !== pj && pi !== NO_PREFIX && pj !== NO_PREFIX) return pi < pj ? -1 : 1
      return compareKeyBytes(buf, ix[4 * i + 1]!, ix[4 * i + 2]!, buf, ix[4 * j + 1]!, ix[4 * j + 2]!) || i - j
    }
    for (let p = 0; p < P; p++) {
      const from = bounds[p]!
      const to = bounds[p + 1]!
      if (to - from < 2) continue
      // Records added in key order (a reduce's output, usually) need no sort.
      let x = from + 1
      while (x < to && cmp(order[x - 1]!, order[x]!) < 0) x++
      if (x === to) continue
      const seg = order.subarray(from, to)
      if (dirty || to - from > MAX_NATIVE) seg.sort(cmp)
      else sortByPrefix(seg, pre, pre5, cmp)
    }
    return { order, bounds }
  }

  /** Writes the sorted records `order[from, to)` to `out`, folding equal keys when folding. */
  private writeSegment(order: Uint32Array, from: number, to: number, out: RecordSink): void {
    const buf = this.arena.buf
    const ix = this.ix.a
    const n = this.n
    const last = this.arena.pos
    // A record ends where the next one starts.
    const endOf = (i: number): number => (i + 1 < n ? ix[4 * i + 4]! : last)
    const fold = this.opts.fold
    if (!fold) {
      for (let x = from; x < to; x++) {
        const i = order[x]!
        out.raw(buf, ix[4 * i]!, endOf(i))
      }
      return
    }
    const src = new ByteSource(buf)
    const scratch = new ByteSink(256)
    for (let x = from; x < to;) {
      const i = order[x]!
      let y = x + 1
      const ks = ix[4 * i + 1]!
      const ke = ix[4 * i + 2]!
      while (y < to && sameBytes(buf, ks, ke, ix[4 * order[y]! + 1]!, ix[4 * order[y]! + 2]!)) y++
      if (y === x + 1) {
        out.raw(buf, ix[4 * i]!, endOf(i))
      } else {
        src.pos = ix[4 * i]!
        src.end = endOf(i)
        const key = src.text()
        let acc = src.value()
        for (let z = x + 1; z < y; z++) {
          const j = order[z]!
          src.pos = ix[4 * j + 2]!
          src.end = endOf(j)
          acc = fold(key, acc, src.value())
        }
        scratch.pos = 0
        scratch.text(key)
        scratch.value(acc)
        out.raw(scratch.buf, 0, scratch.pos)
      }
      x = y
    }
  }

  private reset(): void {
    this.arena.pos = 0
    this.ix.n = 0
    this.n = 0
    this.bytes = 0
  }

  /** Writes the buffered records as sorted runs (one file per non-empty partition) and frees them. */
  spill(): void {
    if (this.n === 0) return
    const dir = this.dir.get()
    mkdirSync(dir, { recursive: true })
    const { order, bounds } = this.sorted()
    for (let p = 0; p < this.P; p++) {
      if (bounds[p + 1] === bounds[p]) continue
      const w = new RecordWriter(join(dir, `run-${p}-${this.spills}-${randomBytes(4).toString('hex')}`))
      this.writeSegment(order, bounds[p]!, bounds[p + 1]!, w)
      w.commit()
      this.runs[p]!.push(w.path)
    }
    this.spills++
    this.reset()
  }

  /**
   * Writes every non-empty partition in key order: `open(p)` gives its sink, `done(p, sink)` is
   * called after its last record. Frees everything (spilled runs are removed).
   */
  finish<S extends RecordSink>(open: (p: number) => S, done: (p: number, sink: S) => void): void {
    if (this.spills === 0) {
      const { order, bounds } = this.sorted()
      for (let p = 0; p < this.P; p++) {
        if (bounds[p + 1] === bounds[p]) continue
        const out = open(p)
        this.writeSegment(order, bounds[p]!, bounds[p + 1]!, out)
        done(p, out)
      }
    } else {
      this.spill()
      for (let p = 0; p < this.P; p++) {
        const runs = this.runs[p]!
        if (runs.length === 0) continue
        const out = open(p)
        mergeRunFiles(runs, out, this.dir.get(), this.opts.fold, this.opts.fanIn)
        for (const r of runs) rmSync(r, { force: true })
        this.runs[p] = []
        done(p, out)
      }
    }
    this.reset()
  }
}

/**
 * True when `buf[as, ae)` and `buf[bs, be)` are the same bytes. Neighbours in key order share
 * their starts, so the lengths and last bytes are compared first.
 */
function sameBytes(buf: Uint8Array, as: number, ae: number, bs: number, be: number): boolean {
  const n = ae - as
  if (n !== be - bs) return false
  if (n === 0) return true
  if (buf[ae - 1] !== buf[be - 1]) return false
  for (let i = 0; i < n - 1; i++) if (buf[as + i] !== buf[bs + i]) return false
  return true
}

const NO_PREFIX = 0xffffffff
/** Records of a partition sorted natively at most (their position takes 24 bits of a sort key). */
const MAX_NATIVE = 1 << 24

/**
 * Sorts record indexes `seg` (ascending on entry) by key: a native sort of 64-bit words (5-byte
 * key prefix, then position, so ties keep arrival order), then `cmp` within each run of equal
 * prefixes. Every prefix must be clean (see `sorted`).
 */
function sortByPrefix(seg: Uint32Array, pre: Uint32Array, pre5: Uint8Array, cmp: (i: number, j: number) => number): void {
  const m = seg.length
  const words = new BigUint64Array(m)
  const w = new Uint32Array(words.buffer) // little-endian halves: [low, high]
  for (let x = 0; x < m; x++) {
    const i = seg[x]!
    w[2 * x] = pre5[i]! * 0x1000000 + x
    w[2 * x + 1] = pre[i]!
  }
  words.sort()
  const src = seg.slice()
  for (let y = 0; y < m; y++) seg[y] = src[w[2 * y]! & 0xffffff]!
  // Keys longer than 5 bytes that share a prefix: sorted by the whole key within their run.
  for (let y = 0; y < m;) {
    const hi = w[2 * y + 1]!
    const b5 = w[2 * y]! >>> 24
    let z = y + 1
    while (z < m && w[2 * z + 1] === hi && w[2 * z]! >>> 24 === b5) z++
    if (z - y > 1) sortSmall(seg, y, z, cmp)
    y = z
  }
}

/** Sorts `seg[from, to)` by `cmp`: an insertion sort in place for a few (most runs of equal prefixes), else a native sort. */
function sortSmall(seg: Uint32Array, from: number, to: number, cmp: (i: number, j: number) => number): void {
  if (to - from > 16) {
    seg.subarray(from, to).sort(cmp)
    return
  }
  for (let x = from + 1; x < to; x++) {
    const v = seg[x]!
    let y = x - 1
    while (y >= from && cmp(seg[y]!, v) > 0) {
      seg[y + 1] = seg[y]!
      y--
    }
    seg[y + 1] = v
  }
}

/** Byte length of the varint at `buf[p]`. */
function varintLength(buf: Buffer, p: number): number {
  let n = 1
  while (buf[p + n - 1]! >= 0x80) n++
  return n
}

/**
 * Streams the records of several sorted files in key order (ties: earlier file first) with a
 * tournament (loser) tree: each record costs one comparison per level (log2 of the files), where
 * a heap's sift-down costs two. `next()` returns the reader positioned on the next record (valid
 * until the next call), or undefined at the end.
 */
export class RunMerger {
  private readonly rs: RecordReader[] = []
  /** Leaves in the tree: the files, rounded up to a power of two. */
  private readonly k: number
  /** 1 for a leaf whose reader holds a record (a spent or padding leaf loses to every live one). */
  private readonly live: Uint8Array
  /** tree[0]: the leaf of the smallest record; tree[n] (n ≥ 1): the loser of the match at inner node n. */
  private readonly tree: Int32Array
  private started = false

  constructor(files: readonly string[]) {
    let k = 1
    while (k < files.length) k *= 2
    this.k = k
    this.live = new Uint8Array(k)
    this.tree = new Int32Array(k)
    try {
      for (const [i, f] of files.entries()) {
        const r = new RecordReader(f, i)
        this.rs.push(r)
        this.live[i] = r.next() ? 1 : 0
      }
    } catch (e) {
      this.close()
      throw e
    }
    // The first tournament, bottom up: winners move up, each inner node keeps its loser.
    const win = new Int32Array(2 * k)
    for (let i = 0; i < k; i++) win[k + i] = i
    for (let n = k - 1; n >= 1; n--) {
      const a = win[2 * n]!
      const b = win[2 * n + 1]!
      if (this.less(a, b)) {
        win[n] = a
        this.tree[n] = b
      } else {
        win[n] = b
        this.tree[n] = a
      }
    }
    this.tree[0] = win[1]!
  }

  /** True when leaf i's record comes before leaf j's (key bytes in JS `<` order, then file order). */
  private less(i: number, j: number): boolean {
    const live = this.live
    if (live[j] === 0) return live[i] === 1 || i < j
    if (live[i] === 0) return false
    const a = this.rs[i]!
    const b = this.rs[j]!
    const pa = a.prefix
    const pb = b.prefix
    if (pa !== pb && pa >= 0 && pb >= 0) return pa < pb
    if (pa === pb && pa >= 0) {
      // Equal prefixes of keys of at most 6 bytes: the shorter key is the other's start (the
      // longer one's extra bytes are NULs), equal lengths are equal keys (a key met in every file).
      const la = a.keyEnd - a.keyStart
      const lb = b.keyEnd - b.keyStart
      if (la <= 6 && lb <= 6) return la < lb || (la === lb && i < j)
    }
    const c = compareKeyBytes(a.buf, a.keyStart, a.keyEnd, b.buf, b.keyStart, b.keyEnd)
    return c < 0 || (c === 0 && i < j)
  }

  next(): RecordReader | undefined {
    const tree = this.tree
    if (this.started) {
      const w = tree[0]!
      if (this.live[w] === 0) return undefined
      if (!this.rs[w]!.next()) this.live[w] = 0
      // Replay the matches on the winner's path to the root.
      let winner = w
      for (let n = (w + this.k) >> 1; n >= 1; n >>= 1) {
        const l = tree[n]!
        if (this.less(l, winner)) {
          tree[n] = winner
          winner = l
        }
      }
      tree[0] = winner
    }
    this.started = true
    const w = tree[0]!
    return this.live[w] === 1 ? this.rs[w] : undefined
  }

  /** Closes every file still open (after an early stop). */
  close(): void {
    for (const r of this.rs) r.close()
  }
}

/** Merges sorted files into `out` (folding equal keys when `fold` is given), in rounds of `fanIn`. */
export function mergeRunFiles(files: readonly string[], out: RecordSink, tmpDir: string, fold?: Fold, fanIn = MERGE_FAN_IN): void {
  let level = [...files]
  let round = 0
  while (level.length > fanIn) {
    const next: string[] = []
    for (let i = 0; i < level.length; i += fanIn) {
      const w = new RecordWriter(join(tmpDir, `merge-${round}-${i}-${randomBytes(4).toString('hex')}`))
      mergeInto(level.slice(i, i + fanIn), w, fold)
      w.commit()
      next.push(w.path)
    }
    if (round > 0) for (const f of level) rmSync(f, { force: true })
    level = next
    round++
  }
  mergeInto(level, out, fold)
  if (round > 0) for (const f of level) rmSync(f, { force: true })
}

function mergeInto(files: readonly string[], out: RecordSink, fold?: Fold): void {
  const m = new RunMerger(files)
  if (!fold) {
    for (let r = m.next(); r; r = m.next()) out.raw(r.buf, r.start, r.end)
    return
  }
  const scratch = new ByteSink(256)
  const keyCopy = new ByteSink(256)
  let r = m.next()
  while (r) {
    // the key's bytes are copied: the reader's buffer moves on
    keyCopy.pos = 0
    keyCopy.ensure(r.keyEnd - r.keyStart)
    r.buf.copy(keyCopy.buf, 0, r.keyStart, r.keyEnd)
    keyCopy.pos = r.keyEnd - r.keyStart
    const kb = keyCopy.buf
    const klen = keyCopy.pos
    const first = r
    let key: string | undefined
    let acc: unknown
    let n = 0
    // copy the first record as is when it turns out to be alone
    scratch.pos = 0
    scratch.ensure(first.end - first.start)
    first.buf.copy(scratch.buf, 0, first.start, first.end)
    scratch.pos = first.end - first.start
    for (r = m.next(); r && compareKeyBytes(r.buf, r.keyStart, r.keyEnd, kb, 0, klen) === 0; r = m.next()) {
      if (n === 0) {
        const s = new ByteSource(scratch.buf, 0, scratch.pos)
        key = s.text()
        acc = s.value()
      }
      acc = fold(key!, acc, r.value())
      n++
    }
    if (n === 0) {
      out.raw(scratch.buf, 0, scratch.pos)
    } else {
      scratch.pos = 0
      scratch.text(key!)
      scratch.value(acc)
      out.raw(scratch.buf, 0, scratch.pos)
    }
  }
}
