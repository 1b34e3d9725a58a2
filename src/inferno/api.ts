// The API the `inferno` command line and the daemon code against (one import for all of it).
export { defineRule, defineKeyset, withRule, localDay, dayMinus } from './rule.js'
export type {
  Rule, RuleOptions, Keyset, KeysetOptions, Parts, Params, Key, ResultRow, Preprocessor, Postprocessor,
  FieldTransform, ReaderName, CsvDialect, ResultContext, ResultProcessor, Schedule, Weekday, SourceUrlOptions,
} from './rule.js'
export { loadRules, loadRuleModule, findRules, autorunRules, ruleModuleFiles, restrictKeyset, findRuleByName, enableTsRules } from './lookup.js'
export type { RuleModule, FindOptions } from './lookup.js'
export { runRule, ruleWaves, effectiveParams, jobNameFor, setDefaultEngine, resultsTagOf, memoryJournal } from './runner.js'
export type { RunOptions, RunResult, RunProgress, RuleEngine, EngineJob, EngineResult, RunJournal, JournalEntry, RunStage } from './runner.js'
export { inlineEngine } from './inline.js'
export { discoEngine, runsOnDisco } from './disco-engine.js'
export type { DiscoEngineOptions } from './disco-engine.js'
export { writeCsv, csvLine, keysetHeader, keysetResult, reduceResult, jsonRecord, jsonRecordLine, mergeSorted, mergeRows, toArray, withRetry } from './results.js'
export type { CsvOptions, RetryPolicy } from './results.js'
export { resolveTagPrefixes, dayWindow, collectBlobs, archiveBlobs, archiveTagName, blobRefName, resultTagName } from './tags.js'
export type { BlobRef, InfernoTags, TagOverrides, CollectOptions, TagBlobs } from './tags.js'
export { MemoryStore, ddfsStore, rawLines } from './store.js'
export type { InfernoStore } from './store.js'
export { createLineReader, readLines, splitCsv, csvQuoteOpen, parseJson, newReadStats, DEFAULT_CSV_RECORD_LINES, DEFAULT_CSV_RECORD_CHARS } from './readers.js'
export type { ReadStats, ReaderOptions, LineReader } from './readers.js'
export { keysetMap, keysetReduce, SumCombiner, compareKeys, compareRows, decodeKey, encodeKey } from './keyset.js'
export { keyText, coerce, add, sumInto, formatValue } from './values.js'
export type { Num, FloatFormat } from './values.js'
