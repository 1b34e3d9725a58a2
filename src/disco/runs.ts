// Sorted runs on disk: every intermediate and result file holds one encoded pair per line (the
// encoding lives in records.ts), sorted by key (UTF-16 code unit order, JS `<`). A Sorter buffers
// pairs within a memory budget and spills sorted runs; a k-way heap merge streams runs back in
// key order.
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { MinHeap } from '../util/heap.js'
import { decodePair, encodePair } from './records.js'

/** Runs merged in one pass at most; more are merged in rounds. */
export const MERGE_FAN_IN = 64
const READ_CHUNK = 1 << 16
const WRITE_CHUNK = 1 << 20

/** Reads a file line by line with synchronous 1 MB reads (worker threads may block). */
export class LineReader {
  private fd: number
  private buf = Buffer.allocUnsafe(READ_CHUNK)
  private start = 0
  private end = 0
  private eof = false
  private reads = 0
  lineNo = 0

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r')
  }

  /** The next line without its newline, or undefined at the end (the file is then closed). */
  next(): string | undefined {
    for (;;) {
      const i = this.buf.indexOf(10, this.start)
      if (i !== -1 && i < this.end) {
        const line = this.buf.toString('utf8', this.start, i)
        this.start = i + 1
        this.lineNo++
        return line
      }
      if (this.eof) {
        if (this.start < this.end) {
          const line = this.buf.toString('utf8', this.start, this.end)
          this.start = this.end
          this.lineNo++
          return line
        }
        this.close()
        return undefined
      }
      this.fill()
    }
  }

  private fill(): void {
    const rest = this.end - this.start
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end)
    } else if (rest === this.buf.length) {
      // the buffer is full of one partial line, or still small: grow it (up to 1 MB for speed)
      const bigger = Buffer.allocUnsafe(this.buf.length * 2) // a line longer than the buffer
      this.buf.copy(bigger, 0, 0, rest)
      this.buf = bigger
    }
    this.start = 0
    this.end = rest
    if (this.buf.length < 1 << 20 && this.reads++ > 4) {
      const bigger = Buffer.allocUnsafe(1 << 20)
      this.buf.copy(bigger, 0, 0, rest)
      this.buf = bigger
    }
    const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null)
    if (n === 0) this.eof = true
    this.end += n
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd)
      this.fd = -1
    }
  }
}

/** Writes lines to `<path>.<random>.partial` and renames it to `path` on commit (atomic output). */
export class AtomicWriter {
  private fd: number
  private pending: string[] = []
  private pendingLen = 0
  readonly tmp: string
  lines = 0

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.tmp = `${path}.${randomBytes(4).toString('hex')}.partial`
    this.fd = openSync(this.tmp, 'w')
  }

  write(line: string): void {
    this.pending.push(line)
    this.pendingLen += line.length + 1
    this.lines++
    if (this.pendingLen >= WRITE_CHUNK) this.flush()
  }

  private flush(): void {
    if (this.pending.length === 0) return
    this.pending.push('')
    writeSync(this.fd, this.pending.join('\n'))
    this.pending = []
    this.pendingLen = 0
  }

  /** Flushes, closes and renames into place. */
  commit(): void {
    this.flush()
    closeSync(this.fd)
    renameSync(this.tmp, this.path)
  }

  /** Closes and removes the partial file. */
  abort(): void {
    try { closeSync(this.fd) } catch { /* already closed */ }
    rmSync(this.tmp, { force: true })
  }
}

interface Entry { k: string; l: string }
const byKey = (a: Entry, b: Entry): number => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)

/** Folds two values of one key (a bound combiner). */
export type Fold = (key: string, acc: unknown, value: unknown) => unknown

/**
 * Buffers pairs of one stream in memory and spills them as sorted runs when asked; `finish`
 * writes everything, merged in key order (equal keys keep their arrival order), to a writer.
 * With a `fold`, values of equal keys are folded into one as they arrive and while merging.
 */
export class Sorter {
  private entries: Entry[] = []
  private table: Map<string, unknown> | undefined
  private runs: string[] = []
  /** Estimated bytes held in memory. */
  bytes = 0

  constructor(private readonly tmpDir: string, private readonly fold?: Fold, private readonly fanIn = MERGE_FAN_IN) {
    if (fold) this.table = new Map()
  }

