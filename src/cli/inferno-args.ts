// `inferno` flag parsing (spec §9) and the settings they produce (§10). No I/O besides reading -e/-l/--data-file.
import { readFileSync } from 'node:fs'
import { Command, Option, InvalidArgumentError } from 'commander'
import { parseSize, productProgram } from './common.js'
import { LOG_LEVELS, type LogLevel } from '../util/log.js'
import { buildSettings, loadSettingsFile, parseYamlMapping, readYamlFile, type InfernoSettings } from '../inferno/rules/settings.js'

/** Every option of the command line under its settings key; unset flags are `null` (or `false`). */
export interface InfernoOptions {
  server: string | null
  ddfs_root: string | null
  settings_file: string | null
  immediate_rule: string | null
  rules_directory: string | null
  just_query: boolean
  force: boolean
  start_paused: boolean
  disco_debug: boolean
  debug: boolean
  profile: boolean
  source_tags: string[] | null
  source_urls: string[] | null
  result_tag: string | null
  day_start: string | null
  day_range: number | null
  day_offset: number | null
  parameters: Record<string, unknown>[]
  parameter_file: string[]
  data_file: string | null
  example_rules: string | null
  process_results: string | null
  daemon: boolean
  pause: boolean
  resume: boolean
  partitions: number | null
  /** `--max-record`: longest input line in bytes; longer lines are skipped and counted (default 64 MiB). */
  max_record_size: number | null
  progress: boolean | null
  /** `--strict`: warnings (every line bad, nothing out) fail the run. */
  strict: boolean
  /** `--json`: the run summary as one JSON object per rule on stderr. */
  json: boolean
  /** `--format`: results as csv (default), tsv or json lines. */
  format: 'csv' | 'tsv' | 'json'
  /** `--log-level`: the lowest level logged (default info). */
  log_level: LogLevel
}


/** Splits a comma list; `\,` keeps a comma inside an item (`-u 'raw://a\,b,raw://c'`). */
export function splitEscapedList(text: string): string[] {
  const out: string[] = []
  let cur = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\\' && text[i + 1] === ',') {
      cur += ','
      i++
    } else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out.filter((s) => s !== '')
}

function parseDay(v: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v)
  const d = m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!)) : null
  if (!d || d.toISOString().slice(0, 10) !== v) throw new InvalidArgumentError(`expected a date YYYY-MM-DD, found "${v}"`)
  return v
}

function parseInteger(v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`expected an integer, found "${v}"`)
  return Number(v)
}

function collectYaml(v: string, prev: Record<string, unknown>[]): Record<string, unknown>[] {
  try {
    return [...prev, parseYamlMapping(v, '-P')]
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message)
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v]

/** The commander program for `inferno` (flags only; the caller attaches the action). */
export function buildInfernoProgram(): Command {
  const p = productProgram(new Command('inferno'), '-v, --version')
  p.description('Run Inferno rules over logs in DDFS: immediately (-i), as a daemon (--daemon), or write example rules.')
    .helpOption('-h, --help', 'show this help')
    .option('-s, --server <server>', 'Disco master ("localhost" = embedded engine)')
    .option('--store <dir|url>', 'embedded store directory, or nats://host:port[,…][?creds=FILE&tls-ca=FILE] for a cluster (default $DISCO_STORE, else ./.disco)')
    .option('-e, --settings <file>', 'settings YAML file (default ~/.inferno, then /etc/inferno/settings.yaml)')
    .option('-i, --immediate-rule <module.rule[.keyset]>', 'run this rule now and exit')
    .option('-y, --rules-directory <dir>', 'directory of rule modules')
    .option('-q, --just-query', 'print the tags and blobs the rule would read; do not run')
    .option('-f, --force', 'ignore min_blobs (zero blobs still skips)')
    .option('-x, --start-paused', 'start the daemon paused (resume with --resume)')
    .option('-D, --disco-debug', 'verbose map/reduce messages (param disco_debug): the first 1000 lines per task, then a count of the rest')
    .option('-d, --debug', 'print raw reduce rows instead of running the result processor; skip archiving')
    .option('-p, --profile', 'print per-stage timings')
    .option('-t, --source-tags <a,b>', 'override the source tags (no date logic)', splitEscapedList)
    .option('-u, --source-urls <a,b>', 'override the source URLs (escape a comma in a URL as \\,)', splitEscapedList)
    .option('-r, --result-tag <tag>', 'override the result tag')
    .option('-S, --day-start <YYYY-MM-DD>', 'first (newest) day of the date range', parseDay)
    .option('-R, --day-range <n>', 'number of days (0 disables date suffixes)', parseInteger)
    .option('-O, --day-offset <n>', 'days subtracted from the start day', parseInteger)
    .option('-P, --parameters <yaml>', 'extra params as a YAML mapping (repeatable)', collectYaml, [])
    .option('-l, --parameter-file <file>', 'YAML file of extra params (repeatable)', collect, [])
    .option('--data-file <file>', "the file's lines become param data_file")
    .option('--partitions <n>', 'override the number of reduce partitions', parseInteger)
    .option('--max-record <size>', 'longest input line: 1MiB, 500KB (KB/MB = 1000^n, KiB/MiB = 1024^n; plain number = MiB); longer lines are skipped and counted as too long (default 64MiB)', (v) => parseSize(v, '--max-record'))
    .option('--example-rules <dir>', 'create DIR and write the example rule modules into it')
    .option('--process-results <module.rule@jobid>', 're-run the result processor over a finished job')
    .option('--daemon', 'run the daemon: every autorun rule on its schedule')
    .option('--pause', 'pause a running daemon (state directory pid_dir)')
    .option('--resume', 'resume a paused daemon')
    .option('--strict', 'exit 1 when a run has warnings (every line bad, pre-processors dropped every record, 0 rows out)')
    .option('--json', 'print each run summary as one JSON object on stderr')
    .addOption(new Option('--log-level <level>', 'lowest log level written (logs are JSON lines on stderr, readable on a terminal)').choices([...LOG_LEVELS]).default('info'))
    .addOption(new Option('--format <format>', 'results as csv (the original dialect), tsv or json (one record per line)').choices(['csv', 'tsv', 'json']).default('csv'))
  // The original spelled it --example_rules; accept both.
  p.addOption(new Option('--example_rules <dir>').hideHelp())
  return p
}

