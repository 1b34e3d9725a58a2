// `npm run fuzz -- [--seconds N] [--target NAME]... [--seed S] [--json]`: fuzzes the DiscoDB reader,
// the query parser and the NDJSON/CSV readers, coverage-guided (fuzz/engine.ts), sharing the time
// budget between the targets. New corpus inputs go to fuzz/corpus/<target>/ (commit them; the
// test suite replays them); defects and slow inputs go to fuzz/crashes/<target>/ (turn each into
// a regression: fix, then move the file to fuzz/regressions/<target>/). Exit 1 when a defect was found.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Coverage, fuzz, type FuzzReport } from './engine.js'
import { targets } from './targets.js'

/** The repository's fuzz/ directory (this file runs from build/fuzz/). */
export const fuzzDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fuzz')

function usage(msg: string): never {
  process.stderr.write(`fuzz: error CLI_USAGE: ${msg}\n`)
  process.exit(2)
}

function main(argv: string[]): void {
  let seconds = 60
  let seed = Date.now() >>> 0
  let json = false
  const names: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const val = (): string => argv[++i] ?? usage(`${a} needs a value`)
    if (a === '--seconds') seconds = Number(val())
    else if (a === '--seed') seed = Number(val()) >>> 0
    else if (a === '--target') names.push(val())
    else if (a === '--json') json = true
    else usage(`unknown argument ${a}`)
  }
  if (!(seconds > 0)) usage('--seconds: expected a positive number')
  for (const n of names) if (!targets[n]) usage(`--target: expected one of ${Object.keys(targets).join(', ')}, found ${n}`)
  const chosen = (names.length ? names : Object.keys(targets)).map((n) => targets[n]!)
  const cov = new Coverage((url) => url.includes('/dist/'))
  const reports: FuzzReport[] = []
  for (const [i, t] of chosen.entries()) {
    const r = fuzz(t, cov, {
      seconds: seconds / chosen.length, seed: seed + i,
      corpusDir: join(fuzzDir, 'corpus'), crashDir: join(fuzzDir, 'crashes'),
      log: (l) => process.stderr.write(`${l}\n`),
    })
    reports.push(r)
    if (!json) {
      process.stdout.write(`${t.name}: ${r.executions.toLocaleString('en')} executions in ${r.seconds} s, corpus ${r.corpusBefore} → ${r.corpusAfter}, `
        + `${r.features} coverage features, ${r.defects.length} defects, ${r.slow.length} slow\n`)
    }
  }
  cov.close()
  const total = reports.reduce((n, r) => n + r.executions, 0)
  const defects = reports.reduce((n, r) => n + r.defects.length, 0)
  if (json) process.stdout.write(`${JSON.stringify({ name: 'fuzz', seed, seconds, executions: total, defects, targets: reports })}\n`)
  else process.stdout.write(`fuzz: seed ${seed}, ${total.toLocaleString('en')} executions, ${defects} defects\n`)
  process.exitCode = defects > 0 ? 1 : 0
}

main(process.argv.slice(2))
