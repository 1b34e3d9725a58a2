// Inferno settings (spec §10): built-in defaults < settings YAML file < keyword overrides < flags.
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { DiscoError } from '../../errors.js'
import type { RunOptions } from '../runner.js'

/** A settings mapping: the known keys below plus any user parameter (all of it becomes job params). */
export interface InfernoSettings {
  [key: string]: unknown
  /** Disco master; `localhost` means the embedded engine. */
  server: string
  /** Directory of the embedded DDFS store; null: `$DISCO_STORE`, else `./.disco`. */
  ddfs_root: string | null
  /** Where rule modules live (`-y`). */
  rules_directory: string
  /** Directory of the daemon's state files (leases, last run, retries). */
  pid_dir: string
  /** SMTP relay as `host` or `host:port` (port 25 by default). */
  mail_server: string
  /** Sender address of notification e-mails. */
  mail_from: string
  /** PagerDuty Events v2 endpoint (configurable for tests and proxies). */
  pagerduty_url: string
}

/** Built-in defaults, the lowest precedence. Paths are per-user (the original's /var/run needs root). */
export const SETTINGS_DEFAULTS: Readonly<InfernoSettings> = Object.freeze({
  server: 'localhost',
  ddfs_root: null,
  rules_directory: join(process.cwd(), 'rules'),
  pid_dir: join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'inferno'),
  mail_server: 'localhost',
  mail_from: 'inferno@localhost',
  pagerduty_url: 'https://events.pagerduty.com/v2/enqueue',
})

/** The files tried when no `-e` is given, in order. */
export function defaultSettingsFiles(): string[] {
  return [join(homedir(), '.inferno'), '/etc/inferno/settings.yaml']
}

/**
 * The YAML parser, loaded on first use: most runs read no YAML, and every Disco worker thread
 * imports this module through the package entry (loading the parser costs ~45 ms of CPU).
 */
let yamlParse: ((text: string) => unknown) | undefined
function parseYaml(text: string): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse
  return yamlParse(text)
}

/**
 * Parses YAML text that must be a mapping (an empty document is an empty mapping).
 *
 * @example
 * parseYamlMapping('foo: [100, 200, 300,]', '-P') // { foo: [100, 200, 300] }
 */
export function parseYamlMapping(text: string, where: string): Record<string, unknown> {
  let value: unknown
  try {
    value = parseYaml(text)
  } catch (e) {
    throw new DiscoError('INFERNO_SETTINGS_INVALID', `${where}: expected YAML, found a syntax error: ${(e as Error).message.split('\n')[0]}`)
  }
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DiscoError('INFERNO_SETTINGS_INVALID', `${where}: expected a YAML mapping (key: value), found ${Array.isArray(value) ? 'a list' : typeof value}`)
  }
  return value as Record<string, unknown>
}

/** Reads one YAML settings/parameter file (must exist) as a mapping. */
export function readYamlFile(path: string): Record<string, unknown> {
  return parseYamlMapping(readFileSync(path, 'utf8'), path)
}

/** Result of looking for the settings file: its contents, the path used, and warnings to print. */
export interface LoadedSettingsFile {
  path?: string
  values: Record<string, unknown>
  warnings: string[]
}

/**
 * Finds and reads the settings file: `explicit` (`-e`), else `~/.inferno`, else
 * `/etc/inferno/settings.yaml`. A missing explicit file is a warning, not an error (the original
 * falls back to the defaults, CL-01); a file that exists but is not a YAML mapping is an error.
 */
export function loadSettingsFile(explicit?: string | null, candidates: string[] = defaultSettingsFiles()): LoadedSettingsFile {
  if (explicit) {
    if (!existsSync(explicit)) return { values: {}, warnings: [`settings file ${explicit} not found, using the defaults`] }
    return { path: explicit, values: readYamlFile(explicit), warnings: [] }
  }
  for (const p of candidates) if (existsSync(p)) return { path: p, values: readYamlFile(p), warnings: [] }
  return { values: {}, warnings: [] }
}

/**
 * Merges the layers of §10. Each later layer overwrites; a `null`/`undefined` value in a layer only
 * fills a key that is still missing, it never erases a value from a lower layer.
 *
 * @example
 * buildSettings({ file: { server: 'another_server' }, flags: { server: null } }).server // 'another_server'
 */
export function buildSettings(layers: {
  file?: Record<string, unknown>
  overrides?: Record<string, unknown>
  flags?: Record<string, unknown>
  defaults?: Readonly<Record<string, unknown>>
}): InfernoSettings {
  const out: Record<string, unknown> = { ...(layers.defaults ?? SETTINGS_DEFAULTS) }
  for (const layer of [layers.file, layers.overrides, layers.flags]) {
    if (!layer) continue
    for (const [k, v] of Object.entries(layer)) {
      if (v === null || v === undefined) {
        if (!(k in out)) out[k] = null
      } else {
        out[k] = v
      }
    }
  }
  return out as InfernoSettings
}

/**
 * The run options settings imply (the snake_case settings keys become RunOptions): tag and date
 * overrides, source URLs, result tag, `force`, `debug`, `disco_debug`, `just_query`, `no_purge`,
 * `partitions`, `max_record_size` (bytes); the whole mapping becomes the job params.
 *
 * @example
 * await runRule(rule, { ...runOptionsOfSettings(settings), store })
 */
export function runOptionsOfSettings(settings: InfernoSettings): Omit<RunOptions, 'store'> {
  const s = settings as Record<string, unknown>
  const str = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : undefined)
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined)
  const list = (k: string) => (Array.isArray(s[k]) ? (s[k] as unknown[]).map(String) : undefined)
  const partitions = num('partitions')
  const maxRecordSize = num('max_record_size')
  return {
    overrides: { sourceTags: list('source_tags'), dayStart: str('day_start'), dayRange: num('day_range'), dayOffset: num('day_offset') },
    sourceUrls: list('source_urls'),
    resultTag: str('result_tag'),
    force: s.force === true,
    debug: s.debug === true,
    discoDebug: s.disco_debug === true,
    justQuery: s.just_query === true,
    noPurge: s.no_purge === true,
    ...(partitions !== undefined ? { partitions } : {}),
    ...(maxRecordSize !== undefined ? { maxRecordSize } : {}),
    params: settings,
  }
}
