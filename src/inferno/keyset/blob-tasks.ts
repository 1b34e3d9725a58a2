// Executing one rule's map/reduce: the shared job pieces and the in-process ("inline") engine.
import { isUtf8 } from 'node:buffer'
import type { Params, Parts, ResultRow, Rule } from '../rules/rule.js'
import { addOversized, createRecordReader, noteBadLine, type RecordReader } from '../reading/readers.js'
import { blobStats, mergeReadStats, newReadStats, type JobStats, type ReadStats } from '../results/stats.js'
import { DEFAULT_MAX_LINE, LineSplitter, type LineOptions } from '../../ddfs/lines.js'
import { FieldScanner, SCAN_BAD, SCAN_OK } from '../../util/json-fields.js'
import { BlockScanner, LINE_END, LINE_VERDICT, PRESENT_SHIFT, SHORT_INT } from '../../util/json-block.js'
import { compareRows, decodeKey, encodeKey, keysetMapRun, keysetReduce, SumCombiner } from './map-reduce.js'
import type { BlobRef } from '../reading/tags.js'
import type { InfernoStore } from '../reading/inferno-store.js'
import { crc32 } from '../../util/crc32.js'
import { cappedDebug, suppressedNote } from './debug-lines.js'

/** CRC-32 of a text's UTF-8 bytes (the one implementation, in util). */
export { crc32 }

/**
 * The partition of an encoded key (section 2.4): the rule's function (given the key as JSON text),
 * else crc32(key) mod n. Placement never changes the result.
 */
export function partitionOf(rule: Rule, key: string, partitions: number): number {
  const p = rule.partitionFunction ? rule.partitionFunction(JSON.stringify(decodeKey(key)), partitions) : crc32(key) % partitions
  return Number.isInteger(p) && p >= 0 && p < partitions ? p : ((Math.trunc(p) % partitions) + partitions) % partitions
}

export { newJobStats, type JobStats } from '../results/stats.js'

const FFFD = Buffer.from('\uFFFD', 'utf8')

/** One job input: a stored blob, or a URL (`raw://…` or a store URL). */
export type JobInput = BlobRef

/** What a map task needs to know. */
export interface MapContext {
  readonly rule: Rule
  readonly params: Params
  readonly debug?: ((msg: string) => void) | undefined
  /** The blob's name in the per-blob counters (default `input`). */
  readonly blob?: string | undefined
  /** mapBytes: told the newlines passed after each chunk (a Disco task's progress and record count). */
  readonly onNewlines?: ((n: number) => void) | undefined
  /**
   * mapBytes' field scanner: `wasm` (default: WebAssembly blocks where the runtime has SIMD, then
   * the JS scanner for lines it leaves) or `js` (the JS scanner only; benches and tests compare).
   */
  readonly scanner?: 'wasm' | 'js' | undefined
  /**
   * mapBytes: each chunk is valid only until the next is asked for (its buffer is read into again):
   * the line splitter then copies an unfinished line's pieces instead of keeping views of them.
   * (Nothing else in mapBytes keeps a view of a chunk past its handling.)
   */
  readonly borrowed?: boolean | undefined
}

/** Keys buffered by the map-side combiner before it hands its sums on. */
const COMBINE_KEYS = 100_000

/** One map task's record handling: keyset map (or the rule's map function) → combiner → emit. */
interface RecordMapper {
  one(parts: Parts): void
  /** `one` as a function value (for the readers' callbacks). */
  readonly onRecord: (parts: Parts) => void
  /** Hands the combiner's sums on (all of them with `all`, else only when it holds too many keys). */
  flush(all: boolean): void
  /** Drops what the combiner still holds (the task failed) and frees its key slots. */
  close(): void
}

/**
 * RecordMapper as a class: `one` and `flush` are the same functions for every map task, so the
 * compiled line loops that call them (BytesMap, kept per thread) are not deoptimised by each new
 * task's closures.
 */
class TaskMapper implements RecordMapper {
  readonly onRecord = (parts: Parts): void => this.one(parts)

  constructor(private readonly run: { one(parts: Parts): void } | undefined, private readonly mapOne: ((parts: Parts) => void) | undefined,
    private readonly combiner: SumCombiner | undefined, private readonly emit: (keyJson: string, values: unknown[]) => void) {}

