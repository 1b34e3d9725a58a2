// The user functions of bench/mr.ts: per-user event count and amount sum over NDJSON events.
// `map` is the plain record form (JSON.parse per line); `mapBytes` is the bytes form a user writes
// for speed: lines split on bytes, only `user` and `amount` looked at by a byte scanner (whole
// blocks of lines at once in WebAssembly where it runs, else line by line in JS), and the count and
// sum kept per user by KeyedSums on the key's raw bytes, a scan's lines at a time (addRows: no
// string, array or pair per record); a line the scanners leave undecided, or an unusual one, goes
// the record form's way.
// Both give the same pairs to the combiner, which adds in place (sumRows: no new array per call).
// Only the package's public entry: on a cluster this module travels in a job pack, where the
// package's own `#src/…` imports do not resolve.
import {
  BlockScanner, VERDICT_FLAGS, FieldScanner, KeyedSums, LINE_END, LINE_VERDICT, LineSplitter, SCAN_OK, SHORT_INT, sumRows, type Emit, type TaskContext,
} from 'disco-inferno'

type Pair = [number, number]

export function map(line: string, _params: unknown, emit: Emit): void {
  const e = JSON.parse(line) as { user: string; amount: number }
  emit(e.user, [1, e.amount])
}

/**
 * Block scanners of finished map tasks, for the next task in this thread (a scanner keeps nothing
 * from one chunk to the next: no WebAssembly instance and memory made per task).
 */
const spare: BlockScanner[] = []

export async function mapBytes(chunks: AsyncIterable<Uint8Array>, params: unknown, emit: Emit, ctx: TaskContext): Promise<void> {
  const fields = ['user', 'amount']
  const scanner = new FieldScanner(fields)
  const sums = new KeyedSums(2, emit)
  const split = new LineSplitter(ctx.lines?.maxLine, ctx.lines?.onTooLong, { borrowed: true })
  /** One line, scanned in JS. */
  const sink = (b: Buffer, s: number, e: number): void => {
    if (scanner.scan(b, s, e) === SCAN_OK && scanner.isPlainString(0)) {
      const amount = scanner.fieldValue(b, 1)
      if (typeof amount === 'number') {
        const i = sums.slot(b, scanner.fieldStart(0) + 1, scanner.fieldEnd(0) - 1)
        sums.add(i, 0, 1)
        sums.add(i, 1, amount)
        return
      }
    }
    map(b.toString('utf8', s, e), params, emit) // throws for a bad line, as map does
  }
  let fast = 0
  // No string ids: `user` takes 100 000 values here, and the map reads the key's bytes anyway.
  const blocks = (params as { scanner?: string } | undefined)?.scanner === 'js' ? undefined : spare.pop() ?? BlockScanner.create(fields, { strings: false })
  const long = (b: Buffer, s: number, nl: number): void => {
    if (split.take(nl - s)) sink(b, s, nl)
  }
  // The fast lines of a scan, added to the sums as one batch (addRows): their keys' ranges in the
  // block and their rows (1, amount).
  const maxLines = blocks?.maxLines ?? 0
  const starts = new Int32Array(maxLines)
  const ends = new Int32Array(maxLines)
  const rows = new Float64Array(maxLines * 2).fill(1)
  let batched = 0
  /** Whole lines `b[start, end)` (ending with a newline), scanned in WebAssembly a block at a time. */
  const block = (b: Buffer, start: number, end: number): void => {
    const w = blocks!
    const mem = w.bytes
    const out = w.out
    const nums = w.nums
    const stride = w.stride
    while (start < end) {
      // A line longer than a block: the JS scanner.
      start = w.load(b, start, end, long)
      let p = w.inputStart
      const last = p + w.loaded
      while (p < last) {
        const n = w.scan(p, last)
        batched = 0
        for (let i = 0, r = 0; i < n; i++, r += stride) {
          const ls = out[r]!
          const nl = out[r + LINE_END]!
          p = nl + 1
          if (!split.take(nl - ls)) continue
          // One valid object, all ASCII (the verdict's flag byte; the present-field bits above it
          // are not looked at); `user` a plain string (kind 1, no flag; a string id may
          // be above bit 16), `amount` an integer of at most 15 digits (kind 2, flag SHORT_INT, its
          // value in nums): else the line takes the JS path.
          const ka = out[r + 6]!
          if ((out[r + LINE_VERDICT]! & VERDICT_FLAGS) === 1 && (out[r + 3]! & 0xffff) === 1 && (ka & 0xff) === 2 && (ka & SHORT_INT) !== 0) {
            starts[batched] = out[r + 4]! + 1
            ends[batched] = out[r + 5]! - 1
            rows[batched * 2 + 1] = nums[i * 2 + 1]!
            batched++
          } else {
            // The batch first: sums are added in the lines' order (floats round as they come).
            sums.addRows(mem, starts, ends, rows, batched)
            fast += batched
            batched = 0
            sink(mem, ls, nl)
          }
        }
        sums.addRows(mem, starts, ends, rows, batched)
        fast += batched
      }
    }
  }
  // The engine is told the newlines as the splitter passes them (see countsNewlines below).
  let told = 0
  for await (const c of chunks) {
    const b = Buffer.from(c.buffer, c.byteOffset, c.byteLength)
    if (blocks) split.pushBlock(b, sink, block)
    else split.push(b, sink)
    ctx.newlines?.(split.lines - told)
    told = split.lines
  }
  split.end(sink)
  sums.flush()
  // How many lines the WebAssembly fast path decided on its own (the rest went the JS way): a
  // change in the scanner's output that silently sends every line the slow way shows here.
  ctx.report({ fastLines: fast })
  if (blocks) spare.push(blocks)
}

// Counts its input's newlines itself (ctx.newlines): the engine does not scan the bytes again.
mapBytes.countsNewlines = true
// Keeps nothing of a chunk once it asks for the next (the block scanner copies lines, KeyedSums
// keys, the splitter an unfinished line): the engine may read every chunk into one buffer.
mapBytes.reusesChunks = true

export const combine = sumRows

export function reduce(key: string, values: Iterable<Pair>, _params: unknown, emit: Emit): void {
  let n = 0
  let sum = 0
  for (const v of values) {
    n += v[0]
    sum += v[1]
  }
  emit(key, [n, sum])
}
