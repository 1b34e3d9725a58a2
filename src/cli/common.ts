// Shared plumbing for the command-line tools (ddb, ddfs, disco, inferno, analytics): one-line
// coded errors, exit statuses 0/1/2, `--version`, size units, bare file names, the progress line.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { DiscoError } from '../errors.js'

/** The package version (package.json), what every tool's `--version` prints. */
export const PACKAGE_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return '0.0.0'
  }
})()

const UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
}

/**
 * Parses a size the same way in every tool: `KB`/`MB`/`GB`/`TB` are powers of 1000,
 * `KiB`/`MiB`/`GiB`/`TiB` powers of 1024, `B` bytes (case-insensitive; decimals allowed). A plain
 * number is in `plainUnit` (default `MiB`). CLI_USAGE otherwise.
 *
 * @example
 * parseSize('64MB', '-S')  // 64000000
 * parseSize('64MiB', '-S') // 67108864
 * parseSize('64', '-S')    // 67108864 (a plain number is MiB)
 */
export function parseSize(text: string, what: string, plainUnit = 'MiB'): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]i?b|b)?$/i.exec(text.trim())
  if (!m) throw usageError(`${what}: expected a size like 64MiB, 512KB or 1GB (KB/MB/GB = 1000^n, KiB/MiB/GiB = 1024^n), found ${JSON.stringify(text)}`)
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? plainUnit).toLowerCase()]!)
}

/**
 * Applies the conventions every tool shares to a commander program: `-V, --version` (the package
 * version), a global `--no-progress`, and usage errors with the CLI_USAGE code.
 *
 * @example
 * const program = productProgram(new Command('ddfs'))
 */
export function productProgram(program: Command, versionFlags = '-V, --version'): Command {
  program.version(PACKAGE_VERSION, versionFlags, 'print the version')
  if (!program.options.some((o) => o.long === '--no-progress')) {
    program.addOption(new Option('--no-progress', 'never draw a progress line (drawn only on a terminal anyway)'))
  }
  program.hook('preAction', () => {
    if (program.opts().progress === false) progressEnabled = false
  })
  return program
}

let progressEnabled = true
let active: Progress | undefined

/**
 * Writes results to stdout; on a terminal the live progress line is cleared first, so results and
 * progress never share a line.
 */
export function writeOut(text: string | Uint8Array): boolean {
  active?.clear()
  return process.stdout.write(text)
}

/** Exit status for a failure: 2 usage errors, 1 everything else. */
export function exitStatusFor(code: string): number {
  return code === 'CLI_USAGE' ? 2 : 1
}

/**
 * Standard output cannot be written (its reader went away, or the device is full): one coded
 * line on stderr and exit status 1, at once (nothing more can reach the reader).
 */
function stdoutFailed(tool: string, e: NodeJS.ErrnoException): never {
  const code = e.code ?? 'EIO'
  const why = code === 'EPIPE' ? 'output closed (the reading end of the pipe exited)' : `cannot write to standard output: ${e.message}`
  process.stderr.write(`${tool}: error IO_${code}: ${why}\n`)
  process.exit(1)
}

/** Prints `error CODE: message` to stderr (the stack only with DISCO_DEBUG=1) and returns the exit status. */
export function reportError(tool: string, e: unknown): number {
  if (e instanceof DiscoError) {
    process.stderr.write(`${tool}: error ${e.code}: ${e.message}\n`)
    if (process.env.DISCO_DEBUG === '1' && e.stack) process.stderr.write(e.stack + '\n')
    return exitStatusFor(e.code)
  }
  const err = e as NodeJS.ErrnoException
  if (err && typeof err === 'object' && err.code === 'EPIPE') stdoutFailed(tool, err)
  if (err && typeof err === 'object' && typeof err.code === 'string' && 'syscall' in err) {
    // File-system mistakes (missing file, permission) are user errors, not crashes.
    process.stderr.write(`${tool}: error IO_${err.code}: ${err.message}\n`)
    return 1
  }
  process.stderr.write(`${tool}: internal error: ${(e as Error)?.stack ?? String(e)}\n`)
  return 1
}

/**
 * Runs a commander program: parses argv, awaits the action, maps errors to one stderr line and an
 * exit status. Usage errors (unknown option, missing argument) exit 2 with commander's message.
 *
 * @example
 * await runCli('ddb', program) // `ddb: error DDB_BAD_MAGIC: ...` and exit 1 on a bad file
 */
