// Seeded pseudo-random numbers for generators, hash seeds, benches and tests (deterministic across
// machines). The one copy of mulberry32 in the project.

/**
 * mulberry32 with u32 outputs: a small, fast PRNG with 32 bits of state.
 *
 * @example
 * const r = mulberry32u32(42); r() // 2581720956
 */
export function mulberry32u32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/**
 * mulberry32 returning floats in [0, 1).
 *
 * @example
 * const r = mulberry32(42); r() // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  const next = mulberry32u32(seed)
  return () => next() / 4294967296
}
