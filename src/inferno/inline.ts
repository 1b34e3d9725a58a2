// The in-process engine: the whole job in this process (tests, small inputs, `engine: inlineEngine`).
import { runInline } from './engine.js'
import { resultLines, type EngineJob, type EngineResult, type RuleEngine } from './runner.js'
import type { BlobRef } from './tags.js'

/** Tag under which a job's saved results are listed (as Disco 0.5). */
export function resultsTagOf(jobName: string): string {
  return `disco:results:${jobName.replace(/[^A-Za-z0-9_\-@:]/g, '_')}`
}

/**
 * Runs map, partitioning, sort and reduce in this process. Saved results become one JSON-record
 * blob per non-empty partition, listed under `disco:results:<job>` until purged.
 *
 * @example
 * await runRule(rule, { store, engine: inlineEngine })
 */
export const inlineEngine: RuleEngine = {
  async run(job: EngineJob): Promise<EngineResult> {
    const partitions = await runInline({
      rule: job.rule, params: job.params, debug: job.debug, store: job.store, inputs: job.inputs,
      partitions: job.partitions, stats: job.stats, onBlob: job.onBlob,
    })
    const resultBlobs: BlobRef[] = []
    const tag = resultsTagOf(job.jobName)
    if (job.save) {
      for (let i = 0; i < partitions.length; i++) {
        if (partitions[i]!.length === 0) continue
        resultBlobs.push(await job.store.putLines(`${job.rule.name}-result-${i}`, resultLines(job.rule, partitions[i]!)))
      }
      await job.store.append(tag, resultBlobs)
    }
    return { partitions, resultBlobs, purge: async () => { if (job.save) await job.store.deleteTag(tag) } }
  },
}
