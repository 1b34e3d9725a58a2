// Notification e-mail through nodemailer: a plain relay (the original's smtplib use), or a server
// that wants STARTTLS or implicit TLS and a login. Errors become NOTIFY_SMTP_FAILED.
import { DiscoError } from '../../errors.js'

/** One plain-text message. */
export interface MailMessage {
  from: string
  to: string[]
  subject: string
  text: string
}

/** How to reach and log in to the SMTP server (the `mail_*` settings). */
export interface MailTransportOptions {
  /** `auto` (default): STARTTLS when the server offers it; `starttls`: required; `tls`: implicit TLS (port 465); `none`: never. */
  readonly tls?: 'auto' | 'starttls' | 'tls' | 'none'
  /** Login name; with `password`, AUTH after TLS. */
  readonly user?: string | null
  readonly password?: string | null
  /** Extra trusted CA certificate(s) in PEM (a private or self-signed server certificate). */
  readonly ca?: string | null
  /** Bound on connecting, the greeting and each reply (default 30 s). */
  readonly timeoutMs?: number
}

/** Where to send: `host` or `host:port` (port 25 by default, 465 for implicit TLS). */
export function parseMailServer(server: string, implicitTls = false): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(server.trim())!
  return { host: m[1] || 'localhost', port: m[2] ? Number(m[2]) : implicitTls ? 465 : 25 }
}

/**
 * Sends one message. Fails with `NOTIFY_SMTP_FAILED` naming the server and what it answered (or the
 * connection/TLS/login error).
 *
 * @example
 * await sendMail('mail.example.org:587', { from: 'a@x', to: ['b@x'], subject: 'hi', text: 'body' },
 *   { tls: 'starttls', user: 'inferno', password: 'secret' })
 */
export async function sendMail(server: string, m: MailMessage, opts: MailTransportOptions = {}): Promise<void> {
  if (m.to.length === 0) return
  const tls = opts.tls ?? 'auto'
  const { host, port } = parseMailServer(server, tls === 'tls')
  const timeout = opts.timeoutMs ?? 30_000
  // Loaded on first use: every Disco worker thread imports this module through the package entry.
  const { default: nodemailer } = await import('nodemailer')
  const transport = nodemailer.createTransport({
    host, port,
    secure: tls === 'tls',
    requireTLS: tls === 'starttls',
    ignoreTLS: tls === 'none',
    ...(opts.user ? { auth: { user: opts.user, pass: opts.password ?? '' } } : {}),
    ...(opts.ca ? { tls: { ca: opts.ca, servername: host } } : {}),
    connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout,
  })
  try {
    await transport.sendMail({ from: m.from, to: m.to, subject: m.subject, text: m.text })
  } catch (e) {
    throw new DiscoError('NOTIFY_SMTP_FAILED', `${server}: ${(e as Error).message}`, { cause: e })
  } finally {
    transport.close()
  }
}
