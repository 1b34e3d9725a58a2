// The API the `inferno` command line and the daemon code against (one import for all of it).
export { defineRule, defineKeyset, withRule, localDay, dayMinus } from './rules/rule.js'
export type {
  Rule, RuleOptions, Keyset, KeysetOptions, Parts, Params, Key, ResultRow, Preprocessor, Postprocessor,
  FieldTransform, ReaderName, CsvDialect, ResultContext, ResultFormat, ResultProcessor, Schedule, Weekday, SourceUrlOptions,
} from './rules/rule.js'
export { loadRules, loadRuleModule, findRules, autorunRules, ruleModuleFiles, restrictKeyset, findRuleByName, enableTsRules } from './rules/lookup.js'
export type { RuleModule, FindOptions } from './rules/lookup.js'
export { runRule, ruleWaves, effectiveParams, jobNameFor, resultsTagOf, memoryJournal } from './runner.js'
export type { RunOptions, RunResult, RunProgress, RunJournal, JournalEntry, RunStage } from './runner.js'
export type { RuleEngine, EngineJob, EngineResult } from './keyset/rule-engine.js'
export { inlineEngine } from './keyset/inline-engine.js'
export { discoEngine, runsOnDisco } from './keyset/disco-engine.js'
export type { DiscoEngineOptions } from './keyset/disco-engine.js'
export { writeCsv, csvLine, keysetHeader, keysetResult, reduceResult, jsonRecord, jsonRecordLine, mergeSorted, mergeRows, toArray, withRetry } from './results/processors.js'
export type { CsvOptions, RetryPolicy } from './results/processors.js'
export { resolveTagPrefixes, dayWindow, collectBlobs, archiveBlobs, archiveTagName, blobRefName, resultTagName } from './reading/tags.js'
export type { BlobRef, InfernoTags, TagOverrides, CollectOptions, TagBlobs } from './reading/tags.js'
export { MemoryStore, ddfsStore, rawLines } from './reading/store.js'
export type { InfernoStore } from './reading/store.js'
export { createRecordReader, readLines, splitCsv, csvQuoteOpen, parseJson, DEFAULT_CSV_RECORD_LINES, DEFAULT_CSV_RECORD_CHARS } from './reading/readers.js'
export type { ReaderOptions, RecordReader } from './reading/readers.js'
/** @deprecated Renamed createRecordReader (it turns lines into records; Disco has its own line reader). */
export { createRecordReader as createLineReader } from './reading/readers.js'
/** @deprecated Renamed RecordReader. */
export type { RecordReader as LineReader } from './reading/readers.js'
export { newReadStats, newJobStats, mergeJobStats, runWarnings } from './results/stats.js'
export type { ReadStats, JobStats, MapCounts, BlobStats, ErrorStats } from './results/stats.js'
export { keysetMap, keysetReduce, SumCombiner, compareKeys, compareRows, decodeKey, encodeKey, keyLabel } from './keyset/map-reduce.js'
export { keyText, coerce, add, sumInto, formatValue } from './rules/values.js'
export type { Num, FloatFormat } from './rules/values.js'
export { mapBlob, mapBytes, ruleFields } from './keyset/blob-tasks.js'
export type { MapContext } from './keyset/blob-tasks.js'
