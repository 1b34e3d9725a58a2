// Notifications (§2.8, §11.4): SMTP against a local server, PagerDuty Events v2 against a local receiver.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { sendMail, triggerPagerDuty, StandardNotifier, subjectFor, parseMailServer } from '#src/inferno/notify/index.js'

interface Received { from: string; to: string[]; data: string }

/** A minimal SMTP server on 127.0.0.1; `refuse` makes it reject RCPT TO for that address. */
async function smtpServer(refuse?: string) {
  const got: Received[] = []
  const server = createNetServer((sock) => {
    sock.setEncoding('utf8')
    let buf = ''
    let inData = false
    let cur: Received = { from: '', to: [], data: '' }
    sock.write('220 test ESMTP\r\n')
    sock.on('data', (d: string) => {
      buf += d
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n')
          if (end < 0) return
          cur.data = buf.slice(0, end)
          buf = buf.slice(end + 5)
          inData = false
          got.push(cur)
          cur = { from: '', to: [], data: '' }
          sock.write('250 queued\r\n')
          continue
        }
        const i = buf.indexOf('\r\n')
        if (i < 0) return
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (/^EHLO /.test(line)) sock.write('250-test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n')
        else if (/^MAIL FROM:/.test(line)) (cur.from = line.slice(10)), sock.write('250 ok\r\n')
        else if (/^RCPT TO:/.test(line)) {
          if (refuse && line.includes(refuse)) sock.write('550 no such user\r\n')
          else (cur.to.push(line.slice(8)), sock.write('250 ok\r\n'))
        } else if (line === 'DATA') (inData = true), sock.write('354 go ahead\r\n')
        else if (line === 'QUIT') (sock.write('221 bye\r\n'), sock.end())
        else sock.write('500 what?\r\n')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return { got, server: `127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) }
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

test('sendMail speaks SMTP: envelope, headers, UTF-8 subject, dot-stuffing', async () => {
  const smtp = await smtpServer()
  try {
    await sendMail(smtp.server, { from: 'inferno@example.org', to: ['a@example.org', 'b@example.org'], subject: 'Job Status: names — über', text: 'line 1\n.hidden dot\nend' })
    assert.equal(smtp.got.length, 1)
    const m = smtp.got[0]!
    assert.equal(m.from, '<inferno@example.org>')
    assert.deepEqual(m.to, ['<a@example.org>', '<b@example.org>'])
    assert.match(m.data, /^From: inferno@example.org\r\nTo: a@example.org, b@example.org\r\n/)
    assert.match(m.data, new RegExp(`Subject: =\\?UTF-8\\?B\\?${Buffer.from('Job Status: names — über').toString('base64').replace(/[+/=]/g, '\\$&')}\\?=`))
    assert.ok(m.data.endsWith('\r\n\r\nline 1\r\n..hidden dot\r\nend'))
  } finally {
    await smtp.close()
  }
})

test('sendMail errors are coded: refused recipient, nothing listening', async () => {
  const smtp = await smtpServer('nobody@')
  try {
    await assert.rejects(sendMail(smtp.server, { from: 'x@y', to: ['nobody@example.org'], subject: 's', text: 't' }), (e: any) => e.code === 'NOTIFY_SMTP_FAILED' && /550 no such user/.test(e.message))
  } finally {
    await smtp.close()
  }
  const closed = await smtpServer()
  await closed.close()
  await assert.rejects(sendMail(closed.server, { from: 'x@y', to: ['a@b'], subject: 's', text: 't' }), { code: 'NOTIFY_SMTP_FAILED' })
  assert.deepEqual(parseMailServer('mail.example.org'), { host: 'mail.example.org', port: 25 })
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
    const rule = { notify_on_fail: true, notify_on_success: true, notify_addresses: ['ops@x'], notify_pagerduty: true }
    await n.notify({ rule: 'm.r', job: 'm.r@1', status: 'failed', message: 'Traceback: boom', retryInHours: 1 }, rule)
    assert.match(smtp.got[0]!.data, /Subject: Job Status: m\.r@1 \[AUTO-RETRY IN 1 HOUR\(s\)\]\r\n/)
    assert.match(smtp.got[0]!.data, /Traceback: boom/)
    assert.equal(pd.got[0]!.body.routing_key, 'SETTINGKEY', 'the setting key is the fallback')
    await n.notify({ rule: 'm.r', job: 'm.r@2', status: 'failed', message: 'x' }, { ...rule, notify_pagerduty_key: 'RULEKEY' })
    assert.equal(pd.got[1]!.body.routing_key, 'RULEKEY')
    await n.notify({ rule: 'm.r', job: 'm.r@3', status: 'done', message: '4 rows' }, rule)
    assert.match(smtp.got[2]!.data, /Subject: Job Status: m\.r@3\r\n/)
    assert.equal(pd.got.length, 2, 'no PagerDuty event on success')
    await n.notify({ rule: 'm.r', job: 'm.r@4', status: 'failed', message: 'x' }, { notify_on_fail: false, notify_addresses: ['ops@x'] })
    assert.equal(smtp.got.length, 3, 'no mail without notify_on_fail')
    assert.equal(logs.length, 0)
  } finally {
    await smtp.close()
    await pd.close()
  }
  // Servers gone: the notifier logs and resolves (SMTP errors swallowed, PagerDuty failure logged).
  const n = new StandardNotifier({ mail_server: smtp.server, mail_from: 'i@x', pagerduty_url: pd.url, pagerduty_api_key: 'k', log: (l) => logs.push(l) })
  await n.notify({ rule: 'm.r', job: 'j', status: 'failed', message: 'x' }, { notify_on_fail: true, notify_addresses: ['a@x'], notify_pagerduty: true })
  assert.equal(logs.length, 2)
  assert.match(logs[0]!, /e-mail for j not sent/)
  assert.match(logs[1]!, /PagerDuty trigger for j failed/)
  assert.equal(subjectFor({ rule: 'r', job: 'j', status: 'failed', message: '' }), 'Job Status: j')
})
