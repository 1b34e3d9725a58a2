// Record-aware chunking: size bound, lines intact, gzip in and out, coded errors.
import { mulberry32 } from '#src/util/random.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync, gunzipSync } from 'node:zlib'
import { chunkLines, DiscoError, lineBatches, textLines } from 'disco-inferno'

/** Small seeded PRNG (mulberry32) so failures can be replayed. */
const rng = mulberry32

async function* pieces(buf: Buffer, rand: () => number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length;) {
    const n = 1 + Math.floor(rand() * 5000)
    yield buf.subarray(i, i + n)
    i += n
  }
}

async function run(input: Buffer, opts: Parameters<typeof chunkLines>[2], rand = rng(1)): Promise<Buffer[]> {
  return chunkLines(pieces(input, rand), async (_i, bytes) => {
    const parts: Buffer[] = []
    for await (const c of bytes) parts.push(Buffer.from(c))
    return Buffer.concat(parts)
  }, opts)
}

test('chunks never exceed the size, never split a line, and round-trip (seeded)', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const rand = rng(seed)
    const lines: string[] = []
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() ** 3 * 2000)
      lines.push(JSON.stringify({ i, v: Array.from({ length: len }, () => String.fromCharCode(32 + Math.floor(rand() * 90))).join('') }))
    }
    const input = Buffer.from(lines.join('\n') + '\n')
    const chunkSize = 1024 + Math.floor(rand() * 60000)
    const chunks = await run(input, { chunkSize }, rand)
    const msg = `seed ${seed}, chunk size ${chunkSize}`
    assert.ok(chunks.length > 1, msg)
    for (const c of chunks) assert.ok(c.length <= chunkSize, `${msg}: chunk of ${c.length} bytes`)
    const texts = chunks.map((c) => gunzipSync(c).toString())
    for (const t of texts) assert.ok(t.endsWith('\n'), `${msg}: chunk ends inside a line`)
    assert.equal(texts.join(''), input.toString(), msg)
  }
})

test('gzip input is decompressed; CRLF and a missing final newline are handled', async () => {
  const text = 'a\r\nb\r\nlast'
  const chunks = await run(gzipSync(Buffer.from(text)), {})
  assert.equal(chunks.length, 1)
  assert.equal(gunzipSync(chunks[0]!).toString(), 'a\r\nb\r\nlast\n')
  assert.deepEqual(await run(Buffer.alloc(0), {}), [])
})

test('an over-long record is rejected with its line number', async () => {
  const input = Buffer.from(['short', 'x'.repeat(2000), 'y'.repeat(5000), 'z'].join('\n'))
  await assert.rejects(run(input, { maxRecordSize: 4096 }), (e: unknown) => {
    assert.ok(e instanceof DiscoError)
    assert.equal(e.code, 'DDFS_RECORD_TOO_LARGE')
    assert.match(e.message, /line 3\b/)
    return true
  })
  // A line that alone cannot fit a chunk, even compressed.
  const rand = rng(7)
  const noisy = Buffer.from(Array.from({ length: 3000 }, () => String.fromCharCode(33 + Math.floor(rand() * 90))).join('') + '\n')
  await assert.rejects(run(Buffer.concat([Buffer.from('ok\n'), noisy]), { chunkSize: 1024 }), (e: unknown) => {
    assert.ok(e instanceof DiscoError && e.code === 'DDFS_RECORD_TOO_LARGE' && /line 2\b/.test(e.message), String(e))
    return true
  })
})

test('bad options and corrupt gzip get coded errors', async () => {
  for (const opts of [{ chunkSize: 10 }, { maxRecordSize: 0 }, { level: 12 }]) {
    await assert.rejects(run(Buffer.from('a\n'), opts), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_OPTION')
  }
  const gz = gzipSync(Buffer.from('hello\n'.repeat(1000)))
  await assert.rejects(run(gz.subarray(0, gz.length - 30), {}), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_GZIP')
})

test('textLines and lineBatches split any chunking of plain or gzip bytes the same way (seeded)', async () => {
  const rand = rng(11)
  const lines = Array.from({ length: 2000 }, (_, i) => `${i}:` + 'é'.repeat(Math.floor(rand() * 40)))
  const text = lines.join('\n') // no final newline: the last line still counts
  for (const bytes of [Buffer.from(text), gzipSync(Buffer.from(text))]) {
    const a: string[] = []
    for await (const l of textLines(pieces(bytes, rand))) a.push(l)
    const b: string[] = []
    for await (const batch of lineBatches(pieces(bytes, rand))) b.push(...batch)
    assert.deepEqual(a, lines)
    assert.deepEqual(b, lines)
  }
})
