// The seam between running a rule and executing its map/reduce: the engine interface. The runner
// and both engines (in-process, Disco) import it; no engine imports the runner.
import type { Params, ResultRow, Rule } from '../rules/rule.js'
import type { JobStats } from '../results/stats.js'
import type { BlobRef } from '../reading/tags.js'
import type { InfernoStore } from '../reading/inferno-store.js'

/** Executes the map/reduce of one rule over inputs; returns each partition's rows in key order. */
export interface RuleEngine {
  run(job: EngineJob): Promise<EngineResult>
}

/** One job handed to an engine. */
export interface EngineJob {
  readonly rule: Rule
  readonly jobName: string
  readonly store: InfernoStore
  readonly inputs: readonly BlobRef[]
  readonly partitions: number
  readonly params: Params
  readonly stats: JobStats
  readonly debug?: ((msg: string) => void) | undefined
  readonly onBlob?: (() => void) | undefined
  /** Lines read so far (engines that count elsewhere report it here). */
  readonly onRecords?: ((lines: number) => void) | undefined
  /** Stored input bytes read so far (for progress against InfernoStore.blobSize). */
  readonly onBytes?: ((bytes: number) => void) | undefined
  /** The map phase is over and the reduce phase has begun (engines with phases: Disco's). */
  readonly onReduce?: (() => void) | undefined
  /** Longest input line in bytes (default 64 MiB); a longer line is a counted bad line. */
  readonly maxRecordSize?: number | undefined
}

/** What an engine gives back. */
export interface EngineResult {
  /** The engine's name of the job (Disco's `<rule>@<id>`). */
  readonly jobName: string
  /** Rows of each partition, each in key order (re-iterable). */
  readonly partitions: readonly (Iterable<ResultRow> | AsyncIterable<ResultRow>)[]
  /** Frees job data (a no-op for engines that keep nothing). */
  purge(): Promise<void>
  /** True when purge makes `partitions` unreadable (job data in the store). */
  readonly purgeDropsResults: boolean
}
