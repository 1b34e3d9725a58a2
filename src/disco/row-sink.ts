// The row hand-off between KeyedSums and a task's emit, apart from KeyedSums itself: a pool
// worker's task engine needs only this symbol, not the hash table (loaded by the maps that use it).

/**
 * Where an engine's `emit` may take rows straight from KeyedSums (a property of the emit
 * function under this registered symbol): an ASCII key's bytes `key[start, end)` and its row, the
 * numbers `sums[at, at + n)`, added as the pair `(key, [numbers])` would be, without the key
 * string, the array or the combiner's table (keys are unique per flush; the engine's combiner
 * folds a key met again when it sorts). A task's `emit` has it unless a custom partitioner needs
 * the key's text; any other emit gets ordinary pairs.
 */
export const ROW_SINK = Symbol.for('disco-inferno.rowSink')

/** The function under {@link ROW_SINK}. */
export type RowSink = (key: Uint8Array, start: number, end: number, sums: Float64Array, at: number, n: number) => void
