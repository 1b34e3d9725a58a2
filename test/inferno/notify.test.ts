// Notifications (§2.8, §11.4): SMTP against a local server, PagerDuty Events v2 against a local receiver.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type AddressInfo } from 'node:net'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SMTPServer } from 'smtp-server'
import { createServer as createHttpServer } from 'node:http'
import { sendMail, triggerPagerDuty, StandardNotifier, subjectFor, parseMailServer } from '#src/inferno/notify/index.js'

interface Received { from: string; to: string[]; data: string; secure: boolean; user: unknown }

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1. `refuse` rejects RCPT TO for that
 * address; with `tls` it offers STARTTLS with that key and certificate and requires STARTTLS and a
 * login (`inferno` / `s3cret`) before accepting mail.
 */
async function smtpServer(opts: { refuse?: string; tls?: { key: string; cert: string } } = {}) {
  const got: Received[] = []
  const server = new SMTPServer({
    logger: false,
    ...(opts.tls
      ? { key: opts.tls.key, cert: opts.tls.cert, authOptional: false, allowInsecureAuth: false }
      : { authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'] }),
    onAuth(auth, _session, cb) {
      if (auth.username === 'inferno' && auth.password === 's3cret') cb(null, { user: auth.username })
      else cb(Object.assign(new Error('535 bad login'), { responseCode: 535 }))
    },
    onRcptTo(address, _session, cb) {
      if (opts.refuse && address.address.includes(opts.refuse)) cb(Object.assign(new Error('no such user'), { responseCode: 550 }))
      else cb()
    },
    onData(stream, session, cb) {
      const parts: Buffer[] = []
      stream.on('data', (d: Buffer) => parts.push(d))
      stream.on('end', () => {
        const env = session.envelope
        got.push({ from: env.mailFrom ? env.mailFrom.address : '', to: env.rcptTo.map((r) => r.address), data: Buffer.concat(parts).toString('utf8'), secure: session.secure, user: session.user })
        cb()
      })
    },
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.server.address() as AddressInfo).port
  return { got, server: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) }
}

/** A self-signed certificate for 127.0.0.1, made by openssl in a temp dir (removed at once). */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'smtp-cert-'))
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A local HTTP receiver that records JSON bodies and answers `status`. */
async function httpReceiver(status = 202) {
  const got: { path: string; body: any }[] = []
  const server = createHttpServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: JSON.parse(body) })
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end('{"status":"success","message":"Event processed"}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`
  return { got, url, close: () => new Promise((r) => server.close(r)) }
}

test('sendMail: envelope, headers, UTF-8 subject and body through a plain relay', async () => {
  const smtp = await smtpServer()
  try {
    await sendMail(smtp.server, { from: 'inferno@example.org', to: ['a@example.org', 'b@example.org'], subject: 'Job Status: names — über', text: 'line 1\n.hidden dot\nend' })
    assert.equal(smtp.got.length, 1)
    const m = smtp.got[0]!
    assert.equal(m.from, 'inferno@example.org')
    assert.deepEqual(m.to, ['a@example.org', 'b@example.org'])
    assert.match(m.data, /^From: inferno@example\.org\r\n/m)
    assert.match(m.data, /^To: a@example\.org, b@example\.org\r\n/m)
    assert.match(m.data, /^Subject: =\?UTF-8\?/m)
    assert.match(m.data, /\r\n\r\nline 1\r\n\.hidden dot\r\nend/)
    assert.equal(m.secure, false)
  } finally {
    await smtp.close()
  }
})

