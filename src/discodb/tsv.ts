// Fast input parsing for the writer: `key<TAB>value` lines straight from bytes into a constructor.
import type { ImageBuilder } from './writer.js'

/**
 * Adds every complete line of `buf[start..end)` to `c` and returns the offset just past the last
 * complete line (so a stream reader keeps the rest for the next chunk). With `final`, a last line
 * without a newline is added too. A line is `key<TAB>value` (the value may contain tabs); a line
 * without a tab adds the key with no value; a trailing `\r` is dropped and empty lines are skipped.
 *
 * @example
 * addTsvLines(c, Buffer.from('a\t1\nb\t2\n'), 0, 8, true) // 8: adds a→1, b→2
 */
export function addTsvLines(c: ImageBuilder, buf: Uint8Array, start: number, end: number, final: boolean): number {
  let line = start
  while (line < end) {
    let nl = buf.indexOf(10, line)
    if (nl < 0 || nl >= end) {
      if (!final) break
      nl = end
    }
    let tab = line
    while (tab < nl && buf[tab] !== 9) tab++
    addLine(c, buf, line, nl, tab < nl ? tab : -1)
    line = nl + 1
  }
  return Math.min(line, end)
}

function addLine(c: ImageBuilder, buf: Uint8Array, start: number, end: number, tab: number): void {
  if (end > start && buf[end - 1] === 13) end--
  if (end === start) return
  if (tab < 0 || tab >= end) c.addRange(buf, start, end, -1, -1)
  else c.addRange(buf, start, tab, tab + 1, end)
}
