// Structured logs (pino) for the daemon and long jobs: JSON lines with real levels, or a short
// readable line per entry when the output is a terminal.
import { createRequire } from 'node:module'
import type { Logger, LevelWithSilent } from 'pino'

/** The one pino call made here. */
type PinoFn = (opts: { name: string; level: LevelWithSilent; base: Record<string, unknown> }, dest: { write(line: string): void }) => Logger
/** pino, loaded on first use (~25 ms of start-up for commands that never log). */
let pinoFn: PinoFn | undefined
function pino(opts: Parameters<PinoFn>[0], dest: Parameters<PinoFn>[1]): Logger {
  pinoFn ??= (createRequire(import.meta.url)('pino') as { pino: PinoFn }).pino
  return pinoFn(opts, dest)
}

/** Log levels, lowest first (`silent` logs nothing). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

const NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/**
 * One JSON log line as `HH:MM:SS.mmm LEVEL name: message {extra fields}` (what a terminal shows).
 *
 * @example
 * prettyLine('{"level":50,"time":0,"name":"inferno","msg":"boom"}') // '00:00:00.000 ERROR inferno: boom'
 */
export function prettyLine(json: string): string {
  let e: Record<string, unknown>
  try {
    e = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json.trimEnd()
  }
  const { level, time, name, msg, pid: _pid, hostname: _host, ...rest } = e
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : ''
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : ''
  return `${t} ${NAMES[level as number] ?? String(level)} ${String(name ?? '')}: ${String(msg ?? '')}${extra}`
}

/** Options of createLogger. */
export interface LoggerOptions {
  /** Logger name (the tool). */
  readonly name: string
  /** Lowest level written (default `info`). */
  readonly level?: LogLevel
  /** Readable lines instead of JSON (default: when stderr is a terminal). */
  readonly pretty?: boolean
  /** Where lines go (default stderr). */
  readonly write?: (text: string) => void
}

/**
 * A pino logger writing JSON lines (or pretty lines on a terminal) to stderr or `write`.
 *
 * @example
 * const log = createLogger({ name: 'inferno', level: 'info' })
 * log.error({ rule: 'm.r' }, 'rule failed') // {"level":50,"time":…,"name":"inferno","rule":"m.r","msg":"rule failed"}
 */
export function createLogger(o: LoggerOptions): Logger {
  const pretty = o.pretty ?? Boolean(process.stderr.isTTY)
  const write = o.write ?? ((t: string) => void process.stderr.write(t))
  const dest = { write: (line: string) => write(pretty ? `${prettyLine(line)}\n` : line) }
  return pino({ name: o.name, level: (o.level ?? 'info') as LevelWithSilent, base: { pid: process.pid } }, dest)
}

export type { Logger }