  one(parts: Parts): void {
    const run = this.run
    if (run !== undefined) run.one(parts)
    else this.mapOne!(parts)
  }

  flush(all: boolean): void {
    const combiner = this.combiner
    if (combiner && (all || combiner.size > COMBINE_KEYS)) for (const [k, v] of combiner.drain()) this.emit(k, v)
  }

  close(): void {
    this.combiner?.close()
  }
}

function recordMapper(ctx: MapContext, emit: (keyJson: string, values: unknown[]) => void, stats: JobStats): RecordMapper {
  const { rule, params } = ctx
  const combiner = rule.combiner && !rule.reduceFunction && !rule.mapFunction ? new SumCombiner() : undefined
  const out = combiner ? (k: string, v: unknown[]) => combiner.add(k, v) : emit
  // With -D every emit is logged: keysets then emit through `out` like the rule's map function.
  const hooks = { errors: stats.mapErrors, counts: stats.map, debug: ctx.debug, ...(combiner && !ctx.debug ? { combiner } : {}) }
  const mapFunction = rule.mapFunction
  if (!mapFunction) return new TaskMapper(keysetMapRun(rule, params, out, hooks), undefined, combiner, emit)
  return new TaskMapper(undefined, (parts) => {
    try {
      for (const [key, values] of mapFunction(parts, params)) out(encodeKey(key), values)
    } catch (e) {
      stats.mapErrors.errors++
      if (stats.mapErrors.errorSample.length < 5) stats.mapErrors.errorSample.push(`map error: ${(e as Error).message}`)
    }
  }, combiner, emit)
}

/**
 * Runs the map of one input blob: reader → keyset map (or the rule's map function) → combiner when
 * the default reduce is used. Calls `emit` with (encoded key, values).
 *
 * @example
 * await mapBlob({ rule, params: {} }, store.readLines(blob), (k, v) => pairs.push([k, v]), stats)
 */
export async function mapBlob(ctx: MapContext, lines: AsyncIterable<string> | Iterable<string>,
  emit: (keyJson: string, values: unknown[]) => void, stats: JobStats): Promise<void> {
  const { rule } = ctx
  const readStats = newReadStats()
  const reader = createRecordReader({ kind: rule.mapInputStream, csvFields: rule.csvFields, dialect: rule.csvDialect }, readStats)
  const m = recordMapper(ctx, emit, stats)
  const mapBefore = { ...stats.map }
  rule.mapInitFunction?.(ctx.params)
  try {
    for await (const line of lines) {
      reader.push(line, m.onRecord)
      m.flush(false)
    }
    reader.end(m.onRecord)
    m.flush(true)
  } finally {
    m.close()
  }
  mergeReadStats(stats.read, readStats)
  stats.blobs.push(blobStats(ctx.blob ?? 'input', readStats, mapBefore, stats.map))
  stats.blobsDone++
}

/**
 * The top-level input fields a rule's map reads, when its records may be decoded partially (the
 * fast path): a JSON rule without a map function whose pre-processors, if any, declare the fields
 * they read (`preprocessReads`). Undefined otherwise (every record is parsed whole).
 *
 * @example
 * ruleFields(defineRule({ mapInputStream: 'json', keyParts: ['a'], valueParts: ['n'] })) // ['a', 'n']
 */
export function ruleFields(rule: Rule): string[] | undefined {
  if (rule.mapInputStream !== 'json' || rule.mapFunction) return undefined
  const keysets = Object.values(rule.keysets)
  const pre = rule.partsPreprocess.length > 0 || keysets.some((k) => k.partsPreprocess.length > 0)
  if (pre && rule.preprocessReads === undefined) return undefined
  const fields = new Set<string>(rule.preprocessReads ?? [])
  for (const f of Object.keys(rule.fieldTransforms)) fields.add(f)
  for (const k of keysets) for (const f of [...k.keyParts, ...k.valueParts]) fields.add(f)
  // `_keyset` is always the keyset's name, never an input field.
  fields.delete('_keyset')
  return fields.has('__proto__') ? undefined : [...fields]
}

/** Fields a parts builder handles with one generated constructor per set of present fields. */
const MAX_BUILT_FIELDS = 24
/** Sets of present fields a builder compiles a constructor for; records past that take the loop. */
const MAX_SHAPES = 64

