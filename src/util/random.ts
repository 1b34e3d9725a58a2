// Seeded pseudo-random numbers for generators and tests (deterministic across machines).

/**
 * mulberry32: a small, fast PRNG with 32 bits of state; returns floats in [0, 1).
 *
 * @example
 * const r = mulberry32(42); r() // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
