// The bench scripts' command line, parsed one way: `--help` prints the script's usage (the comment
// at the top of its source), and an unknown or malformed option is one coded line and exit status 2
// (as the product's commands do), never a stack trace or an option silently ignored.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { didYouMean } from '#src/util/suggest.js'

/** Modules in bench/ that are helpers of the scripts, not benchmarks (`npm run bench` runs the others). */
export const BENCH_HELPERS: ReadonlySet<string> = new Set(['all.js', 'args.js', 'dataset.js', 'peers.js', 'mr-job.js', 'inferno-rule.js'])

type Options = NonNullable<ParseArgsConfig['options']>
type Config<O extends Options> = { options: O & { help: { type: 'boolean'; short: 'h' } }; strict: true; allowPositionals: false }

/** The comment lines at the top of a script's source, without their `// `. */
export function scriptUsage(file: string): string {
  const lines: string[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('//')) break
    lines.push(line.replace(/^\/\/ ?/, ''))
  }
  return lines.join('\n') + '\n'
}

/**
 * The options of the bench script at `scriptUrl` (its `import.meta.url`) from `argv`, as parseArgs gives
 * them (`{ values }`, from the same `{ options }`); exits with its
 * usage on `--help`/`-h`, and with `bench/NAME: error CLI_USAGE: …` (status 2) on a mistake.
 *
 * @example
 * const { values: opt } = benchArgs(import.meta.url, { options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' } } })
 */
export function benchArgs<const O extends Options>(scriptUrl: string, { options }: { options: O }, argv: string[] = process.argv.slice(2)): { values: ReturnType<typeof parseArgs<Config<O>>>['values'] } {
  const file = fileURLToPath(scriptUrl)
  const config = { options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false } as Config<O>
  let values: ReturnType<typeof parseArgs<Config<O>>>['values']
  try {
    values = parseArgs({ ...config, args: argv }).values
  } catch (e) {
    const msg = (e as Error).message
    const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(msg)
    const text = unknown ? `unknown option ${unknown[1]}${unknown[2]}${didYouMean(unknown[2]!, Object.keys(options)).replace(/mean (\S+)\?/, 'mean --$1?')}`
      : msg.split('\n')[0]!.replace(/\. To specify .*$/, '')
    usageExit(scriptUrl, text)
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(scriptUsage(file))
    process.exit(0)
  }
  return { values }
}

/** Ends the script at `scriptUrl` on a usage mistake: `bench/NAME: error CLI_USAGE: …`, exit status 2. */
export function usageExit(scriptUrl: string, text: string): never {
  process.stderr.write(`bench/${basename(fileURLToPath(scriptUrl), '.js')}: error CLI_USAGE: ${text} (--help lists the options)\n`)
  process.exit(2)
}
