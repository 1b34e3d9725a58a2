// One way to replace a small file atomically: write a temporary file in the same folder, then
// rename it over the target, so a reader sees the old file or the new one, never a part.
import { renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'

/**
 * Writes `data` to `path` atomically (temporary file beside it, then rename); on failure the
 * temporary file is removed and the original error is thrown.
 *
 * @example
 * writeFileAtomicSync('state/lease', JSON.stringify(lease))
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, path)
  } catch (e) {
    try {
      unlinkSync(tmp)
    } catch {
      // the temporary file was never created
    }
    throw e
  }
}
