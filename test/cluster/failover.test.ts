// A 3-server JetStream cluster losing a server (kill -9) while 4 processes append to one tag and
// blobs are written and read: every adapter call gets through the leader election, nothing is
// lost and nothing is duplicated.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { openAnyStore } from 'disco-inferno'
import { startNatsCluster } from './servers.js'

const CHILD = fileURLToPath(new URL('./append-child.js', import.meta.url))

/** Runs the append child; resolves with its exit code, calling onProgress per line. */
function appender(url: string, id: string, n: number, onProgress: () => void): Promise<number> {
  const c = spawn(process.execPath, [CHILD, url, 'shared', id, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] })
  c.stdout.on('data', (b: Buffer) => { for (const l of b.toString().split('\n')) if (l.startsWith('progress')) onProgress() })
  const killer = setTimeout(() => c.kill('SIGKILL'), 120_000)
  return new Promise((res) => c.once('exit', (code) => { clearTimeout(killer); res(code ?? -1) }))
}

test('kill -9 of the tag stream leader mid-run: 4 concurrent appenders lose nothing; blobs stay readable', async (t) => {
  const cluster = await startNatsCluster(3)
  t.after(() => cluster.stop())
  const store = await openAnyStore(cluster.url)
  t.after(() => store.close())
  const big = randomBytes(3 * 1024 * 1024 + 17)
  const [before] = await store.ddfs.pushBlob('before.bin', big)
  await store.ddfs.touch('shared')

  const perChild = 15
  let progress = 0
  let killed: Promise<void> | undefined
  const leader = (await store.cluster!.jsm.streams.info(`KV_${store.cluster!.name('tags')}`)).cluster?.leader
  const victim = cluster.servers[Number(/^n(\d)$/.exec(leader ?? 'n1')![1]) - 1]!
  const onProgress = (): void => {
    // Once a quarter of the appends are in, the tag bucket's leader dies.
    if (++progress === perChild && !killed) killed = victim.kill9()
  }
  const codes = await Promise.all(['a', 'b', 'c', 'd'].map((id) => appender(cluster.url, id, perChild, onProgress)))
  await killed
  assert.deepEqual(codes, [0, 0, 0, 0])

  const got = (await store.ddfs.urls('shared')).map((e) => e[0])
  assert.equal(got.length, 4 * perChild)
  assert.equal(new Set(got).size, 4 * perChild)

  // With one server gone: the old blob reads back intact, a new one goes in and comes out.
  const read = async (url: string): Promise<Buffer> => { const p: Buffer[] = []; for await (const c of await store.ddfs.openBlob([url])) p.push(Buffer.from(c)); return Buffer.concat(p) }
  assert.equal(createHash('sha256').update(await read(before!)).digest('hex'), createHash('sha256').update(big).digest('hex'))
  const [after] = await store.ddfs.pushBlob('after.bin', big.subarray(0, 700_000))
  assert.ok((await read(after!)).equals(big.subarray(0, 700_000)))
})
