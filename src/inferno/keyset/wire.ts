// Reduce outputs of an Inferno job on Disco as JSON values: bigints tagged on the way out of a
// reduce task, revived where the engine reads the results (apart from the job functions, so the
// process that reads results does not load the map code).

/**
 * Reduce-side values on the wire: bigints tagged, revived by the engine when reading results.
 *
 * @example
 * reduceWire([1, 2n ** 64n]) // [1, { $bigint: '18446744073709551616' }]
 */
export function reduceWire(values: readonly unknown[]): unknown[] {
  return values.map((v) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v))
}

/**
 * Revives tagged bigints of reduceWire.
 *
 * @example
 * fromReduceWire([1, { $bigint: '18446744073709551616' }]) // [1, 18446744073709551616n]
 */
export function fromReduceWire(values: unknown): unknown[] {
  if (!Array.isArray(values)) return [values]
  return values.map((v) => (v !== null && typeof v === 'object' && typeof (v as { $bigint?: unknown }).$bigint === 'string'
    ? BigInt((v as { $bigint: string }).$bigint) : v))
}