/** Bit i set when `values[i]` is not undefined (fields up to MAX_BUILT_FIELDS). */
function presentMask(values: readonly unknown[], n: number): number {
  let mask = 0
  for (let i = 0; i < n; i++) if (values[i] !== undefined) mask |= 1 << i
  return mask
}

/**
 * Makes a record's parts from the scanner's values: `values[i]` is field i's value where bit i of
 * `mask` is set (presentMask; other entries are not read; -1 when there are more than
 * MAX_BUILT_FIELDS fields: every entry is read, undefined meaning absent). Absent fields are left
 * out, present ones set in field order. For each set of present fields met, one constructor is
 * compiled once, so every record of that set gets the same object shape at once (no keyed
 * stores). The objects are plain (their prototype is Object.prototype, as a literal's), but made
 * by `new`, V8 sizes them for the properties pre-processors add too (in-object slack tracking):
 * an object literal has room for its own properties only, so each record's added fields would
 * allocate a separate property array.
 */
function partsBuilder(fields: readonly string[]): PartsBuilder {
  const loop = (values: readonly unknown[], mask: number): Parts => {
    const parts: Parts = {}
    for (let i = 0; i < fields.length; i++) if ((i >= 31 || (mask & (1 << i)) !== 0) && values[i] !== undefined) parts[fields[i]!] = values[i]
    return parts
  }
  // (a quoted `__proto__` in a literal would set the prototype; ruleFields never lists it)
  if (fields.length > MAX_BUILT_FIELDS || fields.includes('__proto__')) return { build: loop, fromBlock: undefined }
  // A constructor sets its fields by assignment: a name Object.prototype has (`toString`, …) could
  // meet a setter or a frozen prototype there, where a literal (as JSON.parse) defines an own
  // property. Such rules get literals (and no fromBlock).
  const literal = fields.some((f) => f in Object.prototype)
  const shapes = new Map<number, Shape>()
  /** The makers of one set of present fields (compiled when first met; undefined past MAX_SHAPES). */
  const shape = (mask: number): Shape | undefined => {
    let made = shapes.get(mask)
    if (made !== undefined || shapes.size >= MAX_SHAPES) return made
    const present = fields.flatMap((f, i) => (mask & (1 << i) ? [[JSON.stringify(f), i] as const] : []))
    // Field names are quoted with JSON.stringify: the code holds no text from the rule. Both of a
    // constructor's branches set the same fields in the same order: one object shape.
    made = literal
      ? { make: new Function('v', `return { ${present.map(([f, i]) => `${f}: v[${i}]`).join(', ')} }`) as Shape['make'], block: undefined }
      : new Function('dec', `function Parts(v, r, i) {
          if (r < 0) { ${present.map(([f, i]) => `this[${f}] = v[${i}];`).join(' ')} }
          else { ${present.map(([f, i]) => `this[${f}] = dec(v, r + ${3 + 3 * i}, i, ${i});`).join(' ')} }
        }
        Parts.prototype = Object.prototype
        return { make: (v) => new Parts(v, -1, 0), block: (src, r, i) => new Parts(src, r, i) }`)(blockValue) as Shape
    shapes.set(mask, made)
    return made
  }
  // The last two sets of present fields and their makers: records of a log mostly repeat them.
  let lastMask = -1
  let lastMake: Shape['make'] = (v) => loop(v, -1)
  let prevMask = -1
  let prevMake = lastMake
  const build = (values: readonly unknown[], mask: number): Parts => {
    if (mask === lastMask) return lastMake(values)
    let make: Shape['make'] | undefined
    if (mask === prevMask) {
      make = prevMake
    } else {
      make = shape(mask)?.make
      if (make === undefined) return loop(values, mask)
    }
    prevMask = lastMask
    prevMake = lastMake
    lastMask = mask
    lastMake = make
    return make(values)
  }
  if (literal) return { build, fromBlock: undefined }
  let blockMask = -1
  let blockMake: NonNullable<Shape['block']> = () => ({})
  const fromBlock = (src: BytesMap, r: number, i: number, mask: number): Parts => {
    if (mask !== blockMask) {
      const made = shape(mask)?.block
      if (made === undefined) {
        const values = src.values
        for (let f = 0; f < fields.length; f++) values[f] = (mask & (1 << f)) !== 0 ? blockValue(src, r + 3 + 3 * f, i, f) : undefined
        return loop(values, mask)
      }
      blockMask = mask
      blockMake = made
    }
    return blockMake(src, r, i)
  }
  return { build, fromBlock }
}

