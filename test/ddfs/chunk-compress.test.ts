// `ddfs chunk --compress none|gzip[:level]`: plain chunks keep the size bound and round-trip; the
// codec text is checked with coded errors, on the API and on the command line; inputSize bounds line bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { chunkLines, DiscoError, openStore, parseCompress } from 'disco-inferno'
import { mulberry32 } from '#src/util/random.js'
import { tempDir } from './helpers.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b
}

test('compress none: plain chunks within the size bound, lines intact (seeded)', async () => {
  const r = mulberry32(7)
  const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ i, s: 'x'.repeat(Math.floor(r() * 300)) }))
  const input = Buffer.from(lines.join('\n') + '\n')
  const chunks = await chunkLines(once(input), async (_i, bytes): Promise<Buffer> => {
    const parts: Buffer[] = []
    for await (const c of bytes) parts.push(Buffer.from(c))
    return Buffer.concat(parts)
  }, { chunkSize: 20_000, compress: 'none' })
  assert.ok(chunks.length > 10)
  for (const c of chunks) {
    assert.ok(c.length <= 20_000, `chunk of ${c.length} bytes`)
    assert.notEqual(c[0], 0x1f) // not gzip
    assert.equal(c[c.length - 1], 10) // whole lines
  }
  assert.deepEqual(Buffer.concat(chunks), input)
  // inputSize bounds the line bytes of a gzip chunk too (so a day of logs makes several blobs).
  const gz = await chunkLines(once(input), async (_i, bytes): Promise<Buffer> => {
    const parts: Buffer[] = []
    for await (const c of bytes) parts.push(Buffer.from(c))
    return gunzipSync(Buffer.concat(parts))
  }, { inputSize: 8_000 })
  assert.ok(gz.length > 20)
  for (const c of gz) assert.ok(c.length <= 8_000, `chunk of ${c.length} line bytes`)
  assert.deepEqual(Buffer.concat(gz), input)
})

test('parseCompress: none, gzip, gzip:LEVEL; anything else is DDFS_BAD_OPTION', () => {
  assert.deepEqual(parseCompress('none'), { compress: 'none' })
  assert.deepEqual(parseCompress('gzip'), { compress: 'gzip' })
  assert.deepEqual(parseCompress('gzip:1'), { compress: 'gzip', level: 1 })
  for (const bad of ['', 'zstd', 'gzip:0', 'gzip:10', 'none:1', 'GZIP']) {
    assert.throws(() => parseCompress(bad), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_OPTION', bad)
  }
})

test('ddfs chunk --compress: plain blobs read back as lines; a bad codec exits 1 with its code', async (t) => {
  const dir = tempDir(t, 'compress')
  const file = join(dir, 'in.ndjson')
  writeFileSync(file, Array.from({ length: 500 }, (_, i) => `{"i":${i}}\n`).join(''))
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, DISCO_STORE: join(dir, 'store') }, cwd: dir, encoding: 'utf8' })
  const plain = run(['chunk', '--compress', 'none', '-S', '2KB', 'data:plain', file])
  assert.equal(plain.status, 0, plain.stderr)
  const gz = run(['chunk', '--compress', 'gzip:1', 'data:gz', file])
  assert.equal(gz.status, 0, gz.stderr)
  const store = openStore(join(dir, 'store'))
  const sets = await store.blobs('data:plain')
  assert.ok(sets.length > 1)
  for (const tag of ['data:plain', 'data:gz']) {
    const got: string[] = []
    for (const set of await store.blobs(tag)) for await (const line of store.readLines(set)) got.push(line)
    assert.equal(got.length, 500, tag)
    assert.equal(got[499], '{"i":499}', tag)
  }
  const first = await store.openBlob(sets[0]!)
  for await (const b of first) {
    assert.equal(Buffer.from(b).toString('utf8', 0, 6), '{"i":0')
    break
  }
  const bad = run(['chunk', '--compress', 'lz4', 'data:x', file])
  assert.equal(bad.status, 1)
  assert.match(bad.stderr, /^ddfs: error DDFS_BAD_OPTION: /)
})
