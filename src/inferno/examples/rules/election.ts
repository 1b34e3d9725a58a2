// Example rule: 2012 US presidential campaign contributions (the original's doc/election.rst and
// example_rules/election.py; spec IN-06). The real data is the FEC file P00000001-ALL.txt; a small
// sample `election.csv` is written by `inferno --example-rules DIR`. Load and run:
//   ddfs chunk gov:chunk:presidential_campaign_finance:2012-03-19 DIR/election.csv
//   inferno -y DIR -i election.presidential_2012              # both keysets
//   inferno -y DIR -i election.presidential_2012.by_candidate # one keyset
import { defineKeyset, defineRule, type Key, type Parts } from '../../rules/authoring.js'

/** The 16 columns of the FEC contributions file, in file order. */
export const FEC_FIELDS = [
  'cmte_id', 'cand_id', 'cand_nm', 'contbr_nm', 'contbr_city', 'contbr_st', 'contbr_zip', 'contbr_employer',
  'contbr_occupation', 'contb_receipt_amt', 'contb_receipt_dt', 'receipt_desc', 'memo_cd', 'memo_text', 'form_tp', 'file_num',
] as const

/** Candidates still in the race (Obama, Romney, Santorum, Gingrich, Paul). */
const ACTIVE = new Set(['P80003338', 'P80003353', 'P20002721', 'P60003654', 'P80000748'])

/** Keeps active candidates only; this also drops the header line (its cand_id is "cand_id"). */
export function filterCandidates(parts: Parts): Parts | undefined {
  return ACTIVE.has(String(parts.cand_id)) ? parts : undefined
}

/** Every contribution counts once. */
export function count(parts: Parts): Parts {
  parts.count = 1
  return parts
}

/** Runs of non-word characters become one space; trimmed and lower-cased ("Obama, Barack" → "obama barack"). */
export function alphanumeric(value: unknown): string {
  return String(value).replace(/[^A-Za-z0-9_]+/g, ' ').trim().toLowerCase()
}

/**
 * The original attached this HAVING-style filter at rule level next to `keysets`, where Inferno
 * silently ignored it (Q5). defineRule now refuses that combination, so it is exported unused, to
 * keep the example's output (IN-06) as documented. Attach it to `by_occupation` to apply it.
 */
export function* occupationCountFilter(key: Key, values: unknown[]): Generator<[Key, unknown[]]> {
  if (Number(values[0]) > 1000) yield [key, values]
}

export const autorun = false

export const rules = [
  defineRule({
    name: 'presidential_2012',
    sourceTags: ['gov:chunk:presidential_campaign_finance'],
    mapInputStream: 'csv',
    csvFields: FEC_FIELDS,
    csvDialect: 'excel',
    fieldTransforms: { cand_nm: alphanumeric, contbr_occupation: alphanumeric },
    partsPreprocess: [filterCandidates, count],
    partitions: 2,
    keysets: {
      by_candidate: defineKeyset({
        keyParts: ['cand_nm'],
        valueParts: ['count', 'contb_receipt_amt'],
        columnMappings: { cand_nm: 'candidate', contb_receipt_amt: 'amount' },
      }),
      by_occupation: defineKeyset({
        keyParts: ['contbr_occupation', 'cand_nm'],
        valueParts: ['count', 'contb_receipt_amt'],
        columnMappings: { count: 'count_occupation_candidate', contbr_occupation: 'occupation', cand_nm: 'candidate', contb_receipt_amt: 'amount' },
      }),
    },
  }),
]
