// A run's summary as plain data: what `inferno --json` prints, one object per rule run.
import type { RunResult } from '../runner.js'

/**
 * The run summary of rule `qname` (`module.rule`): status, totals of every counter (bad, skipped,
 * invalid UTF-8 and too-long lines, dropped records, non-numbers), samples, warnings and the
 * per-blob counts.
 *
 * @example
 * process.stderr.write(JSON.stringify(runSummary('clicks.traffic', await runRule(rule, opts))) + '\n')
 */
export function runSummary(qname: string, r: RunResult): Record<string, unknown> {
  const { read, map, mapErrors, reduceErrors, blobs } = r.stats
  return {
    rule: qname, status: r.status, job: r.jobName, ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
    blobs: r.blobs, ms: r.ms, lines: read.lines, records: read.records, badLines: read.badLines,
    skippedLines: read.skippedLines, invalidUtf8Lines: read.invalidUtf8Lines, tooLongLines: read.tooLongLines, missingKeyParts: map.missingKeyParts,
    nonNumericValues: map.nonNumericValues, rowsOut: r.rowsOut ?? null, mapErrors: mapErrors.errors, reduceErrors: reduceErrors.errors,
    badSample: read.badSample, errorSample: [...mapErrors.errorSample, ...reduceErrors.errorSample], warnings: r.warnings, perBlob: blobs,
  }
}
