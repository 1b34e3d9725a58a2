// Example of chained rules (the original's example_rules/chain.py; spec IN-07): the sub-rule
// `__count_names` writes JSON records, which the parent `count_names` reads as its input.
//   ddfs chunk example:chunk:users DIR/names.json
//   inferno -y DIR -i chain.count_names -P 'chain_output: /tmp/count_names.txt'
import { appendFileSync } from 'node:fs'
import { defineRule, type Parts, type ResultProcessor } from '../../rules/authoring.js'

/** Every record counts once. */
export function count(parts: Parts): Parts {
  parts.count = 1
  return parts
}

/**
 * The parent's processor: appends `<key list> <value list>` lines to the file named by the param
 * `chain_output` (default `count_names.txt`). Idempotence is the caller's business here, as in
 * the original.
 */
export const appendToFile: ResultProcessor = async (rows, ctx) => {
  const file = String(ctx.params.chain_output ?? 'count_names.txt')
  const lines: string[] = []
  for await (const [key, values] of rows) lines.push(`${JSON.stringify(key)} ${JSON.stringify(values)}\n`)
  appendFileSync(file, lines.join(''))
}

const countNamesSub = defineRule({
  name: '__count_names',
  sourceTags: ['example:chunk:users'],
  mapInputStream: 'json',
  partsPreprocess: [count],
  keyParts: ['first', 'last'],
  valueParts: ['count'],
  reduceOutputStream: 'json',
  resultProcessor: null,
})

export const autorun = false

export const rules = [
  defineRule({
    name: 'count_names',
    sourceTags: [countNamesSub],
    mapInputStream: 'json',
    keyParts: ['first', 'last'],
    valueParts: ['count'],
    partitions: 2,
    resultProcessor: appendToFile,
    resultTag: 'result:test:integration',
  }),
]