export async function runCli(tool: string, program: Command, argv: string[] = process.argv, opts: { helpWhenEmpty?: boolean } = {}): Promise<void> {
  // Parser mistakes (unknown command or option, missing argument) get the CLI_USAGE code too.
  const output = {
    writeErr: (s: string) => process.stderr.write(s.startsWith('error:') ? `${tool}: error CLI_USAGE:${s.slice('error:'.length)}` : s),
  }
  const configure = (cmd: Command): void => {
    cmd.exitOverride()
    cmd.configureOutput(output)
    for (const sub of cmd.commands) configure(sub)
  }
  configure(program)
  // Any failure to write standard output is one coded line and exit status 1, never a stack
  // trace: a closed pipe (`| head` that exits early) is IO_EPIPE, `> /dev/full` is IO_ENOSPC.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { stdoutFailed(tool, e) })
  // No arguments at all: the help, on stderr, and exit status 2 (a usage mistake) — except for a
  // command whose defaults are the whole point (`npm run demo`), which passes helpWhenEmpty: false.
  if (argv.length <= 2 && opts.helpWhenEmpty !== false) {
    process.stderr.write(program.helpInformation())
    process.exitCode = 2
    return
  }
  try {
    await program.parseAsync(argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2
      return
    }
    process.exitCode = reportError(tool, e)
  }
}

/** A usage mistake the parser cannot see (conflicting flags, bad JSON in an option). */
export function usageError(message: string): DiscoError {
  return new DiscoError('CLI_USAGE', message)
}

/**
 * The one live progress line of every tool, on stderr, drawn only on a terminal (and not with
 * `--no-progress`), redrawn at most every 100 ms, cut to the terminal width. With a known total it
 * shows a bar that stays below 100 % until `done()`; results written through writeOut clear it
 * first.
 *
 * @example
 * const p = new Progress('chunk'); p.update(bytesRead, totalBytes, '12 chunks'); p.done()
 */
export class Progress {
  private last = 0
  private drawn = false
  private readonly enabled: boolean
  private readonly started = Date.now()

  constructor(private readonly label: string, enabled: boolean = Boolean(process.stderr.isTTY)) {
    this.enabled = enabled && progressEnabled
  }

  /** The line for `done` of `total` (a counter when the total is unknown), cut to `width`. */
  static format(label: string, done: number, total: number | undefined, extra: string, secs: number, width: number): string {
    let line: string
    if (total !== undefined && total > 0) {
      // 100 % only when finished: done() clears the line, so the bar never claims it early.
      const frac = Math.min(0.99, done / total)
      const cells = 24
      const fill = Math.floor(frac * cells)
      line = `${label} [${'#'.repeat(fill)}${'.'.repeat(cells - fill)}] ${Math.floor(frac * 100)}% ${extra} ${secs.toFixed(1)}s`
    } else {
      line = `${label} ${done} ${extra} ${secs.toFixed(1)}s`
    }
    return line.length > width - 1 ? line.slice(0, Math.max(0, width - 2)) + '…' : line
  }

  /** Redraws the line: a bar when `total` is known, else a counter; `extra` is appended. */
  update(done: number, total?: number, extra = ''): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    active = this
    this.drawn = true
    const line = Progress.format(this.label, done, total, extra, (now - this.started) / 1000, process.stderr.columns || Infinity)
    process.stderr.write(`\r\x1b[2K${line}`)
  }

  /** Clears the line (it is redrawn by the next update). */
  clear(): void {
    if (this.enabled && this.drawn) process.stderr.write('\r\x1b[2K')
    this.drawn = false
    this.last = 0
  }

  /** Clears the line for good. */
  done(): void {
    this.clear()
    if (active === this) active = undefined
  }
}

/**
 * The same rule for bare names in every verb: a bare argument (no `/`, no URL scheme) names a tag.
 * When that tag does not exist but a file of that name does, the mistake is explained:
 * CLI_BARE_FILE_NAME "write ./NAME to read the file".
 *
 * @example
 * await checkBareName('app.ndjson', (t) => ddfs.exists(t)) // throws when only the file exists
 */
export async function checkBareName(arg: string, tagExists: (tag: string) => Promise<boolean> | boolean): Promise<void> {
  if (arg === '-' || arg.includes('/') || /^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) return
  let exists = false
  try {
    exists = await tagExists(arg)
  } catch { /* not even a valid tag name */ }
  if (exists) return
  if (existsSync(arg) && statSync(arg).isFile()) {
    throw new DiscoError('CLI_BARE_FILE_NAME', `${arg} is read as a tag name, and there is no such tag; write ./${arg} to read the file`)
  }
}