/** The makers of a record's parts for one set of present fields (see partsBuilder). */
interface Shape {
  /** From the values array (`values[i]`: field i). */
  readonly make: (values: readonly unknown[]) => Parts
  /** From the last block scan, line i, whose record in `out` starts at r (see blockValue). */
  readonly block: ((src: BytesMap, r: number, i: number) => Parts) | undefined
}

/** partsBuilder's makers. */
interface PartsBuilder {
  /** Parts from the values array and the present-fields mask (-1: read every value). */
  readonly build: (values: readonly unknown[], mask: number) => Parts
  /**
   * Parts of line `i` of the last block scan straight from its record at `out[r]` (present fields
   * by `mask`, never -1), without the values array; undefined when the fields are not built by
   * constructors.
   */
  readonly fromBlock: ((src: BytesMap, r: number, i: number, mask: number) => Parts) | undefined
}

/** The value of wanted field f of line i of the last block scan, whose kind word is at `out[q]` (a present field). */
function blockValue(src: BytesMap, q: number, i: number, f: number): unknown {
  const b = src.blocks!
  const out = b.out
  const k = out[q]!
  return k === 0 ? undefined : k >= 65536 ? b.interned(k, out[q + 1]!, out[q + 2]!)
    : (k & SHORT_INT) !== 0 ? b.nums[i * b.fields.length + f] : src.scanner!.decode(b.bytes, k & 255, (k >> 8) & 3, out[q + 1]!, out[q + 2]!)
}

/**
 * Runs the map of one input blob given as decoded bytes. Lines are split on bytes (LineSplitter,
 * with `lines`' limit: a longer line is skipped and reported to its handler); for a rule with known
 * fields (ruleFields, and no `-D`) a byte scanner validates each JSON line and decodes only those
 * fields, handing the full reader only what it cannot decide. Records, bad-line verdicts and
 * counters are those of mapBlob.
 *
 * @example
 * await mapBytes({ rule, params: {} }, ddfs.blobStore.get(url), (k, v) => pairs.push([k, v]), stats)
 */
export async function mapBytes(ctx: MapContext, bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  emit: (keyJson: string, values: unknown[]) => void, stats: JobStats, lines: LineOptions = {}): Promise<void> {
  const { rule } = ctx
  const readStats = newReadStats()
  const run = bytesMap(ctx)
  run.busy = true
  try {
    run.readStats = readStats
    run.reader = createRecordReader({ kind: rule.mapInputStream, csvFields: rule.csvFields, dialect: rule.csvDialect }, readStats)
    run.m = recordMapper(ctx, emit, stats)
    const max = lines.maxLine ?? DEFAULT_MAX_LINE
    run.split = new LineSplitter(max, lines.onTooLong, { borrowed: ctx.borrowed === true })
    const { split, sink, block, blocks } = run
    const mapBefore = { ...stats.map }
    rule.mapInitFunction?.(ctx.params)
    const onNewlines = ctx.onNewlines
    let told = 0
    for await (const chunk of bytes) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      if (blocks) split.pushBlock(buf, sink, block)
      else split.push(buf, sink)
      // Every newline completes one line: `split.lines` before end() is the newlines so far.
      if (onNewlines !== undefined && split.lines > told) {
        onNewlines(split.lines - told)
        told = split.lines
      }
    }
    split.end(sink)
    run.reader.end(run.m.onRecord)
    run.m.flush(true)
    mergeReadStats(stats.read, readStats)
    stats.blobs.push(blobStats(ctx.blob ?? 'input', readStats, mapBefore, stats.map))
    stats.blobsDone++
  } finally {
    run.m.close()
    run.busy = false
  }
}

/** The BytesMap of each rule and scanner choice in this thread (see BytesMap). */
const bytesMaps = new WeakMap<Rule, Map<string, BytesMap>>()

