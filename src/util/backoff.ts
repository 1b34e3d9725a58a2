// Retry back-off, in one place: Disco's task retries, Inferno's result-processor retries and
// DDFS's compare-and-set loops all draw their delays here.

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Uniform random numbers in [0, 1) (default Math.random; tests pass a seeded one). */
  random?: () => number
  /**
   * Spread the delay uniformly over [floor, step] instead of adding a jitter of up to one base
   * to the step (default: added jitter).
   */
  spread?: boolean
  /** Lower end of a spread delay (default: `baseMs`). */
  floorMs?: number
}

/**
 * The delay before retry number `failures` (1-based): the exponential step min(base·2^(n-1), cap)
 * plus a jitter in [0, base), or, with `spread`, a uniform draw in [floor, step].
 *
 * @example
 * backoffDelay(3, 1000, 60_000, { random: () => 0 })               // 4000
 * backoffDelay(3, 1000, 60_000, { random: () => 0.5, spread: true }) // 2500
 */
export function backoffDelay(failures: number, baseMs: number, capMs: number, opts: BackoffOptions = {}): number {
  const random = opts.random ?? Math.random
  const step = Math.min(baseMs * 2 ** Math.max(0, failures - 1), capMs)
  if (opts.spread) {
    const lo = Math.min(opts.floorMs ?? baseMs, step)
    return lo + random() * (step - lo)
  }
  return step + Math.floor(random() * baseMs)
}
