#!/usr/bin/env node
// The `inferno` executable. An `-i` run on an embedded store starts its worker pool before
// anything else loads, so the threads boot (and import the job functions) on the other cores
// while this one loads the command (commander, settings, rules); the command itself is
// inferno.ts, loaded next.
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { isClusterUrl } from '../cluster/url.js'
import { WorkerPoolExecutor } from '../disco/executor.js'
import { DISCO_JOB_FUNCTIONS } from '../inferno/keyset/job-modules.js'

/**
 * True when a command line looks like an `-i` run on an embedded store (read without the option
 * parser, which loads later). A guess on the safe side: the command decides once it has parsed
 * the options and read the settings, and closes a pool it does not use (a settings file naming
 * a cluster store, a rule module that is not there); a command line it misses runs as before.
 *
 * @example
 * earlyPoolWanted(['node', 'inferno', '-i', 'clicks.traffic'], {}) // true
 * earlyPoolWanted(['node', 'inferno', '-i', 'clicks.traffic', '-q'], {}) // false: nothing runs
 */
export function earlyPoolWanted(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  let immediate = false
  let store = env.DISCO_STORE
  const args = argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--') break
    if (a === '-i' || a === '--immediate-rule' || a.startsWith('--immediate-rule=') || (a.startsWith('-i') && a.length > 2)) immediate = true
    else if (a === '--store') store = args[++i]
    else if (a.startsWith('--store=')) store = a.slice('--store='.length)
    else if (['-q', '--just-query', '-h', '--help', '-V', '--version', '--daemon', '--process-results', '--example-rules', '--pause', '--resume'].includes(a)) return false
  }
  return immediate && !(store !== undefined && isClusterUrl(store))
}

const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : ''
if (import.meta.url === invoked) {
  const pool = earlyPoolWanted(process.argv, process.env) ? new WorkerPoolExecutor().start() : undefined
  // The job functions now (the rule module follows once the command has read the settings): a
  // thread that is up before this thread has loaded the command goes on importing, not waiting.
  pool?.preload([DISCO_JOB_FUNCTIONS])
  const { main } = await import('./inferno.js')
  await main(process.argv, pool)
}
