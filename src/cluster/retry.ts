// Getting through a JetStream leader election. Checked with nats-server 2.9.10 (spec/ecosystem.md
// part B, issue 13): for about 5 s after a server dies JetStream answers "jetstream not enabled",
// and while it is down some short-lived consumers time out. Every adapter call runs through
// `transient()` so such a window costs a few retries instead of failing a task.
import { setTimeout as sleep } from 'node:timers/promises'
import { DiscoError } from '../errors.js'

/** How long one adapter call keeps retrying transient cluster errors before giving up. */
export const TRANSIENT_WINDOW_MS = 30_000

const TRANSIENT = [
  /jetstream (is )?not enabled/i,
  /timeout|timed out/i,
  /no responders/i,
  /\b503\b/,
  /no suitable peers|insufficient resources/i,
  /temporarily unavailable/i,
  /(stream|consumer) is offline|leader/i,
  /cluster (is )?not (yet )?(ready|available)/i,
  /connection (closed|draining)|disconnect|reconnect/i,
  /idle heartbeats? missed|heartbeats_missed/i,
  /ECONNRESET|EPIPE|socket hang up/i,
]

/** True for errors a leader election, a dying server or a reconnect can cause (worth retrying). */
export function isTransient(e: unknown): boolean {
  if (e instanceof DiscoError) return false
  // A JetStream API error's `code` is its JetStream code (10008); the HTTP-like status (503) is `status`.
  const err = e as { name?: string, message?: string, code?: unknown, status?: unknown } | undefined
  const text = `${err?.name ?? ''} ${err?.message ?? String(e)} ${String(err?.code ?? '')} ${String(err?.status ?? '')}`
  return TRANSIENT.some((re) => re.test(text))
}

/** Options of {@link transient}. */
export interface TransientOptions {
  /** Give up after this long (default {@link TRANSIENT_WINDOW_MS}). */
  windowMs?: number
  /** What the call was, for the error message. */
  what: string
}

/**
 * Runs `fn`, retrying errors {@link isTransient} deems transient with capped exponential back-off
 * (100 ms doubling to 2 s) for at most `windowMs`; then throws `CLUSTER_UNAVAILABLE`. Other errors
 * pass through at once.
 *
 * @example
 * const e = await transient(() => kv.get(key), { what: `read tag ${name}` })
 */
export async function transient<T>(fn: (attempt: number) => Promise<T>, opts: TransientOptions): Promise<T> {
  const deadline = Date.now() + (opts.windowMs ?? TRANSIENT_WINDOW_MS)
  let delay = 100
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (e) {
      if (!isTransient(e)) throw e
      if (Date.now() + delay > deadline) {
        throw new DiscoError('CLUSTER_UNAVAILABLE', `${opts.what}: the cluster did not answer for ${Math.round((opts.windowMs ?? TRANSIENT_WINDOW_MS) / 1000)} s (last error: ${(e as Error).message})`, { cause: e })
      }
      await sleep(delay * (0.5 + Math.random() / 2))
      delay = Math.min(delay * 2, 2_000)
    }
  }
}
