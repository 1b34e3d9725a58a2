// Executing one rule's map/reduce: the shared job pieces and the in-process ("inline") engine.
import type { Params, ResultRow, Rule } from './rule.js'
import { addOversized, createLineReader, mergeReadStats, newReadStats, type ReadStats } from './readers.js'
import { DEFAULT_MAX_LINE, type LineOptions } from '../ddfs/index.js'
import { compareRows, decodeKey, encodeKey, keysetMap, keysetReduce, newErrorStats, SumCombiner, type ErrorStats } from './keyset.js'
import type { BlobRef } from './tags.js'
import type { InfernoStore } from './store.js'
import { crc32 } from '../util/crc32.js'

/** CRC-32 of a text's UTF-8 bytes (the one implementation, in util). */
export { crc32 }

/**
 * The partition of an encoded key (section 2.4): the rule's function (given the key as JSON text),
 * else crc32(key) mod n. Placement never changes the result.
 */
export function partitionOf(rule: Rule, key: string, partitions: number): number {
  const p = rule.partitionFunction ? rule.partitionFunction(JSON.stringify(decodeKey(key)), partitions) : crc32(key) % partitions
  return Number.isInteger(p) && p >= 0 && p < partitions ? p : ((Math.trunc(p) % partitions) + partitions) % partitions
}

/** Counters of one job. */
export interface JobStats {
  read: ReadStats
  mapErrors: ErrorStats
  reduceErrors: ErrorStats
  blobsDone: number
}

/** Fresh counters of one job. @example newJobStats().blobsDone // 0 */
export function newJobStats(): JobStats {
  return { read: newReadStats(), mapErrors: newErrorStats(), reduceErrors: newErrorStats(), blobsDone: 0 }
}

/** One job input: a stored blob, or a URL (`raw://…` or a store URL). */
export type JobInput = BlobRef

/** What a map task needs to know. */
export interface MapContext {
  readonly rule: Rule
  readonly params: Params
  readonly debug?: ((msg: string) => void) | undefined
}

/**
 * Runs the map of one input blob: reader → keyset map (or the rule's map function) → combiner when
 * the default reduce is used. Calls `emit` with (encoded key, values).
 *
 * @example
 * await mapBlob({ rule, params: {} }, store.readLines(blob), (k, v) => pairs.push([k, v]), stats)
 */
export async function mapBlob(ctx: MapContext, lines: AsyncIterable<string> | Iterable<string>,
  emit: (keyJson: string, values: unknown[]) => void, stats: JobStats): Promise<void> {
  const { rule, params } = ctx
  const readStats = newReadStats()
  const reader = createLineReader({ kind: rule.mapInputStream, csvFields: rule.csvFields, dialect: rule.csvDialect }, readStats)
  const combiner = rule.combiner && !rule.reduceFunction && !rule.mapFunction ? new SumCombiner() : undefined
  const out = combiner ? (k: string, v: unknown[]) => combiner.add(k, v) : emit
  const hooks = { errors: stats.mapErrors, debug: ctx.debug }
  const one = (parts: Record<string, unknown>) => {
    if (rule.mapFunction) {
      try {
        for (const [key, values] of rule.mapFunction(parts, params)) out(encodeKey(key), values)
      } catch (e) {
        stats.mapErrors.errors++
        if (stats.mapErrors.errorSample.length < 5) stats.mapErrors.errorSample.push(`map error: ${(e as Error).message}`)
      }
    } else {
      keysetMap(rule, parts, params, out, hooks)
    }
  }
  rule.mapInitFunction?.(params)
  for await (const line of lines) {
    reader.push(line, one)
    if (combiner && combiner.size > 100_000) for (const [k, v] of combiner.drain()) emit(k, v)
  }
  reader.end(one)
  if (combiner) for (const [k, v] of combiner.drain()) emit(k, v)
  mergeReadStats(stats.read, readStats)
  stats.blobsDone++
}

/**
 * Runs the reduce of one partition over its (encoded key, values) pairs, already sorted by key:
 * the keyset reduce, or the rule's own reduce function (`init`: call reduceInitFunction first).
 *
 * @example
 * [...reducePartition(rule, {}, [[encodeKey(['_default', 'a']), [1]]], stats)] // [[['_default', 'a'], [1]]]
 */
export function reducePartition(rule: Rule, params: Params, pairs: Iterable<readonly [string, readonly unknown[]]>,
  stats: JobStats, debug?: (msg: string) => void, init = true): Iterable<ResultRow> {
  if (init) rule.reduceInitFunction?.(params)
  if (rule.reduceFunction) {
    const decoded = (function* () {
      for (const [k, v] of pairs) yield [decodeKey(k), [...v]] as ResultRow
    })()
    return rule.reduceFunction(decoded, params)
  }
  return keysetReduce(rule, pairs, params, { errors: stats.reduceErrors, debug })
}

/**
 * The groups of a partition as (encoded key, values) pairs in key order (Q2).
 *
 * @example
 * sortedPairs(new Map([['b\u0000', [[1]]], ['a\u0000', [[2]]]])) // [['a\u0000', [2]], ['b\u0000', [1]]]
 */
export function sortedPairs(groups: Map<string, unknown[][]>): [string, unknown[]][] {
  const out: [string, unknown[]][] = []
  for (const k of [...groups.keys()].sort()) for (const v of groups.get(k)!) out.push([k, v])
  return out
}

/** Options of the inline engine. */
export interface InlineOptions extends MapContext {
  readonly store: InfernoStore
  readonly inputs: readonly JobInput[]
  readonly partitions: number
  readonly stats: JobStats
  readonly onBlob?: (() => void) | undefined
  /** Longest input line in bytes (default 64 MiB); longer lines are counted as bad lines. */
  readonly maxRecordSize?: number | undefined
}

/**
 * The in-process engine: maps every input, partitions by key, sorts each partition by key and
 * reduces it. Returns each partition's rows, each in key order (merge them with mergeRows).
 *
 * @example
 * const parts = await runInline({ rule, params: {}, store, inputs, partitions: 2, stats: newJobStats() })
 */
export async function runInline(o: InlineOptions): Promise<ResultRow[][]> {
  const parts = Array.from({ length: o.partitions }, () => new Map<string, unknown[][]>())
  const emit = (k: string, v: unknown[]) => {
    const m = parts[partitionOf(o.rule, k, o.partitions)]!
    const list = m.get(k)
    if (list) list.push(v)
    else m.set(k, [v])
  }
  for (const input of o.inputs) {
    const oversized = { count: 0, sample: [] as string[] }
    const max = o.maxRecordSize ?? DEFAULT_MAX_LINE
    const lines: LineOptions = {
      maxLine: max,
      onTooLong: (lineNo, seen) => {
        if (oversized.count++ < 5) oversized.sample.push(`line ${lineNo} (${seen}+ bytes)`)
      },
    }
    await mapBlob(o, o.store.readLines(input, lines), emit, o.stats)
    addOversized(o.stats.read, oversized)
    o.onBlob?.()
  }
  return parts.map((groups) => {
    const rows = [...reducePartition(o.rule, o.params, sortedPairs(groups), o.stats, o.debug)]
    // Post-processors may rename keys: keep each partition in key order for the merge.
    return o.rule.sort ? rows.sort(compareRows) : rows
  })
}
