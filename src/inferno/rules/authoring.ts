// The package's rule-module entry, `disco-inferno/rules`: what a rule module uses (the rule DSL,
// day and value helpers, coded errors) without the rest of the package. Every worker thread of a
// run imports the rule module; through this entry that costs a handful of modules instead of the
// whole package entry (all layers, ~100 modules, tens of ms per thread). Same objects as the
// package entry: mixing both in one program is fine.
export { DiscoError, isDiscoError } from '../../errors.js'
export { FatalTaskError } from '../../disco/executor.js'
export { defineRule, defineKeyset, withRule, localDay, dayMinus } from './rule.js'
export type {
  Rule, RuleOptions, Keyset, KeysetOptions, Parts, Params, Key, ResultRow, Preprocessor, Postprocessor, PreprocessOutput, PostprocessOutput,
  FieldTransform, ReaderName, CsvDialect, ResultContext, ResultFormat, ResultProcessor, Schedule, Weekday, SourceUrlOptions,
} from './rule.js'
export { keyText, coerce, add, sumInto, formatValue, utcDay } from './values.js'
export type { Num, FloatFormat } from './values.js'
