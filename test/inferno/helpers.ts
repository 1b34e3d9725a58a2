// Shared fixtures of the inferno tests: the D1 people data set, the `count` pre-processor, a run helper.
import { defineRule, inlineEngine, MemoryStore, runRule, toArray, withRule, type Parts, type Rule, type RuleOptions, type RunOptions } from 'disco-inferno'

export const D1: [string, string][] = [
  ['Homer', 'Simpson'], ['Manjula', 'Nahasapeemapetilon'], ['Herbert', 'Powell'], ['Ruth', 'Powell'],
  ['Bart', 'Simpson'], ['Apu', 'Nahasapeemapetilon'], ['Marge', 'Simpson'], ['Janey', 'Powell'],
  ['Maggie', 'Simpson'], ['Sanjay', 'Nahasapeemapetilon'], ['Lisa', 'Simpson'], ['Maggie', 'Términos'],
]

/** D1 as JSON lines. */
export const D1_JSON = D1.map(([first, last]) => JSON.stringify({ first, last }))
/** D1c: header-less CSV lines. */
export const D1_CSV = D1.map(([first, last]) => `${first},${last}`)

/** The `count` pre-processor: sets count = 1. */
export function count(parts: Parts): Parts {
  parts.count = 1
  return parts
}

/** A memory store with each list of lines as one blob under the tag (first list = oldest). */
export async function storeWith(tag: string, ...blobs: string[][]): Promise<MemoryStore> {
  const s = new MemoryStore()
  for (const [i, lines] of blobs.entries()) await s.append(tag, [await s.putLines(`blob${i}`, lines)])
  return s
}

/** Runs a rule and captures what the result processor wrote. */
export async function runCapture(rule: Rule, opts: Omit<RunOptions, 'out'> & { store: MemoryStore | RunOptions['store'] }) {
  let out = ''
  const res = await runRule(rule, { engine: inlineEngine, ...opts, out: (s) => { out += s } })
  return { res, out, rows: await toArray(res.results) }
}

/** CRLF lines → text with the given lines. */
export function crlf(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join('')
}

/** A rule as the daemon sees it once loaded from a rules directory: `qualified` is `module.rule`. */
export function daemonRule(qualified: string, opts: Omit<RuleOptions, 'name'> = {}): Rule {
  const name = qualified.slice(qualified.lastIndexOf('.') + 1)
  return withRule(defineRule({ name, sourceTags: ['t'], keyParts: ['a'], ...opts }), { qualifiedName: qualified })
}
