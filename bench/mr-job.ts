// The user functions of bench/mr.ts: per-user event count and amount sum over NDJSON events.
// `map` is the plain record form (JSON.parse per line); `mapBytes` is the bytes form a user writes
// for speed (lines split on bytes, only `user` and `amount` decoded by the byte scanner, JSON.parse
// for lines the scanner leaves undecided), giving the same pairs.
// Only the package's public entry: on a cluster this module travels in a job pack, where the
// package's own `#src/…` imports do not resolve.
import { FieldScanner, LineSplitter, SCAN_OK, type Emit, type TaskContext } from 'disco-inferno'

type Pair = [number, number]

export function map(line: string, _params: unknown, emit: Emit): void {
  const e = JSON.parse(line) as { user: string; amount: number }
  emit(e.user, [1, e.amount])
}

export async function mapBytes(chunks: AsyncIterable<Uint8Array>, _params: unknown, emit: Emit, ctx: TaskContext): Promise<void> {
  const scanner = new FieldScanner(['user', 'amount'])
  const out: unknown[] = []
  const split = new LineSplitter(ctx.lines?.maxLine, ctx.lines?.onTooLong)
  const sink = (b: Buffer, s: number, e: number): void => {
    if (scanner.scan(b, s, e, out) === SCAN_OK) {
      emit(out[0] as string, [1, out[1] as number])
    } else {
      const o = JSON.parse(b.toString('utf8', s, e)) as { user: string; amount: number } // throws for a bad line, as map does
      emit(o.user, [1, o.amount])
    }
  }
  for await (const c of chunks) split.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength), sink)
  split.end(sink)
}

export function combine(_key: string, a: Pair, b: Pair): Pair {
  return [a[0] + b[0], a[1] + b[1]]
}

export function reduce(key: string, values: Iterable<Pair>, _params: unknown, emit: Emit): void {
  let n = 0
  let sum = 0
  for (const v of values) {
    n += v[0]
    sum += v[1]
  }
  emit(key, [n, sum])
}
