// The in-process engine: the whole job in this process (tests, small inputs, memory stores).
import type { EngineJob, EngineResult, RuleEngine } from './rule-engine.js'

/**
 * Runs map, partitioning, sort and reduce in this process; nothing to purge.
 *
 * @example
 * await runRule(rule, { store, engine: inlineEngine })
 */
export const inlineEngine: RuleEngine = {
  async run(job: EngineJob): Promise<EngineResult> {
    // Loaded here: a process that runs its rules on Disco never needs the map code in this thread.
    const { runInline } = await import('./blob-tasks.js')
    const partitions = await runInline({
      rule: job.rule, params: job.params, debug: job.debug, store: job.store, inputs: job.inputs,
      partitions: job.partitions, stats: job.stats, onBlob: job.onBlob, onBytes: job.onBytes, maxRecordSize: job.maxRecordSize,
    })
    return { jobName: job.jobName, partitions, purge: async () => {}, purgeDropsResults: false }
  },
}
