// A seeded generator of realistic JSON click/event logs for the demo and the benchmark.
import { mulberry32 } from '../../util/random.js'

/** The seeded PRNG of the generator (mulberry32); the same seed gives the same logs everywhere. */
export const seededRandom = mulberry32

/** Picks from `items` with weights `w` (cumulative table built once). */
function weighted<T>(items: readonly T[], w: readonly number[]): (r: number) => T {
  const total = w.reduce((a, b) => a + b, 0)
  const cum: number[] = []
  let s = 0
  for (const x of w) cum.push((s += x) / total)
  return (r) => {
    for (let i = 0; i < cum.length; i++) if (r < cum[i]!) return items[i]!
    return items[items.length - 1]!
  }
}

const EVENTS = weighted(['view', 'click', 'search', 'add_to_cart', 'purchase', 'signup'], [55, 25, 10, 5, 3, 2])
const COUNTRIES = weighted(['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'FI', 'ES'], [30, 12, 10, 8, 9, 7, 6, 6, 2, 10])
const DEVICES = weighted(['mobile', 'desktop', 'tablet'], [58, 36, 6])
const BROWSERS = weighted(['chrome', 'safari', 'firefox', 'edge', 'samsung'], [62, 20, 8, 6, 4])
const REFERRERS = weighted(['google.com', 'direct', 'facebook.com', 'newsletter', 'bing.com', 't.co'], [45, 25, 12, 8, 6, 4])
const SECTIONS = ['/products/', '/blog/', '/help/', '/cart', '/checkout', '/']

/** Options of {@link clickLogLines}. */
export interface ClickLogOptions {
  seed?: number
  /** Day of the events, `YYYY-MM-DD` (UTC). */
  day: string
  /** Stop after about this many bytes of text (lines included whole). */
  bytes: number
  /** One line in this many is corrupt (a truncated object); 0 for none. Default 50 000. */
  badEvery?: number
  /** Lines per yielded buffer (default 2000). */
  batch?: number
}

/**
 * Yields newline-terminated JSON event lines as Buffers until about `bytes` bytes were produced:
 * `{"ts":…,"event":"view","user":"u…","session":"…","country":"US","device":"mobile",
 * "browser":"chrome","page":"/products/17","referrer":"google.com","latency_ms":87,
 * "amount":12.5 (purchases only),"ab":"A"}`. Deterministic for a seed and day.
 *
 * @example
 * for await (const b of clickLogLines({ seed: 1, day: '2026-11-20', bytes: 1e6 })) process.stdout.write(b)
 */
/** Default spacing of the corrupt lines clickLogLines plants: one in 50 000 is cut in half. */
export const PLANTED_BAD_EVERY = 50_000

export async function* clickLogLines(o: ClickLogOptions): AsyncGenerator<Buffer> {
  const rnd = seededRandom((o.seed ?? 42) ^ Date.parse(`${o.day}T00:00:00Z`) / 86_400_000)
  const dayStart = Date.parse(`${o.day}T00:00:00Z`)
  const badEvery = o.badEvery ?? PLANTED_BAD_EVERY
  const batch = o.batch ?? 2000
  let produced = 0
  let n = 0
  while (produced < o.bytes) {
    const lines: string[] = []
    for (let i = 0; i < batch; i++) {
      n++
      const event = EVENTS(rnd())
      const user = Math.floor(rnd() ** 2 * 200_000)
      const section = SECTIONS[Math.floor(rnd() ** 1.5 * SECTIONS.length)]!
      const page = section.endsWith('/') && section !== '/' ? section + Math.floor(rnd() ** 3 * 500) : section
      // Built as text (all values are JSON-safe), much faster than JSON.stringify of an object.
      let line =
        `{"ts":${dayStart + Math.floor(rnd() * 86_400_000)},"event":"${event}","user":"u${user}",` +
        `"session":"s${(user * 7919 + Math.floor(rnd() * 8)).toString(36)}","country":"${COUNTRIES(rnd())}",` +
        `"device":"${DEVICES(rnd())}","browser":"${BROWSERS(rnd())}","page":"${page}","referrer":"${REFERRERS(rnd())}",` +
        `"latency_ms":${Math.floor(20 + rnd() ** 3 * 2000)},"ab":"${rnd() < 0.5 ? 'A' : 'B'}"` +
        (event === 'purchase' ? `,"amount":${Math.round((5 + rnd() ** 2 * 300) * 100) / 100}}` : '}')
      if (badEvery > 0 && n % badEvery === 0) line = line.slice(0, Math.floor(line.length / 2))
      lines.push(line)
    }
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8')
    produced += buf.length
    yield buf
  }
}

/** `count` consecutive days ending at `last` (newest first), as `YYYY-MM-DD`. */
export function daysEndingAt(last: string, count: number): string[] {
  const t = Date.parse(`${last}T00:00:00Z`)
  return Array.from({ length: count }, (_, i) => new Date(t - i * 86_400_000).toISOString().slice(0, 10))
}
