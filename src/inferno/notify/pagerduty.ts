// PagerDuty Events API v2 trigger events (the original used the old generic API; same meaning).
import { hostname } from 'node:os'
import { DiscoError } from '../../errors.js'

/** One trigger event. */
export interface PagerDutyEvent {
  routingKey: string
  summary: string
  details: Record<string, unknown>
  /** Events with the same key are grouped into one incident. */
  dedupKey?: string
  severity?: 'critical' | 'error' | 'warning' | 'info'
}

/**
 * Posts a trigger event to an Events v2 endpoint (`https://events.pagerduty.com/v2/enqueue` by
 * default; configurable for proxies and tests). Any answer but 2xx is `NOTIFY_PAGERDUTY_FAILED`.
 *
 * @example
 * await triggerPagerDuty(url, { routingKey: 'R0UT1NG', summary: 'Inferno job x failed', details: {} })
 */
export async function triggerPagerDuty(url: string, ev: PagerDutyEvent, timeoutMs = 30_000): Promise<void> {
  const body = {
    routing_key: ev.routingKey,
    event_action: 'trigger',
    ...(ev.dedupKey ? { dedup_key: ev.dedupKey } : {}),
    payload: {
      summary: ev.summary.slice(0, 1024),
      source: hostname(),
      severity: ev.severity ?? 'error',
      component: 'inferno',
      custom_details: ev.details,
    },
  }
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (e) {
    throw new DiscoError('NOTIFY_PAGERDUTY_FAILED', `${url}: ${(e as Error).message}`, { cause: e })
  }
  const text = await res.text().catch(() => '')
  if (res.status < 200 || res.status >= 300) {
    throw new DiscoError('NOTIFY_PAGERDUTY_FAILED', `${url}: expected status 202, found ${res.status} ${text.slice(0, 200)}`)
  }
}
