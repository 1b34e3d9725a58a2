// Store URLs and connection failures: one coded error each, bounded waits, no hang.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiscoError, openAnyStore, parseClusterUrl, isClusterUrl } from 'disco-inferno'
import { freePorts, startNats, type ServerProcess } from './servers.js'

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DiscoError, `expected DiscoError ${code}, found ${String(e)}`)
    assert.equal(e.code, code, e.message)
    return true
  })
}

test('store URLs: cluster or directory; the grammar is checked', () => {
  assert.equal(isClusterUrl('nats://127.0.0.1:4222'), true)
  assert.equal(isClusterUrl('/var/lib/disco'), false)
  const c = parseClusterUrl('nats://us%40r:p%3Ass@10.0.0.1:4222,h2:4223/?replicas=3&prefix=prod&blobs=s3://bkt/x&timeout=900')
  assert.deepEqual([c.user, c.pass, c.servers, c.replicas, c.prefix, c.blobs, c.connectTimeoutMs], ['us@r', 'p:ss', ['10.0.0.1:4222', 'h2:4223'], 3, 'prod', 's3://bkt/x', 900])
  assert.equal(parseClusterUrl('nats://h:1', { creds: '/x.creds', tlsCa: '/ca.pem' }).tlsCa, '/ca.pem')
  for (const bad of ['nats://', 'nats://host', 'nats://h:99999', 'nats://h:1?replicas=9', 'nats://h:1?prefix=a.b', 'nats://h:1?what=1', 'nats://h:1?blobs=gs://x']) {
    assert.throws(() => parseClusterUrl(bad), (e: unknown) => e instanceof DiscoError && e.code === 'CLUSTER_BAD_URL', bad)
  }
})

const tmp = mkdtempSync(join(tmpdir(), 'cluster-connect-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

test('an unreachable cluster is CLUSTER_UNREACHABLE within the connect timeout', async () => {
  const [port] = await freePorts(1)
  await rejectsCode(openAnyStore(`nats://127.0.0.1:${port}?timeout=1000`), 'CLUSTER_UNREACHABLE')
})

test('a server without JetStream is CLUSTER_NO_JETSTREAM', async (t) => {
  const s = await startNats({ jetstream: false })
  t.after(() => s.stop())
  await rejectsCode(openAnyStore(s.url), 'CLUSTER_NO_JETSTREAM')
})

test('user/password in the URL: right one works, wrong one is CLUSTER_AUTH; --creds file missing is CLUSTER_AUTH', async (t) => {
  const s = await startNats({ config: 'authorization { user: disco, password: "s3cret" }' })
  t.after(() => s.stop())
  const url = `nats://disco:s3cret@127.0.0.1:${s.port}`
  const ok = await openAnyStore(url)
  await ok.ddfs.tag('x', ['raw://a'])
  assert.deepEqual(await ok.ddfs.urls('x'), [['raw://a']])
  await ok.close()
  await rejectsCode(openAnyStore(`nats://disco:wrong@127.0.0.1:${s.port}`), 'CLUSTER_AUTH')
  await rejectsCode(openAnyStore(`nats://127.0.0.1:${s.port}`), 'CLUSTER_AUTH')
  await rejectsCode(openAnyStore(url, { creds: join(tmp, 'missing.creds') }), 'CLUSTER_AUTH')
})

let tlsDir = ''
before(() => {
  // A throwaway CA and a server certificate for 127.0.0.1, made with Debian's openssl.
  tlsDir = join(tmp, 'tls')
  spawnSync('mkdir', ['-p', tlsDir])
  writeFileSync(join(tlsDir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: tlsDir, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`)
  }
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=disco test CA'])
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext'])
})

test('TLS: an untrusted certificate is CLUSTER_TLS; --tls-ca makes it work', async (t) => {
  const s = await startNats({ config: `tls { cert_file: ${JSON.stringify(join(tlsDir, 'server.pem'))}, key_file: ${JSON.stringify(join(tlsDir, 'server.key'))} }` })
  t.after(() => s.stop())
  await rejectsCode(openAnyStore(`nats://127.0.0.1:${s.port}`), 'CLUSTER_TLS')
  const ok = await openAnyStore(`nats://127.0.0.1:${s.port}`, { tlsCa: join(tlsDir, 'ca.pem') })
  await ok.ddfs.touch('secure')
  assert.equal(await ok.ddfs.exists('secure'), true)
  await ok.close()
})

test('a directory keeps the embedded store', async () => {
  const s = await openAnyStore(join(tmp, 'embedded'))
  assert.equal(s.cluster, undefined)
  assert.equal(s.ddfs.dir, join(tmp, 'embedded'))
  await s.close()
})

let single: ServerProcess | undefined
before(async () => { single = await startNats() })
after(async () => { await single?.stop() })

test('a bucket that exists with another replica count than asked is CLUSTER_BAD_CONFIG', async () => {
  // A single server cannot hold 3 replicas.
  await rejectsCode(openAnyStore(`${single!.url}?replicas=3&prefix=r3`), 'CLUSTER_BAD_CONFIG')
})
