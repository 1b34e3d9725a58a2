// Example rule of the demo (`npm run demo`): web click/event logs (JSON lines) under dated tags
// `incoming:clicks:<YYYY-MM-DD>`, summarised by several keysets in one scan.
//   inferno -y DIR -i clicks.traffic -S 2026-11-20 -R 3
import { defineKeyset, defineRule, utcDay, type Parts } from '../../rules/authoring.js'

/** Adds the counters and the UTC day of the event; drops records without a timestamp. */
export function enrich(parts: Parts): Parts | undefined {
  const ts = parts.ts
  if (typeof ts !== 'number') return undefined
  parts.count = 1
  parts.day = utcDay(ts) // = new Date(ts).toISOString().slice(0, 10), remembered per day
  parts.purchases = parts.event === 'purchase' ? 1 : 0
  parts.signups = parts.event === 'signup' ? 1 : 0
  return parts
}

export const autorun = true

export const rules = [
  defineRule({
    name: 'traffic',
    sourceTags: ['incoming:clicks'],
    mapInputStream: 'json',
    partsPreprocess: [enrich],
    preprocessReads: ['ts', 'event'], // what enrich reads: the map decodes only the fields the rule uses
    partitions: 8,
    timeDelta: { hours: 1 },
    keysets: {
      by_day_event: defineKeyset({ keyParts: ['day', 'event'], valueParts: ['count', 'amount'], columnMappings: { count: 'events', amount: 'revenue' } }),
      by_country_device: defineKeyset({ keyParts: ['country', 'device'], valueParts: ['count', 'purchases', 'amount'], columnMappings: { count: 'events', amount: 'revenue' } }),
      by_referrer: defineKeyset({ keyParts: ['referrer'], valueParts: ['count', 'signups', 'purchases'], columnMappings: { count: 'events' } }),
    },
  }),
]
