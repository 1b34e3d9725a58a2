// Shared plumbing for the command-line tools: one-line coded errors, exit statuses, TTY progress.
import { Command, CommanderError } from 'commander'
import { DiscoError } from '../errors.js'

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
  return 70
}

/**
 * Runs a commander program: parses argv, awaits the action, maps errors to one stderr line and an
 * exit status. Usage errors (unknown option, missing argument) exit 2 with commander's message.
 *
 * @example
 * await runCli('ddb', program) // `ddb: error DDB_BAD_MAGIC: ...` and exit 1 on a bad file
 */
export async function runCli(tool: string, program: Command, argv: string[] = process.argv): Promise<void> {
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
 * A single live progress line on stderr, drawn only when stderr is a TTY (quiet when piped),
 * redrawn at most every 100 ms.
 *
 * @example
 * const p = new Progress('chunk'); p.update(done, total, 'MB'); p.done()
 */
export class Progress {
  private last = 0
  private readonly enabled: boolean
  private readonly started = Date.now()

  constructor(private readonly label: string, enabled: boolean = Boolean(process.stderr.isTTY)) {
    this.enabled = enabled
  }

  /** Redraws the line: a bar when `total` is known, else a counter; `extra` is appended. */
  update(done: number, total?: number, extra = ''): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    const secs = ((now - this.started) / 1000).toFixed(1)
    let line: string
    if (total && total > 0) {
      const frac = Math.min(1, done / total)
      const width = 24
      const fill = Math.round(frac * width)
      line = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${extra} ${secs}s`
    } else {
      line = `${this.label} ${done} ${extra} ${secs}s`
    }
    process.stderr.write(`\r\x1b[2K${line}`)
  }

  /** Clears the line. */
  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K')
  }
}
