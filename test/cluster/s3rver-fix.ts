// Loaded with `node --import` into the s3rver test server (see startS3rver in servers.ts).
// s3rver 3.7.1 answers a PUT before the object's bytes reach its file: FilesystemStore.putObject
// resolves on `writeStream.end(buffer)` (Buffer bodies) or on its hashing transform's 'finish'
// (streams), not on the file stream's 'finish'. A GET right after a PUT that replaces an object
// may then read an empty or partial file (seen as a flake of the BlobStore compliance suite's
// "written once unless replaced" case). This replaces that one method with one that resolves
// after the file is written, so the test server is read-after-write consistent like S3.
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

interface StoredObject { bucket: string, key: string, content: Buffer | Readable, metadata: unknown }
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, kind: string): string
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>
}

const require_ = createRequire(import.meta.url)
const FilesystemStore = require_('s3rver/lib/stores/filesystem.js') as { prototype: Record<string, unknown> }

FilesystemStore.prototype['putObject'] = async function putObject (this: FilesystemStore, object: StoredObject): Promise<{ size: number, md5: string }> {
  const path = this.getResourcePath(object.bucket, object.key, 'object')
  await mkdir(dirname(path), { recursive: true })
  const hash = createHash('md5')
  let size = 0
  const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content
  const count = new Transform({ transform (chunk: Buffer, _enc, done) { hash.update(chunk); size += chunk.length; done(null, chunk) } })
  await pipeline(source, count, createWriteStream(path))
  const md5 = hash.digest('hex')
  await this.putMetadata(object.bucket, object.key, object.metadata, md5)
  return { size, md5 }
}
