import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readChunks } from '#src/util/read-chunks.js'
import { mulberry32 } from '#src/util/random.js'

function tempFile(t: { after(fn: () => void): void }, bytes: Buffer): string {
  const d = mkdtempSync(join(tmpdir(), 'read-chunks-'))
  t.after(() => rmSync(d, { recursive: true, force: true }))
  const f = join(d, 'f')
  writeFileSync(f, bytes)
  return f
}

test('readChunks: the same bytes in buffers of at most `size`, read synchronously (fd) or not (FileHandle)', async (t) => {
  const rand = mulberry32(11)
  const data = Buffer.from(Array.from({ length: 2500 }, () => Math.floor(rand() * 256)))
  const f = tempFile(t, data)
  for (const size of [1, 7, 1000, 2500, 2501, 1 << 20]) {
    for (const open_ of [async () => openSync(f, 'r'), () => open(f, 'r')]) {
      const sizes: number[] = []
      const parts: Uint8Array[] = []
      for await (const b of readChunks(await open_(), size)) {
        sizes.push(b.byteLength)
        parts.push(b)
      }
      assert.ok(Buffer.concat(parts).equals(data), `size ${size}`)
      assert.ok(sizes.every((n, i) => n === size || (i === sizes.length - 1 && n < size)), `size ${size}: ${sizes.slice(-3).join(',')}`)
    }
  }
  const empty = tempFile(t, Buffer.alloc(0))
  for await (const _ of readChunks(openSync(empty, 'r'), 16)) assert.fail('an empty file has no chunks')
})

test('readChunks: closes the file at the end and when the reader stops early', async (t) => {
  const f = tempFile(t, Buffer.alloc(100, 1))
  const badFd = (fd: number): void => assert.throws(() => fstatSync(fd), (e: NodeJS.ErrnoException) => e.code === 'EBADF')
  for (const stopAt of [1, Infinity]) {
    const fd = openSync(f, 'r')
    let n = 0
    for await (const _ of readChunks(fd, 10)) if (++n === stopAt) break
    badFd(fd)
    const fh = await open(f, 'r')
    n = 0
    for await (const _ of readChunks(fh, 10)) if (++n === stopAt) break
    assert.equal(fh.fd, -1, 'the FileHandle is closed')
  }
})

test('readChunks with reuse: the same bytes, every chunk in one buffer (valid until the next is asked for)', async (t) => {
  const rand = mulberry32(12)
  const data = Buffer.from(Array.from({ length: 2500 }, () => Math.floor(rand() * 256)))
  const f = tempFile(t, data)
  for (const size of [1, 7, 1000, 2500, 2501]) {
    for (const open_ of [async () => openSync(f, 'r'), () => open(f, 'r')]) {
      const parts: Buffer[] = []
      const buffers = new Set<ArrayBufferLike>()
      for await (const b of readChunks(await open_(), size, { reuse: true })) {
        buffers.add(b.buffer)
        parts.push(Buffer.from(b)) // a copy: the chunk is overwritten by the next read
      }
      assert.ok(Buffer.concat(parts).equals(data), `size ${size}`)
      assert.equal(buffers.size, 1, `size ${size}: one buffer`)
    }
  }
})
