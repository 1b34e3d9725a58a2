// The bench rule module's text, shared by bench/inferno.ts (the job against DuckDB) and
// bench/map-task.ts (one map task in-process). A helper module, not a benchmark.

/**
 * The bench rule module: clicks.traffic plus a field transform and a post-processor; `traffic_slow`
 * lacks `preprocessReads`. It imports the rule DSL from `disco-inferno/rules`, as the README's rule
 * modules do (every worker thread imports the rule module).
 */
export const RULES = `import { defineKeyset, defineRule, utcDay } from 'disco-inferno/rules'

/** Adds the counters and the UTC day of the event; drops records without a timestamp. */
export function enrich(parts) {
  const ts = parts.ts
  if (typeof ts !== 'number') return undefined
  parts.count = 1
  parts.day = utcDay(ts) // = new Date(ts).toISOString().slice(0, 10), remembered per day
  parts.purchases = parts.event === 'purchase' ? 1 : 0
  parts.signups = parts.event === 'signup' ? 1 : 0
  return parts
}

/** Revenue rounded to cents. */
export function cents(key, values) {
  return [key, [values[0], Math.round(Number(values[1]) * 100) / 100]]
}

const options = (name, reads) => ({
  name,
  sourceTags: ['incoming:clicks'],
  mapInputStream: 'json',
  partsPreprocess: [enrich],
  ...(reads ? { preprocessReads: ['ts', 'event'] } : {}),
  fieldTransforms: { country: (v) => String(v).toLowerCase() },
  partitions: 8,
  keysets: {
    by_day_event: defineKeyset({ keyParts: ['day', 'event'], valueParts: ['count', 'amount'], columnMappings: { count: 'events', amount: 'revenue' }, partsPostprocess: [cents] }),
    by_country_device: defineKeyset({ keyParts: ['country', 'device'], valueParts: ['count', 'purchases', 'amount'], columnMappings: { count: 'events', amount: 'revenue' } }),
    by_referrer: defineKeyset({ keyParts: ['referrer'], valueParts: ['count', 'signups', 'purchases'], columnMappings: { count: 'events' } }),
  },
})

export const rules = [defineRule(options('traffic', true)), defineRule(options('traffic_slow', false))]
`