/** A BytesMap for one mapBytes call: the rule's idle one, else a new one (kept when it is the first). */
function bytesMap(ctx: MapContext): BytesMap {
  const fields = ctx.debug ? undefined : ruleFields(ctx.rule)
  const wasm = ctx.scanner !== 'js'
  // -D maps decode every record whole, rarely: not kept.
  if (!fields) return new BytesMap(fields, wasm)
  let byChoice = bytesMaps.get(ctx.rule)
  if (!byChoice) bytesMaps.set(ctx.rule, (byChoice = new Map()))
  const key = wasm ? 'wasm' : 'js'
  const idle = byChoice.get(key)
  if (idle && !idle.busy) return idle
  const made = new BytesMap(fields, wasm)
  if (!idle) byChoice.set(key, made)
  return made
}

/**
 * mapBytes' line handlers and what they work on, made once per rule (and scanner choice) and
 * thread and used by one map task after another: the handlers stay the same functions from one
 * task to the next, so the code compiled for their loops (optimised while a task runs, and on
 * stack replacement) serves every later task instead of being compiled again for each task's own
 * closures. The scanners, the parts builder and its compiled literals are shared the same way.
 * Per task: the counters, reader, record mapper and splitter, set by mapBytes.
 */
class BytesMap {
  /** A task is using it (a concurrent call gets its own). */
  busy = false
  readonly values: unknown[] = []
  readonly scanner: FieldScanner | undefined
  readonly build: ((values: readonly unknown[], mask: number) => Parts) | undefined
  /** Parts straight from a block scan's record (PartsBuilder.fromBlock), when masked. */
  readonly fromBlock: ((src: BytesMap, r: number, i: number, mask: number) => Parts) | undefined
  /** Records are built from a mask of present fields (else every value is read). */
  readonly masked: boolean
  /** WebAssembly block scanning, where it runs (json-block.ts). */
  readonly blocks: BlockScanner | undefined
  readStats: ReadStats = newReadStats()
  reader: RecordReader = createRecordReader({ kind: 'json' }, this.readStats)
  m: RecordMapper = new TaskMapper(undefined, () => {}, undefined, () => {})
  split: LineSplitter = new LineSplitter()
  /** One line `buf[s, end)`: the byte scanner, else the full reader. */
  readonly sink: (buf: Buffer, s: number, end: number) => void
  /** The lines of `buf[start, end)` (ending with a newline), scanned in pieces of at most BLOCK_BYTES. */
  readonly block: (buf: Buffer, start: number, end: number) => void
  /** A line longer than a block (BlockScanner.load): counted, then the byte path. */
  readonly longLine: (buf: Buffer, s: number, end: number) => void

  constructor(fields: string[] | undefined, wasm: boolean) {
    this.scanner = fields && fields.length > 0 ? new FieldScanner(fields) : undefined
    const builder = fields ? partsBuilder(fields) : undefined
    this.build = builder?.build
    this.masked = fields !== undefined && fields.length <= MAX_BUILT_FIELDS
    this.fromBlock = this.masked ? builder?.fromBlock : undefined
    // Whole lines in one buffer are scanned in blocks by WebAssembly where it runs: the lines it
    // proves valid become records in `block`, the others take `sink`.
    this.blocks = this.scanner && wasm ? BlockScanner.create(this.scanner.fields) : undefined
    this.sink = (buf, s, end) => this.line(buf, s, end)
    this.block = (buf, start, end) => this.lines(buf, start, end)
    this.longLine = (buf, s, end) => {
      if (this.split.take(end - s)) this.line(buf, s, end)
    }
  }

  /** As the text reader: a line that is not UTF-8 (or holds U+FFFD) is counted and dropped. */
  invalidUtf8(buf: Buffer, s: number, e: number): boolean {
    const line = buf.subarray(s, e)
    if (isUtf8(line) && line.indexOf(FFFD) < 0) return false
    const readStats = this.readStats
    readStats.lines++
    readStats.invalidUtf8Lines++
    if (readStats.badSample.length < 5) {
      const text = buf.toString('utf8', s, e)
      readStats.badSample.push(`invalid UTF-8 line: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`)
    }
    this.m.flush(false)
    return true
  }

