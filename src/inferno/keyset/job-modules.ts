// Which modules a Disco worker imports to run a rule's jobs, named without loading them (so a
// command can start its worker pool and have the threads import these first).

/** The job functions Disco workers load by path (disco-job-functions.ts). */
export const DISCO_JOB_FUNCTIONS = new URL('./disco-job-functions.js', import.meta.url).pathname

/**
 * What a pool thread imports to run the jobs of a rule module: the job functions and the rule
 * module itself (for WorkerPoolExecutor.preload, before the rule's inputs are selected).
 *
 * @example
 * pool.start().preload(discoJobModules('/abs/rules/clicks.js'))
 */
export function discoJobModules(ruleModulePath: string): string[] {
  return [DISCO_JOB_FUNCTIONS, ruleModulePath]
}