/** Converts commander's camelCase option bag into the settings-keyed {@link InfernoOptions}. */
export function toInfernoOptions(o: Record<string, unknown>): InfernoOptions {
  const s = (k: string) => (o[k] === undefined ? null : (o[k] as string))
  const n = (k: string) => (o[k] === undefined ? null : (o[k] as number))
  const b = (k: string) => o[k] === true
  return {
    server: s('server'),
    ddfs_root: s('store'),
    settings_file: s('settings'),
    immediate_rule: s('immediateRule'),
    rules_directory: s('rulesDirectory'),
    just_query: b('justQuery'),
    force: b('force'),
    start_paused: b('startPaused'),
    disco_debug: b('discoDebug'),
    debug: b('debug'),
    profile: b('profile'),
    source_tags: (o.sourceTags as string[] | undefined) ?? null,
    source_urls: (o.sourceUrls as string[] | undefined) ?? null,
    result_tag: s('resultTag'),
    day_start: s('dayStart'),
    day_range: n('dayRange'),
    day_offset: n('dayOffset'),
    parameters: (o.parameters as Record<string, unknown>[] | undefined) ?? [],
    parameter_file: (o.parameterFile as string[] | undefined) ?? [],
    data_file: s('dataFile'),
    example_rules: s('exampleRules') ?? s('example_rules'),
    process_results: s('processResults'),
    daemon: b('daemon'),
    pause: b('pause'),
    resume: b('resume'),
    partitions: n('partitions'),
    max_record_size: n('maxRecord'),
    progress: o.progress === false ? false : null,
    strict: b('strict'),
    json: b('json'),
    format: (o.format as InfernoOptions['format'] | undefined) ?? 'csv',
    log_level: (o.logLevel as LogLevel | undefined) ?? 'info',
  }
}

/**
 * Parses an argv (without `node script`) into options, without running anything.
 *
 * @example
 * parseInfernoArgs(['-R', '10', '-t', 'tag1,tag2']).day_range // 10
 */
export function parseInfernoArgs(args: string[]): InfernoOptions {
  const p = buildInfernoProgram().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
  p.parse(args, { from: 'user' })
  return toInfernoOptions(p.opts())
}

/** Keys of {@link InfernoOptions} that are modes of the command line, not settings. */
const MODE_KEYS = new Set(['settings_file', 'parameters', 'parameter_file', 'data_file', 'example_rules', 'process_results', 'daemon', 'pause', 'resume', 'progress', 'strict', 'json', 'format', 'log_level'])

/**
 * The effective settings for a command line (§10): defaults < settings file < `overrides` < flags,
 * then every `-l` file and `-P` mapping merged on top (so `-P 'foo: 1'` shadows a rule keyword
 * `foo`), then `--data-file` lines as `data_file`. Returns warnings to print (missing -e file).
 */
export function settingsFromOptions(
  opts: InfernoOptions,
  overrides: Record<string, unknown> = {},
  candidates?: string[],
): { settings: InfernoSettings; warnings: string[] } {
  const file = loadSettingsFile(opts.settings_file, candidates)
  const flags: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(opts)) {
    if (MODE_KEYS.has(k)) continue
    // Unset booleans are "not given": they never erase a settings-file value.
    flags[k] = v === false ? null : v
  }
  const params: Record<string, unknown> = {}
  for (const f of opts.parameter_file) Object.assign(params, readYamlFile(f))
  for (const m of opts.parameters) Object.assign(params, m)
  if (opts.data_file) params.data_file = readFileSync(opts.data_file, 'utf8').split(/\r?\n/).filter((l) => l !== '')
  const settings = buildSettings({ file: file.values, overrides, flags: { ...flags, ...params } })
  return { settings, warnings: file.warnings }
}
