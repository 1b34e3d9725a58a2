// `-D` (disco_debug) lines of one task, capped: a task keeps its first DEBUG_LINES_PER_TASK lines
// and counts the rest, so debug mode on a big input stays flat in memory (and in the job's log).

/** Debug lines a map or reduce task passes on with `-D`; the rest are counted, then noted. */
export const DEBUG_LINES_PER_TASK = 1000

/** One task's capped debug sink. */
export interface DebugLines {
  /** Passes `msg` on while under the cap, else counts it. */
  readonly log: (msg: string) => void
  /** Lines counted, not passed on, so far. */
  readonly suppressed: () => number
}

/**
 * Wraps a task's debug sink: the first `limit` lines pass, then one line says the cap is reached,
 * and later lines are only counted (see suppressedNote for the closing line).
 *
 * @example
 * const d = cappedDebug((m) => lines.push(m), 2)
 * d.log('a'); d.log('b'); d.log('c') // lines: a, b, and a note; d.suppressed() === 1
 */
export function cappedDebug(sink: (msg: string) => void, limit = DEBUG_LINES_PER_TASK): DebugLines {
  let passed = 0
  let dropped = 0
  return {
    log: (msg) => {
      if (passed < limit) {
        passed++
        sink(msg)
        return
      }
      if (dropped++ === 0) sink(`debug line limit reached (${limit} per task): further debug lines of this task are counted, not shown`)
    },
    suppressed: () => dropped,
  }
}

/** The closing line of a task that dropped `n` debug lines. */
export function suppressedNote(n: number, limit = DEBUG_LINES_PER_TASK): string {
  return `… ${n} more debug lines suppressed (-D keeps the first ${limit} per task)`
}
