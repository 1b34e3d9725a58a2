// The user functions of bench/mr.ts: per-user event count and amount sum over NDJSON events.
import type { Emit } from 'disco-inferno'

type Pair = [number, number]

export function map(line: string, _params: unknown, emit: Emit): void {
  const e = JSON.parse(line) as { user: string; amount: number }
  emit(e.user, [1, e.amount])
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