  line(buf: Buffer, s: number, end: number): void {
    // One \r before the newline is dropped, as the text readers drop it.
    const e = end > s && buf[end - 1] === 13 ? end - 1 : end
    const { scanner, m, readStats } = this
    if (!scanner) {
      this.reader.push(buf.toString('utf8', s, e), m.onRecord)
      m.flush(false)
      return
    }
    const verdict = scanner.scan(buf, s, e, this.values)
    // A line scanned whole without a byte >= 0x80 is ASCII: only other lines need the UTF-8 check.
    if ((verdict !== SCAN_OK || scanner.nonAscii) && this.invalidUtf8(buf, s, e)) return
    if (verdict === SCAN_OK) {
      readStats.lines++
      readStats.records++
      m.one(this.build!(this.values, this.masked ? presentMask(this.values, scanner.fields.length) : -1))
    } else if (verdict === SCAN_BAD) {
      readStats.lines++
      noteBadLine(readStats, 'json', buf.toString('utf8', s, e))
      return
    } else {
      this.reader.push(buf.toString('utf8', s, e), m.onRecord)
    }
    m.flush(false)
  }

  /**
   * The lines of `buf[start, end)`, scanned by WebAssembly one block at a time. The lines it
   * proves valid (and ASCII) become records in `records`, the hot loop; the others (verdict 0:
   * the byte path; a byte >= 0x80: the UTF-8 check first) are handled here, in line order, and
   * `records` goes on after them. So the compiled record loop never meets a path it has not run
   * (each such first meeting threw its code away and compiled it again, in every worker).
   */
  lines(buf: Buffer, start: number, end: number): void {
    const b = this.blocks!
    const { split, sink } = this
    const mem = b.bytes
    const out = b.out
    const stride = b.stride
    while (start < end) {
      // A line longer than a block goes the byte path (longLine).
      start = b.load(buf, start, end, this.longLine)
      let p = b.inputStart
      const last = p + b.loaded
      while (p < last) {
        const n = b.scan(p, last)
        if (n === 0) break
        p = out[(n - 1) * stride + LINE_END]! + 1
        let i = 0
        let taken = -1
        while ((i = this.records(i, n, taken)) < n) {
          // Line i left by the record loop: counted (split.take) and handled here.
          const r = i * stride
          const ls = out[r]!
          const nl = out[r + LINE_END]!
          taken = -1
          if (!split.take(nl - ls)) {
            i++
          } else if (out[r + LINE_VERDICT]! === 0) {
            sink(mem, ls, nl)
            i++
          } else if (this.invalidUtf8(mem, ls, mem[nl - 1] === 13 ? nl - 1 : nl)) {
            i++
          } else {
            // Valid UTF-8: the record loop makes its record without counting or checking it again.
            taken = i
          }
        }
      }
    }
  }

  /**
   * Makes the records of lines `i` to `n - 1` of the last block scan, in order; stops at a line
   * whose verdict is 0 or that holds a byte >= 0x80 (unless it is line `taken`: already counted
   * and checked) and returns its index, else returns n.
   */
  records(i: number, n: number, taken: number): number {
    const b = this.blocks!
    const { split, m, readStats, values, masked, fromBlock } = this
    const build = this.build!
    const out = b.out
    const stride = b.stride
    const nf = b.fields.length
    for (let r = i * stride; i < n; i++, r += stride) {
      const verdict = out[r + LINE_VERDICT]!
      if (i !== taken) {
        if (verdict === 0 || (verdict & 2) !== 0) return i
        if (!split.take(out[r + LINE_END]! - out[r]!)) continue
      }
      // The present fields (their bits in the verdict when masked, else all), decoded.
      const present = masked ? verdict >>> PRESENT_SHIFT : -1
      readStats.lines++
      readStats.records++
      if (fromBlock !== undefined) {
        // (straight from the block: no values array, no loop over the fields)
        m.one(fromBlock(this, r, i, present))
        m.flush(false)
        continue
      }
      let mask = present
      for (let f = 0, q = r + 3; f < nf && mask !== 0; f++, q += 3) {
        if (masked) {
          const bit = mask & 1
          mask >>>= 1
          if (bit === 0) continue
        }
        values[f] = blockValue(this, q, i, f)
      }
      m.one(build(values, present))
      m.flush(false)
    }
    return n
  }
}

/**
 * Runs the reduce of one partition over its (encoded key, values) pairs, already sorted by key:
 * the keyset reduce, or the rule's own reduce function (`init`: call reduceInitFunction first).
 *
 * @example
 * [...reducePartition(rule, {}, [[encodeKey(['_default', 'a']), [1]]], stats)] // [[['_default', 'a'], [1]]]
 */
