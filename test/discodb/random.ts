// Seeded PRNG for tests (mulberry32).
import { mulberry32 } from '#src/util/random.js'
export function rng(seed: number): { next: () => number; below: (n: number) => number; pick: <T>(a: readonly T[]) => T } {
  const next = mulberry32(seed)
  const below = (n: number): number => Math.floor(next() * n)
  return { next, below, pick: (a) => a[below(a.length)]! }
}
