// Job notifications (spec §2.8, §11.4): a pluggable Notifier; the standard one sends e-mail over
// SMTP and PagerDuty Events v2 triggers. Delivery problems are logged, never raised.
import { readFileSync } from 'node:fs'
import { sendMail } from './smtp.js'
import { triggerPagerDuty } from './pagerduty.js'

export { sendMail, parseMailServer, type MailMessage, type MailTransportOptions } from './smtp.js'
export { triggerPagerDuty, type PagerDutyEvent } from './pagerduty.js'

/** The notification keywords of a rule (§3; a `Rule` is one). */
export interface NotifyConfig {
  readonly notifyOnFail?: boolean
  readonly notifyOnSuccess?: boolean
  readonly notifyAddresses?: readonly string[]
  readonly notifyPagerduty?: boolean
  readonly notifyPagerdutyKey?: string | undefined
}

/** What happened to one job. */
export interface JobReport {
  /** Qualified rule name. */
  rule: string
  /** Job name (rule name plus a run id). */
  job: string
  status: 'done' | 'failed'
  /** The error text (failures) or a summary (successes). */
  message: string
  /** Set when the daemon scheduled an automatic retry. */
  retryInHours?: number
}

/** Anything that can tell people about a job outcome. */
export interface Notifier {
  notify(report: JobReport, config: NotifyConfig): Promise<void>
}

/** The subject line of the original: `Job Status: <job>`, plus `[AUTO-RETRY IN N HOUR(s)]` when a retry is scheduled. */
export function subjectFor(r: JobReport): string {
  return `Job Status: ${r.job}` + (r.status === 'failed' && r.retryInHours !== undefined ? ` [AUTO-RETRY IN ${r.retryInHours} HOUR(s)]` : '')
}

/** Settings the standard notifier needs (§10 keys). */
export interface StandardNotifierOptions {
  mail_server: string
  mail_from: string
  /** `auto` (STARTTLS when offered), `starttls` (required), `tls` (implicit, port 465) or `none`. */
  mail_tls?: 'auto' | 'starttls' | 'tls' | 'none'
  mail_user?: string | null
  mail_password?: string | null
  /** PEM file of a CA to trust for the mail server (private or self-signed certificates). */
  mail_ca_file?: string | null
  pagerduty_url: string
  pagerduty_api_key?: string | null
  log?: (line: string) => void
}

/**
 * E-mail (to `notifyAddresses`, on failure with `notifyOnFail`, on success with `notifyOnSuccess`)
 * and a PagerDuty trigger on failure with `notifyPagerduty` (key from the rule, else the
 * `pagerduty_api_key` setting).
 *
 * @example
 * await new StandardNotifier(settings).notify({ rule, job, status: 'failed', message }, rule)
 */
export class StandardNotifier implements Notifier {
  constructor(private readonly opts: StandardNotifierOptions) {}

  async notify(r: JobReport, c: NotifyConfig): Promise<void> {
    const log = this.opts.log ?? ((l: string) => process.stderr.write(l + '\n'))
    const mail = r.status === 'failed' ? c.notifyOnFail : c.notifyOnSuccess
    const to = c.notifyAddresses ?? []
    if (mail && to.length > 0) {
      const text = r.status === 'failed' ? `Inferno job ${r.job} (rule ${r.rule}) failed:\n\n${r.message}\n` : `Inferno job ${r.job} (rule ${r.rule}) finished.\n\n${r.message}\n`
      try {
        const o = this.opts
        await sendMail(o.mail_server, { from: o.mail_from, to: [...to], subject: subjectFor(r), text }, {
          tls: o.mail_tls ?? 'auto', user: o.mail_user ?? null, password: o.mail_password ?? null,
          ca: o.mail_ca_file ? readFileSync(o.mail_ca_file, 'utf8') : null,
        })
      } catch (e) {
        log(`notify: e-mail for ${r.job} not sent: ${(e as Error).message}`)
      }
    }
    if (r.status === 'failed' && c.notifyPagerduty) {
      const key = c.notifyPagerdutyKey ?? this.opts.pagerduty_api_key
      if (!key) {
        log(`notify: no PagerDuty key for ${r.rule} (set notifyPagerdutyKey in the rule or the pagerduty_api_key setting)`)
        return
      }
      try {
        await triggerPagerDuty(this.opts.pagerduty_url, {
          routingKey: key,
          summary: `Inferno job ${r.job} failed`,
          dedupKey: `inferno:${r.rule}`,
          details: { rule: r.rule, job: r.job, error: r.message },
        })
      } catch (e) {
        log(`notify: PagerDuty trigger for ${r.job} failed: ${(e as Error).message}`)
      }
    }
  }
}
