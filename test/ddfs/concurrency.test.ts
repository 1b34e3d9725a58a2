// Cross-process guarantees of the local store: serialised appends and crash-safe writes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { openStore } from 'disco-inferno'
import { tempDir } from './helpers.js'

const entry = import.meta.resolve('disco-inferno')

function child(code: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', `import * as D from ${JSON.stringify(entry)};\n${code}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

function finished(p: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = ''
  p.stderr!.on('data', (d) => { stderr += d })
  return new Promise((res) => p.on('close', (code) => res({ code, stderr })))
}

test('concurrent appends from several processes: nothing lost, no duplicates', async (t) => {
  const dir = tempDir(t, 'conc')
  const procs = 4
  const each = 40
  const runs = Array.from({ length: procs }, (_, p) =>
    finished(child(
      `const d = D.openStore(process.env.STORE);
       for (let i = 0; i < ${each}; i++) await d.tag('shared:tag', ['raw://p${p}-' + i]);
       await d.tag('shared:set', ['disco://localhost/ddfs/vol0/blob/00/same$p${p}'], { update: true });`,
      { STORE: dir },
    )),
  )
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr)
  const ddfs = openStore(dir)
  const got = (await ddfs.urls('shared:tag')).map((e) => e[0]!)
  assert.equal(got.length, procs * each)
  assert.equal(new Set(got).size, procs * each)
  // Each process's own appends stay newest first relative to each other.
  for (let p = 0; p < procs; p++) {
    const mine = got.filter((u) => u.startsWith(`raw://p${p}-`)).map((u) => Number(u.split('-')[1]))
    assert.deepEqual(mine, [...mine].sort((a, b) => b - a))
  }
  assert.equal((await ddfs.urls('shared:set')).length, 1, 'set-update races still keep one blob per name')
})

test('a writer killed mid-blob leaves no visible blob; GC removes its partial file', async (t) => {
  const dir = tempDir(t, 'conc')
  const p = child(
    `const d = D.openStore(process.env.STORE);
     async function* slow() { yield Buffer.alloc(1 << 20, 97); await new Promise(() => setInterval(() => {}, 1000)) }
     await d.push('k', [{ name: 'big', data: slow() }]);`,
    { STORE: dir },
  )
  const done = finished(p)
  const tmp = join(dir, 'tmp')
  // Wait for the blob's own partial file: the write's pending record passes through tmp/ first
  // (as a short-lived `tag.…` file), so "tmp/ is not empty" alone can be seen before the blob starts.
  const blobPartial = () => existsSync(tmp) && readdirSync(tmp).some((n) => n.startsWith('blob.'))
  for (let i = 0; i < 2400 && !blobPartial(); i++) await sleep(25)
  assert.ok(blobPartial(), 'the child started writing the blob')
  p.kill('SIGKILL')
  await done
  const ddfs = openStore(dir)
  for await (const b of ddfs.blobStore.list()) assert.fail(`partial blob visible: ${b.url}`)
  assert.deepEqual(await ddfs.list(), [])
  const r = await ddfs.gc({ partialGraceMs: 0 })
  assert.ok(r.leftoversRemoved >= 1)
  assert.deepEqual(readdirSync(tmp), [])
})

test('a writer killed during tag updates leaves a valid tag with whole appends only', async (t) => {
  const dir = tempDir(t, 'conc')
  const p = child(
    `const d = D.openStore(process.env.STORE);
     for (let i = 0; ; i++) { await d.tag('busy', ['raw://e' + i]); if (i === 20) process.stdout.write('go\\n') }`,
    { STORE: dir },
  )
  const done = finished(p)
  await new Promise<void>((res) => { p.stdout!.once('data', () => res()); p.once('close', () => res()) })
  p.kill('SIGKILL')
  const r = await done
  assert.equal(r.code, null, `the child was killed, not finished: ${r.stderr}`)
  const got = (await openStore(dir).urls('busy')).map((e) => e[0]!)
  assert.ok(got.length > 20)
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => `raw://e${got.length - 1 - i}`))
})
