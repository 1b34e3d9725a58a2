// Reading a file a buffer at a time, one way for every layer (DDFS blobs, Disco file inputs).
import { closeSync, readSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'

/**
 * The bytes of an open file from its current position, one new buffer of up to `size` bytes per
 * read, read when asked for (no read-ahead queue, unlike a read stream): a buffer is garbage as
 * soon as its reader moves on, so a thread frees it young instead of piling up read buffers as old
 * garbage. With `reuse`, every read goes into one buffer: a chunk is valid only until the next
 * one is asked for (for a reader that keeps no view of a chunk past that: no buffer to make, fault
 * in and collect per read). A file descriptor (a number) is read synchronously, a `FileHandle`
 * asynchronously. The file is closed at the end, or when the reader stops early.
 *
 * @example
 * for await (const b of readChunks(openSync('a.txt', 'r'), 1 << 20)) total += b.byteLength
 * // a 2.5 MiB file: buffers of 1 MiB, 1 MiB, 0.5 MiB
 */
export async function* readChunks(file: FileHandle | number, size: number, opts: { reuse?: boolean } = {}): AsyncGenerator<Uint8Array> {
  const one = opts.reuse === true ? Buffer.allocUnsafeSlow(size) : undefined
  try {
    for (;;) {
      const b = one ?? Buffer.allocUnsafeSlow(size)
      const n = typeof file === 'number' ? readSync(file, b, 0, size, null) : (await file.read(b, 0, size, null)).bytesRead
      if (n === 0) return
      yield n === size ? b : b.subarray(0, n)
    }
  } finally {
    if (typeof file === 'number') closeSync(file)
    else await file.close()
  }
}
