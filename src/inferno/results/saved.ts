// Saved results (spec §2.8 `save`, Disco 0.5's `disco:results:<job>`): a run keeps its merged rows
// as JSON-record blobs under a tag, so `--process-results` can run the result processor again later.
import { DiscoError } from '../../errors.js'
import type { Params, ResultRow, Rule } from '../rules/rule.js'
import type { InfernoStore } from '../reading/inferno-store.js'
import { keysetResult, mergeRows } from './processors.js'

/** Tag under which a job's saved results are listed (as Disco 0.5). */
export function resultsTagOf(jobName: string): string {
  return `disco:results:${jobName.replace(/[^A-Za-z0-9_\-@:]/g, '_')}`
}

/** Reads one saved result blob (JSON-record lines) back into rows for the rule's keysets. */
async function* blobRows(rule: Rule, store: InfernoStore, blob: readonly string[]): AsyncGenerator<ResultRow> {
  for await (const line of store.readLines(blob)) {
    if (line.trim() === '') continue
    const rec = JSON.parse(line) as Record<string, unknown>
    const ks = rule.keysets[String(rec._keyset)]
    if (!ks) continue
    yield [[String(rec._keyset), ...ks.keyParts.slice(1).map((k) => String(rec[k]))], ks.valueParts.map((v) => rec[v] ?? 0)]
  }
}

/**
 * The saved results under `tag` as rows: each blob is one partition in key order, merged like a
 * live run.
 *
 * @example
 * for await (const [key, values] of await savedRows(rule, store, resultsTagOf('traffic@1'))) …
 */
export async function savedRows(rule: Rule, store: InfernoStore, tag: string): Promise<AsyncIterable<ResultRow>> {
  const parts = (await store.blobs(tag)).map((b) => blobRows(rule, store, b))
  if (rule.sort && rule.sortedResults) return mergeRows(parts)
  return (async function* () {
    for (const p of parts) yield* p
  })()
}

/** Options of processSavedResults. */
export interface ProcessSavedOptions {
  /** Settings and `-P` params: they override the rule's params. */
  readonly params?: Params
  /** Where the default processor writes (default process.stdout). */
  readonly out?: (text: string) => void
}

/**
 * Runs `ruleInitFunction` and the rule's result processor again over the saved results of an
 * earlier job `<rule>@<id>` (`id` given); `INFERNO_JOB_NOT_FOUND` when that job saved none or was
 * purged.
 *
 * @example
 * await processSavedResults(rule, store, '2026-11-20_10:00:00.123', { out: (t) => process.stdout.write(t) })
 */
export async function processSavedResults(rule: Rule, store: InfernoStore, id: string, opts: ProcessSavedOptions = {}): Promise<void> {
  const tag = resultsTagOf(`${rule.name}@${id}`)
  if ((await store.listTags(tag)).indexOf(tag) < 0) {
    throw new DiscoError('INFERNO_JOB_NOT_FOUND', `expected saved results under ${tag}, found none (the job must save its results and not be purged)`)
  }
  const params = { ...rule.params, ...opts.params }
  await rule.ruleInitFunction?.(params)
  const processor = rule.resultProcessor === undefined ? keysetResult : rule.resultProcessor
  const out = opts.out ?? ((t: string) => void process.stdout.write(t))
  if (processor) await processor(await savedRows(rule, store, tag), { rule, params, jobName: id, out, floatFormat: 'g12' })
}
