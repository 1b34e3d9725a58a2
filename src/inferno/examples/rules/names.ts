// Example rules: counting names (the original's example_rules/names.py; spec IN-01 … IN-05).
// Data: `names.json` (12 people, JSON lines) and `names.csv` (the same, `first,last`), written by
// `inferno --example-rules DIR`. Load them with
//   ddfs chunk example:chunk:users DIR/names.json
//   ddfs chunk example:csv:users DIR/names.csv
// then run e.g. `inferno -y DIR -i names.last_names_json`.
import { defineKeyset, defineRule, type Parts } from '../../rules/authoring.js'

/** Rule-level pre-processor: every record counts once. */
export function count(parts: Parts): Parts {
  parts.count = 1
  return parts
}

/** Keyset-level pre-processor: runs after `count`, so each record counts twice (IN-02). */
export function countAgain(parts: Parts): Parts {
  parts.count = Number(parts.count ?? 0) + 1
  return parts
}

export const autorun = false

export const rules = [
  // IN-02: last,count / Nahasapeemapetilon,6 / Powell,6 / Simpson,10 / Términos,2
  defineRule({
    name: 'last_names_json',
    sourceTags: ['example:chunk:users'],
    mapInputStream: 'json',
    partsPreprocess: [count],
    partitions: 2,
    keysets: {
      last_name_keyset: defineKeyset({ keyParts: ['last'], valueParts: ['count'], partsPreprocess: [countAgain] }),
    },
  }),
  // IN-03: CSV input, same counts as IN-01.
  defineRule({
    name: 'last_names_csv',
    sourceTags: ['example:csv:users'],
    mapInputStream: 'csv',
    csvFields: ['first', 'last'],
    csvDialect: 'excel',
    partsPreprocess: [count],
    keyParts: ['last'],
    valueParts: ['count'],
    partitions: 2,
  }),
  // IN-04: two keysets in one scan; blocks come out ordered by keyset name.
  defineRule({
    name: 'first_and_last_names',
    sourceTags: ['example:chunk:users'],
    mapInputStream: 'json',
    partsPreprocess: [count],
    partitions: 2,
    keysets: {
      last_name_keyset: defineKeyset({ keyParts: ['last'], valueParts: ['count'] }),
      first_name_keyset: defineKeyset({ keyParts: ['first'], valueParts: ['count'] }),
    },
  }),
  // IN-05: IN-01 plus publishing the results under result:test:integration:<jobname>.
  defineRule({
    name: 'last_names_result',
    sourceTags: ['example:chunk:users'],
    mapInputStream: 'json',
    partsPreprocess: [count],
    keyParts: ['last'],
    valueParts: ['count'],
    resultTag: 'result:test:integration',
  }),
]