test('sendMail with STARTTLS and login against a server that requires both (self-signed certificate)', async () => {
  const tls = selfSigned()
  const smtp = await smtpServer({ tls })
  const msg = { from: 'inferno@example.org', to: ['ops@example.org'], subject: 'Job Status: j', text: 'done' }
  try {
    await sendMail(smtp.server, msg, { tls: 'starttls', user: 'inferno', password: 's3cret', ca: tls.cert })
    assert.equal(smtp.got.length, 1)
    assert.equal(smtp.got[0]!.secure, true, 'the message travelled after STARTTLS')
    assert.equal(smtp.got[0]!.user, 'inferno')
    // Wrong password, no login, an untrusted certificate, TLS refused: each is NOTIFY_SMTP_FAILED and nothing is delivered.
    await assert.rejects(sendMail(smtp.server, msg, { tls: 'starttls', user: 'inferno', password: 'nope', ca: tls.cert }), { code: 'NOTIFY_SMTP_FAILED', message: /535|[Ii]nvalid login/ })
    await assert.rejects(sendMail(smtp.server, msg, { tls: 'starttls', ca: tls.cert }), { code: 'NOTIFY_SMTP_FAILED' })
    await assert.rejects(sendMail(smtp.server, msg, { tls: 'starttls', user: 'inferno', password: 's3cret' }), { code: 'NOTIFY_SMTP_FAILED', message: /self[- ]signed|certificate/i })
    await assert.rejects(sendMail(smtp.server, msg, { tls: 'none', user: 'inferno', password: 's3cret' }), { code: 'NOTIFY_SMTP_FAILED' })
    assert.equal(smtp.got.length, 1)
  } finally {
    await smtp.close()
  }
  // The daemon's notifier reads the same settings (mail_tls, mail_user, mail_password, mail_ca_file).
  const again = await smtpServer({ tls })
  const dir = mkdtempSync(join(tmpdir(), 'smtp-ca-'))
  try {
    writeFileSync(join(dir, 'ca.pem'), tls.cert)
    const logs: string[] = []
    const n = new StandardNotifier({
      mail_server: again.server, mail_from: 'inferno@x', mail_tls: 'starttls', mail_user: 'inferno', mail_password: 's3cret',
      mail_ca_file: join(dir, 'ca.pem'), pagerduty_url: 'http://127.0.0.1:9/none', log: (l) => logs.push(l),
    })
    await n.notify({ rule: 'm.r', job: 'm.r@1', status: 'done', message: 'ok' }, { notifyOnSuccess: true, notifyAddresses: ['ops@x'] })
    assert.deepEqual(logs, [])
    assert.equal(again.got.length, 1)
    assert.equal(again.got[0]!.secure, true)
  } finally {
    await again.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('sendMail errors are coded: refused recipient, nothing listening', async () => {
  const smtp = await smtpServer({ refuse: 'nobody@' })
  try {
    await assert.rejects(sendMail(smtp.server, { from: 'x@y', to: ['nobody@example.org'], subject: 's', text: 't' }), (e: any) => e.code === 'NOTIFY_SMTP_FAILED' && /550/.test(e.message) && /no such user/.test(e.message))
  } finally {
    await smtp.close()
  }
  const closed = await smtpServer()
  await closed.close()
  await assert.rejects(sendMail(closed.server, { from: 'x@y', to: ['a@b.example'], subject: 's', text: 't' }), { code: 'NOTIFY_SMTP_FAILED' })
  assert.deepEqual(parseMailServer('mail.example.org'), { host: 'mail.example.org', port: 25 })
  assert.deepEqual(parseMailServer('mail.example.org', true), { host: 'mail.example.org', port: 465 })
})

test('triggerPagerDuty posts an Events v2 trigger; non-2xx is coded', async () => {
  const pd = await httpReceiver()
  try {
    await triggerPagerDuty(pd.url, { routingKey: 'R0UTING', summary: 'Inferno job x failed', dedupKey: 'inferno:m.r', details: { error: 'tb' } })
    const { path, body } = pd.got[0]!
    assert.equal(path, '/v2/enqueue')
    assert.equal(body.routing_key, 'R0UTING')
    assert.equal(body.event_action, 'trigger')
    assert.equal(body.dedup_key, 'inferno:m.r')
    assert.equal(body.payload.summary, 'Inferno job x failed')
    assert.equal(body.payload.severity, 'error')
    assert.deepEqual(body.payload.custom_details, { error: 'tb' })
  } finally {
    await pd.close()
  }
  const bad = await httpReceiver(400)
  try {
    await assert.rejects(triggerPagerDuty(bad.url, { routingKey: 'k', summary: 's', details: {} }), { code: 'NOTIFY_PAGERDUTY_FAILED' })
  } finally {
    await bad.close()
  }
})

test('StandardNotifier: failure mail with retry suffix + PagerDuty; success mail; errors only logged', async () => {
  const smtp = await smtpServer()
  const pd = await httpReceiver()
  const logs: string[] = []
  try {
    const n = new StandardNotifier({ mail_server: smtp.server, mail_from: 'inferno@x', pagerduty_url: pd.url, pagerduty_api_key: 'SETTINGKEY', log: (l) => logs.push(l) })
    const rule = { notifyOnFail: true, notifyOnSuccess: true, notifyAddresses: ['ops@x'], notifyPagerduty: true }
    await n.notify({ rule: 'm.r', job: 'm.r@1', status: 'failed', message: 'Traceback: boom', retryInHours: 1 }, rule)
    assert.match(smtp.got[0]!.data, /Subject: Job Status: m\.r@1 \[AUTO-RETRY IN 1 HOUR\(s\)\]\r\n/)
    assert.match(smtp.got[0]!.data, /Traceback: boom/)
    assert.equal(pd.got[0]!.body.routing_key, 'SETTINGKEY', 'the setting key is the fallback')
    await n.notify({ rule: 'm.r', job: 'm.r@2', status: 'failed', message: 'x' }, { ...rule, notifyPagerdutyKey: 'RULEKEY' })
    assert.equal(pd.got[1]!.body.routing_key, 'RULEKEY')
    await n.notify({ rule: 'm.r', job: 'm.r@3', status: 'done', message: '4 rows' }, rule)
    assert.match(smtp.got[2]!.data, /Subject: Job Status: m\.r@3\r\n/)
    assert.equal(pd.got.length, 2, 'no PagerDuty event on success')
    await n.notify({ rule: 'm.r', job: 'm.r@4', status: 'failed', message: 'x' }, { notifyOnFail: false, notifyAddresses: ['ops@x'] })
    assert.equal(smtp.got.length, 3, 'no mail without notifyOnFail')
    assert.equal(logs.length, 0)
  } finally {
    await smtp.close()
    await pd.close()
  }
  // Servers gone: the notifier logs and resolves (SMTP errors swallowed, PagerDuty failure logged).
  const n = new StandardNotifier({ mail_server: smtp.server, mail_from: 'i@x', pagerduty_url: pd.url, pagerduty_api_key: 'k', log: (l) => logs.push(l) })
  await n.notify({ rule: 'm.r', job: 'j', status: 'failed', message: 'x' }, { notifyOnFail: true, notifyAddresses: ['a@x'], notifyPagerduty: true })
  assert.equal(logs.length, 2)
  assert.match(logs[0]!, /e-mail for j not sent/)
  assert.match(logs[1]!, /PagerDuty trigger for j failed/)
  assert.equal(subjectFor({ rule: 'r', job: 'j', status: 'failed', message: '' }), 'Job Status: j')
})