export function reducePartition(rule: Rule, params: Params, pairs: Iterable<readonly [string, readonly unknown[]]>,
  stats: JobStats, debug?: (msg: string) => void, init = true): Iterable<ResultRow> {
  if (init) rule.reduceInitFunction?.(params)
  if (rule.reduceFunction) {
    const decoded = (function* () {
      for (const [k, v] of pairs) yield [decodeKey(k), [...v]] as ResultRow
    })()
    return rule.reduceFunction(decoded, params)
  }
  return keysetReduce(rule, pairs, params, { errors: stats.reduceErrors, debug })
}

/**
 * The groups of a partition as (encoded key, values) pairs in key order (Q2).
 *
 * @example
 * sortedPairs(new Map([['b\u0000', [[1]]], ['a\u0000', [[2]]]])) // [['a\u0000', [2]], ['b\u0000', [1]]]
 */
export function sortedPairs(groups: Map<string, unknown[][]>): [string, unknown[]][] {
  const out: [string, unknown[]][] = []
  for (const k of [...groups.keys()].sort()) for (const v of groups.get(k)!) out.push([k, v])
  return out
}

/** Options of the inline engine. */
export interface InlineOptions extends MapContext {
  readonly store: InfernoStore
  readonly inputs: readonly JobInput[]
  readonly partitions: number
  readonly stats: JobStats
  readonly onBlob?: (() => void) | undefined
  /** Input bytes read so far (the lines' UTF-8 bytes and newlines: the stored size of uncompressed inputs). */
  readonly onBytes?: ((bytes: number) => void) | undefined
  /** Longest input line in bytes (default 64 MiB); longer lines are counted as bad lines. */
  readonly maxRecordSize?: number | undefined
}

/** `lines`, telling `onBytes` how many bytes (UTF-8 and newline) passed, every 1000 lines and at the end. */
async function* countedLines(lines: AsyncIterable<string>, onBytes: (n: number) => void): AsyncGenerator<string> {
  let n = 0
  let count = 0
  for await (const l of lines) {
    n += Buffer.byteLength(l) + 1
    if (++count % 1000 === 0) { onBytes(n); n = 0 }
    yield l
  }
  onBytes(n)
}

/**
 * The in-process engine: maps every input, partitions by key, sorts each partition by key and
 * reduces it. Returns each partition's rows, each in key order (merge them with mergeRows).
 *
 * @example
 * const parts = await runInline({ rule, params: {}, store, inputs, partitions: 2, stats: newJobStats() })
 */
export async function runInline(o: InlineOptions): Promise<ResultRow[][]> {
  const parts = Array.from({ length: o.partitions }, () => new Map<string, unknown[][]>())
  const emit = (k: string, v: unknown[]) => {
    const m = parts[partitionOf(o.rule, k, o.partitions)]!
    const list = m.get(k)
    if (list) list.push(v)
    else m.set(k, [v])
  }
  let bytes = 0
  for (const input of o.inputs) {
    const oversized = { count: 0, sample: [] as string[] }
    const max = o.maxRecordSize ?? DEFAULT_MAX_LINE
    const lines: LineOptions = {
      maxLine: max,
      onTooLong: (lineNo, seen) => {
        if (oversized.count++ < 5) oversized.sample.push(`line ${lineNo} (${seen}+ bytes)`)
      },
    }
    const read = o.store.readLines(input, lines)
    // -D: each blob's map and each partition's reduce keep their first debug lines (debug-lines.ts).
    const debug = o.debug ? cappedDebug(o.debug) : undefined
    await mapBlob({ ...o, debug: debug?.log, blob: input[0] }, o.onBytes ? countedLines(read, (n) => o.onBytes!((bytes += n))) : read, emit, o.stats)
    if (debug && debug.suppressed() > 0) o.debug!(`map ${input[0]}: ${suppressedNote(debug.suppressed())}`)
    addOversized(o.stats.read, oversized, o.stats.blobs.at(-1))
    o.onBlob?.()
  }
  return parts.map((groups, i) => {
    const debug = o.debug ? cappedDebug(o.debug) : undefined
    const rows = [...reducePartition(o.rule, o.params, sortedPairs(groups), o.stats, debug?.log)]
    if (debug && debug.suppressed() > 0) o.debug!(`reduce partition ${i}: ${suppressedNote(debug.suppressed())}`)
    // Post-processors may rename keys: keep each partition in key order for the merge.
    return o.rule.sort ? rows.sort(compareRows) : rows
  })
}
