// A blob source made replayable: a put that must be retried (a leader election in the middle of an
// upload) needs its bytes twice, and a stream can be read once. Buffers stay in memory; streams are
// spooled to a temp file. Either way the SHA-256 is known, so a retry can recognise its own upload.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { BlobSource } from '../ddfs/types.js'

/** Bytes that can be read again, with their size and SHA-256. */
export interface Spooled {
  size: number
  /** SHA-256 of the bytes. */
  sha256: Buffer
  /** The bytes in memory (sources given as a buffer). */
  bytes?: Uint8Array
  /** A fresh stream over the bytes, as often as needed. */
  open(): AsyncIterable<Uint8Array>
  /** Removes the temp file, if any. */
  dispose(): Promise<void>
}

/** Makes `data` replayable (see the file comment); a failing source rejects and leaves no file. */
export async function spool(data: BlobSource): Promise<Spooled> {
  if (data instanceof Uint8Array) {
    const bytes = data
    return {
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest(),
      bytes,
      open: async function* () { yield bytes },
      dispose: async () => {},
    }
  }
  const file = join(tmpdir(), `disco-spool-${process.pid}-${randomBytes(6).toString('hex')}`)
  const hash = createHash('sha256')
  let size = 0
  const out = createWriteStream(file, { flags: 'wx' })
  try {
    for await (const c of data) {
      hash.update(c)
      size += c.length
      if (!out.write(c)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
  } catch (e) {
    out.destroy()
    await fsp.rm(file, { force: true })
    throw e
  }
  return {
    size,
    sha256: hash.digest(),
    open: () => createReadStream(file, { highWaterMark: 1 << 20 }),
    dispose: () => fsp.rm(file, { force: true }),
  }
}
