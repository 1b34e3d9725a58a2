// A small SMTP client (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, QUIT) for notification e-mail
// through a local relay, as the original did with smtplib (no TLS, no AUTH).
import { connect, type Socket } from 'node:net'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { DiscoError } from '../../errors.js'

/** One plain-text message. */
export interface MailMessage {
  from: string
  to: string[]
  subject: string
  text: string
}

/** Where to send: `host` or `host:port` (port 25 by default). */
export function parseMailServer(server: string): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(server.trim())!
  return { host: m[1] || 'localhost', port: m[2] ? Number(m[2]) : 25 }
}

/** RFC 2047 encoded-word for a header value that is not plain ASCII. */
function encodeHeader(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`
}

/** The message as SMTP DATA: headers, CRLF line ends, dot-stuffed, without the final dot line. */
export function formatMessage(m: MailMessage, now = new Date()): string {
  const headers = [
    `From: ${m.from}`,
    `To: ${m.to.join(', ')}`,
    `Subject: ${encodeHeader(m.subject)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(8).toString('hex')}@${hostname()}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ]
  const body = m.text.replace(/\r?\n/g, '\r\n').split('\r\n').map((l) => (l.startsWith('.') ? '.' + l : l))
  return headers.join('\r\n') + '\r\n\r\n' + body.join('\r\n')
}

/** Reads SMTP replies (multi-line `250-…` then `250 …`) off a socket, one at a time. */
class ReplyReader {
  private buf = ''
  private waiting: ((r: { code: number; text: string } | Error) => void) | null = null
  private replies: ({ code: number; text: string } | Error)[] = []
  private lines: string[] = []

  constructor(sock: Socket) {
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      this.buf += d
      let i: number
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).replace(/\r$/, '')
        this.buf = this.buf.slice(i + 1)
        this.lines.push(line)
        if (!/^\d{3}-/.test(line)) {
          this.push({ code: Number.parseInt(line.slice(0, 3), 10) || 0, text: this.lines.join('\n') })
          this.lines = []
        }
      }
    })
    sock.on('error', (e) => this.push(e))
    sock.on('close', () => this.push(new Error('connection closed by the server')))
  }

  private push(r: { code: number; text: string } | Error): void {
    if (this.waiting) {
      const w = this.waiting
      this.waiting = null
      w(r)
    } else this.replies.push(r)
  }

  next(): Promise<{ code: number; text: string }> {
    const r = this.replies.shift()
    if (r) return r instanceof Error ? Promise.reject(r) : Promise.resolve(r)
    return new Promise((res, rej) => {
      this.waiting = (x) => (x instanceof Error ? rej(x) : res(x))
    })
  }
}

/**
 * Sends one message through an SMTP relay. Fails with `NOTIFY_SMTP_FAILED` naming the command the
 * server refused (or the connection error); `timeoutMs` bounds the whole exchange.
 *
 * @example
 * await sendMail('localhost:2525', { from: 'a@x', to: ['b@x'], subject: 'hi', text: 'body' })
 */
export async function sendMail(server: string, m: MailMessage, timeoutMs = 30_000): Promise<void> {
  if (m.to.length === 0) return
  const { host, port } = parseMailServer(server)
  const sock = connect({ host, port })
  const reader = new ReplyReader(sock)
  const timer = setTimeout(() => sock.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  const expect = async (cmd: string | null, ok: number[]) => {
    if (cmd !== null) sock.write(cmd + '\r\n')
    const r = await reader.next()
    if (!ok.includes(r.code)) {
      throw new DiscoError('NOTIFY_SMTP_FAILED', `${server}: expected ${ok.join('/')} after ${cmd?.split(' ')[0] ?? 'connect'}, found "${r.text}"`)
    }
  }
  try {
    await expect(null, [220])
    try {
      await expect(`EHLO ${hostname()}`, [250])
    } catch (e) {
      if (!(e instanceof DiscoError)) throw e
      await expect(`HELO ${hostname()}`, [250])
    }
    await expect(`MAIL FROM:<${m.from}>`, [250])
    for (const to of m.to) await expect(`RCPT TO:<${to}>`, [250, 251])
    await expect('DATA', [354])
    await expect(formatMessage(m) + '\r\n.', [250])
    await expect('QUIT', [221]).catch(() => {})
  } catch (e) {
    if (e instanceof DiscoError) throw e
    throw new DiscoError('NOTIFY_SMTP_FAILED', `${server}: ${(e as Error).message}`, { cause: e })
  } finally {
    clearTimeout(timer)
    sock.destroy()
  }
}
