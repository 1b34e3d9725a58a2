// Seeded analytics events for the tests: duplicates, out-of-order timestamps, users across shards
// and days, an empty stretch of days, unicode names, long property values and invalid lines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mulberry32 } from '#src/util/random.js'

export const EVENTS = ['signup', 'view', 'add to cart', 'purchase', 'café ☕', '注文', '🎉']
const COUNTRIES = ['US', 'FI', 'DE', 'Ελλάδα', null]
const PLANS = ['free', 'pro', 'team']
/** 2026-10-05 (a Monday), in ms. */
export const T0 = Date.UTC(2026, 9, 5)
const DAY = 86_400_000

export function tempDir(t: { after(fn: () => void): void }, label = 'analytics'): string {
  const d = mkdtempSync(join(tmpdir(), `${label}-`))
  t.after(() => rmSync(d, { recursive: true, force: true }))
  return d
}

function iso(t: number, withMs: boolean): string {
  const s = new Date(t).toISOString()
  return withMs ? s : s.slice(0, 19) + 'Z'
}

/**
 * `files` NDJSON files of seeded events over `days` days starting at `start`, with a gap of
 * empty days [gapFrom, gapTo). Returns the file paths.
 */
export function writeEvents(dir: string, name: string, opts: { seed: number; users: number; files: number; perFile: number; start: number; days: number; gap?: [number, number] }): string[] {
  const rnd = mulberry32(opts.seed)
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!
  const userIds = Array.from({ length: opts.users }, (_, i) => (i % 7 === 3 ? `ü-${i}-ユーザー` : i % 5 === 0 ? i : `user${i}`))
  const paths: string[] = []
  for (let f = 0; f < opts.files; f++) {
    const lines: string[] = []
    for (let i = 0; i < opts.perFile; i++) {
      const r = rnd()
      if (r < 0.02) { lines.push('{not json'); continue }
      if (r < 0.03) { lines.push(JSON.stringify({ event: 'view', time: opts.start })); continue }
      if (r < 0.04) { lines.push(JSON.stringify({ user: 'u-bad', event: 'view', time: '2026-02-30T10:00:00Z' })); continue }
      if (r < 0.05) { lines.push(JSON.stringify({ user: 'u-bad', event: 'view', time: '2026-10-06T10:00:00' })); continue }
      if (r < 0.055) { lines.push(JSON.stringify({ user: 'u-bad', event: '', time: opts.start })); continue }
      if (r < 0.06) { lines.push(''); continue }
      let day = Math.floor(rnd() * opts.days)
      if (opts.gap && day >= opts.gap[0] && day < opts.gap[1]) day = opts.gap[0] - 1 - (day % 3)
      // Coarse times make ties (equal timestamps) common.
      const t = opts.start + day * DAY + Math.floor(rnd() * 48) * 1_800_000
      const user = pick(userIds)
      const ev = rnd() < 0.3 ? EVENTS[Math.floor(rnd() * 3)]! : pick(EVENTS)
      const props: Record<string, unknown> = { plan: pick(PLANS) }
      const c = pick(COUNTRIES)
      if (c !== null) props.country = c
      if (rnd() < 0.1) props.ref = 'https://example.com/' + 'x'.repeat(50) + pick(['a', 'b']) + '€'.repeat(30)
      if (rnd() < 0.05) props.n = Math.floor(rnd() * 3)
      const time = rnd() < 0.5 ? t : iso(t, rnd() < 0.5)
      const line = JSON.stringify({ user, event: ev, time, props })
      lines.push(line)
      if (rnd() < 0.05) lines.push(line) // a duplicate line: a second event
    }
    const p = join(dir, `${name}-${f}.ndjson`)
    writeFileSync(p, lines.join('\n') + '\n')
    paths.push(p)
  }
  return paths
}

export { DAY }

/** A one-batch model of seeded events in a fresh store; returns the store dir and the files. */
export async function seededModel(t: { after(fn: () => void): void }, opts: { users?: number; perFile?: number } = {}): Promise<{ dir: string; files: string[] }> {
  const { openStore, buildModel } = await import('#src/index.js')
  const dir = tempDir(t)
  const files = writeEvents(dir, 'ev', { seed: 11, users: opts.users ?? 80, files: 2, perFile: opts.perFile ?? 1500, start: T0, days: 50, gap: [30, 34] })
  const ddfs = openStore(join(dir, 'store'))
  await ddfs.push('events:seed', files)
  await buildModel(ddfs, { inputs: ['events:seed'], model: 'analytics:model', executor: 'in-process' })
  return { dir, files }
}
