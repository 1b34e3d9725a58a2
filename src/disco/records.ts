// The encoding of intermediate and result records, in one place: one `[key, value]` pair per
// line as JSON (NDJSON). Map outputs, spilled runs, reduce inputs and results all go through
// encodePair / decodePair, so a different (e.g. binary) format replaces this module only.
import { DiscoError } from '../errors.js'

/** One `[key, value]` NDJSON line (without newline). Throws DISCO_BAD_KEY for a non-string key. */
export function encodePair(key: string, value: unknown): string {
  if (typeof key !== 'string') throw new DiscoError('DISCO_BAD_KEY', `keys must be strings, found ${typeof key} ${String(key).slice(0, 40)}`)
  const v = JSON.stringify(value)
  return `[${JSON.stringify(key)},${v === undefined ? 'null' : v}]`
}

/** Decodes one `[key, value]` line; `where` names the file for the error. */
export function decodePair(line: string, where: string): [string, unknown] {
  let pair: unknown
  try {
    pair = JSON.parse(line)
  } catch {
    throw new DiscoError('DISCO_BAD_RECORD', `expected a [key, value] JSON line in ${where}, found ${JSON.stringify(line.slice(0, 80))}`)
  }
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
    throw new DiscoError('DISCO_BAD_RECORD', `expected a [key, value] JSON line in ${where}, found ${JSON.stringify(line.slice(0, 80))}`)
  }
  return pair as [string, unknown]
}

