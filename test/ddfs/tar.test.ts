// `push -x`: tar members (ustar, GNU long names, pax) become blobs; bad archives get coded errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blobName, DiscoError, openStore, tarMembers } from 'disco-inferno'
import { tempDir } from './helpers.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
const hasTar = spawnSync('tar', ['--version']).status === 0

function fixture(t: { after: (fn: () => void) => void }): { dir: string; long: string } {
  const dir = tempDir(t, 'tar')
  const long = 'sub/' + 'd'.repeat(120) + '/deep.log'
  mkdirSync(join(dir, 'in', 'sub', 'd'.repeat(120)), { recursive: true })
  writeFileSync(join(dir, 'in', 'a.log'), 'alpha\n')
  writeFileSync(join(dir, 'in', 'b.txt'), Buffer.alloc(1500, 98))
  writeFileSync(join(dir, 'in', long), 'deep\n')
  return { dir, long }
}

async function text(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = []
  for await (const c of it) parts.push(Buffer.from(c))
  return Buffer.concat(parts).toString()
}

test('tar members of gnu and pax archives, gzip or not, become one blob each', { skip: hasTar ? false : 'the tar command is not installed' }, async (t) => {
  const { dir, long } = fixture(t)
  for (const [format, flag] of [['gnu', '-cf'], ['pax', '-czf']] as const) {
    const archive = join(dir, `x-${format}.tar`)
    execFileSync('tar', [`--format=${format}`, flag, archive, '-C', join(dir, 'in'), 'a.log', 'b.txt', long])
    const ddfs = openStore(join(dir, `store-${format}`))
    const sets = await ddfs.pushTarball('t', archive)
    assert.deepEqual(sets.map((s) => blobName(s[0]!)), ['a_log', 'b_txt', `sub_${'d'.repeat(120)}_deep_log`])
    assert.equal(await text(await ddfs.openBlob(sets[0]!)), 'alpha\n')
    assert.equal(await text(await ddfs.openBlob(sets[1]!)), 'b'.repeat(1500))
    assert.equal(await text(await ddfs.openBlob(sets[2]!)), 'deep\n')
  }
  // The CLI: -x with -I and -z; xcat gunzips the gzipped member.
  const r = spawnSync(process.execPath, [bin, 'push', '-x', '-z', '-I', '.log', 'logs', join(dir, 'x-pax.tar')], { env: { ...process.env, DISCO_STORE: join(dir, 'cli') } })
  assert.equal(r.status, 0, r.stderr.toString())
  assert.equal(r.stdout.toString().trim().split('\n').length, 2)
  const x = spawnSync(process.execPath, [bin, 'xcat', 'logs'], { env: { ...process.env, DISCO_STORE: join(dir, 'cli') } })
  assert.deepEqual(x.stdout.toString().split('\n').filter(Boolean).sort(), ['alpha', 'deep'])
})

test('a truncated or non-tar archive is DDFS_BAD_TAR', { skip: hasTar ? false : 'the tar command is not installed' }, async (t) => {
  const { dir } = fixture(t)
  const archive = join(dir, 'x.tar')
  execFileSync('tar', ['-cf', archive, '-C', join(dir, 'in'), 'a.log', 'b.txt'])
  const bytes = readFileSync(archive)
  const drain = async (b: Buffer): Promise<void> => { for await (const m of tarMembers((async function* () { yield b })())) await text(m.body) }
  for (const bad of [bytes.subarray(0, 1200), Buffer.from('not a tar file at all'.repeat(40))]) {
    await assert.rejects(drain(bad), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_TAR')
  }
  await drain(bytes)
})