  /** Adds a pair; returns the estimated memory it took. */
  add(key: string, value: unknown): number {
    if (this.table) {
      if (typeof key !== 'string') encodePair(key, value) // throws DISCO_BAD_KEY
      const t = this.table
      const cur = t.get(key)
      if (cur !== undefined || t.has(key)) {
        t.set(key, this.fold!(key, cur, value))
        return 0
      }
      t.set(key, value)
      const n = key.length * 2 + 120
      this.bytes += n
      return n
    }
    const l = encodePair(key, value)
    this.entries.push({ k: key, l })
    const n = (key.length + l.length) * 2 + 80
    this.bytes += n
    return n
  }

  get empty(): boolean {
    return this.runs.length === 0 && this.size() === 0
  }

  private size(): number {
    return this.table ? this.table.size : this.entries.length
  }

  private sorted(): Entry[] {
    if (!this.table) return this.entries.sort(byKey)
    const keys = [...this.table.keys()].sort()
    return keys.map((k) => ({ k, l: encodePair(k, this.table!.get(k)) }))
  }

  private reset(): void {
    this.entries = []
    if (this.table) this.table = new Map()
    this.bytes = 0
  }

  /** Writes the buffered pairs as one sorted run file and frees them. */
  spill(): void {
    if (this.size() === 0) return
    mkdirSync(this.tmpDir, { recursive: true })
    const w = new AtomicWriter(join(this.tmpDir, `run-${this.runs.length}-${randomBytes(4).toString('hex')}.ndjson`))
    for (const e of this.sorted()) w.write(e.l)
    w.commit()
    this.runs.push(w.path)
    this.reset()
  }

  /** Writes all pairs in key order to `out` (not committed); returns the number of lines written. */
  finish(out: AtomicWriter): number {
    const before = out.lines
    if (this.runs.length === 0) {
      for (const e of this.sorted()) out.write(e.l)
    } else {
      this.spill()
      mergeRunFiles(this.runs, out, this.tmpDir, this.fold, this.fanIn)
      for (const r of this.runs) rmSync(r, { force: true })
      this.runs = []
    }
    this.reset()
    return out.lines - before
  }
}

/** A source of sorted `[key, value]` lines for the merge. */
interface Cursor { key: string; value: unknown; line: string; src: number; reader: LineReader }

function readCursor(reader: LineReader, src: number): Cursor | undefined {
  const line = reader.next()
  if (line === undefined) return undefined
  if (line === '') return readCursor(reader, src)
  const [key, value] = decodePair(line, `${reader.path}:${reader.lineNo}`)
  return { key, value, line, src, reader }
}

const before = (a: Cursor, b: Cursor): boolean => a.key < b.key || (a.key === b.key && a.src < b.src)

/**
 * Streams the pairs of several sorted files in key order (ties: earlier file first) with a binary
 * heap. `next()` returns the next pair, or undefined at the end.
 */
export class KvMerger {
  private readonly heap = new MinHeap<Cursor>(before)

  constructor(files: readonly string[]) {
    files.forEach((f, i) => {
      const c = readCursor(new LineReader(f), i)
      if (c) this.heap.push(c)
    })
  }

  next(): Cursor | undefined {
    const top = this.heap.peek()
    if (top === undefined) return undefined
    const repl = readCursor(top.reader, top.src)
    if (repl) this.heap.replaceTop(repl)
    else this.heap.pop()
    return top
  }

  /** Closes every file still open (after an early stop). */
  close(): void {
    for (const c of this.heap.drain()) c.reader.close()
  }
}

/** Merges sorted files into `out` (folding equal keys when `fold` is given), in rounds of MERGE_FAN_IN. */
export function mergeRunFiles(files: readonly string[], out: AtomicWriter, tmpDir: string, fold?: Fold, fanIn = MERGE_FAN_IN): void {
  let level = [...files]
  let round = 0
  while (level.length > fanIn) {
    const next: string[] = []
    for (let i = 0; i < level.length; i += fanIn) {
      const w = new AtomicWriter(join(tmpDir, `merge-${round}-${i}-${randomBytes(4).toString('hex')}.ndjson`))
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

function mergeInto(files: readonly string[], out: AtomicWriter, fold?: Fold): void {
  const m = new KvMerger(files)
  if (!fold) {
    for (let c = m.next(); c; c = m.next()) out.write(c.line)
    return
  }
  let c = m.next()
  while (c) {
    const key = c.key
    let acc = c.value
    let line = c.line
    let n = 1
    for (c = m.next(); c && c.key === key; c = m.next()) {
      acc = fold(key, acc, c.value)
      n++
    }
    out.write(n === 1 ? line : encodePair(key, acc))
  }
}
