// The user functions of bench/mr.ts: per-user event count and amount sum over NDJSON events.
// `map` is the plain record form (JSON.parse per line); `mapBytes` is the bytes form a user writes
// for speed: lines split on bytes, only `user` and `amount` looked at by the byte scanner, and the
// count and sum kept per user by KeyedSums on the key's raw bytes (no string, array or pair per
// record); a line the scanner leaves undecided, or an unusual one, goes the record form's way.
// Both give the same pairs to the combiner, which adds in place (sumRows: no new array per call).
// Only the package's public entry: on a cluster this module travels in a job pack, where the
// package's own `#src/…` imports do not resolve.
import { FieldScanner, KeyedSums, LineSplitter, SCAN_OK, sumRows, type Emit, type TaskContext } from 'disco-inferno'

type Pair = [number, number]

export function map(line: string, _params: unknown, emit: Emit): void {
  const e = JSON.parse(line) as { user: string; amount: number }
  emit(e.user, [1, e.amount])
}

export async function mapBytes(chunks: AsyncIterable<Uint8Array>, params: unknown, emit: Emit, ctx: TaskContext): Promise<void> {
  const scanner = new FieldScanner(['user', 'amount'])
  const sums = new KeyedSums(2, emit)
  const split = new LineSplitter(ctx.lines?.maxLine, ctx.lines?.onTooLong)
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
  for await (const c of chunks) split.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength), sink)
  split.end(sink)
  sums.flush()
}

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
