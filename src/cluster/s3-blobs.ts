// DDFS blobs in an S3 bucket (AWS S3, MinIO, R2, Ceph; `s3rver` in tests), URLs
// `s3://<bucket>/<prefix><name>`. Small blobs are one PutObject; a stream longer than one part
// becomes a multipart upload that is aborted when the source fails, so nothing partial is visible.
import {
  S3Client, PutObjectCommand, GetObjectCommand, DeleteObjectCommand, ListObjectsV2Command, HeadObjectCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { DiscoError } from '../errors.js'
import type { BlobInfo, BlobSource, BlobStore, PutOptions } from '../ddfs/types.js'
import { blobNameOf, blobUrlSegment, checkBlobName } from './obj-blobs.js'

/** Multipart part size (S3's minimum part is 5 MiB). */
const PART_SIZE = 8 * 1024 * 1024

/** Where an S3 blob store keeps its blobs. */
export interface S3BlobOptions {
  /** `s3://bucket[/prefix]` */
  url: string
  /** Endpoint of an S3-compatible server (path-style addressing is used then). */
  endpoint?: string
  /** Region (default `$AWS_REGION`, else `us-east-1`). Credentials come from the AWS default chain. */
  region?: string
  /** Explicit credentials (tests); default: the AWS SDK's chain (env, profile, instance role). */
  credentials?: { accessKeyId: string, secretAccessKey: string }
}

function isMissing(e: unknown): boolean {
  const err = e as { name?: string, $metadata?: { httpStatusCode?: number } }
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404
}

/**
 * BlobStore on S3.
 *
 * @example
 * const blobs = new S3BlobStore({ url: 's3://my-bucket/ddfs', endpoint: 'http://127.0.0.1:4568' })
 * (await blobs.put('x$1', Buffer.from('hi'))).url // 's3://my-bucket/ddfs/x$1'
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string
  /** Key prefix, `''` or ending in `/`. */
  readonly keyPrefix: string
  private readonly s3: S3Client
  private readonly urlPrefix: string

  constructor(opts: S3BlobOptions) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,62})(?:\/(.*))?$/.exec(opts.url)
    if (!m) throw new DiscoError('CLUSTER_BAD_URL', `expected s3://bucket[/prefix], found ${JSON.stringify(opts.url)}`)
    this.bucket = m[1]!
    const p = (m[2] ?? '').replace(/^\/+|\/+$/g, '')
    this.keyPrefix = p ? p + '/' : ''
    this.urlPrefix = `s3://${this.bucket}/${this.keyPrefix}`
    const cfg: S3ClientConfig = {
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: 5,
    }
    this.s3 = new S3Client(cfg)
  }

  owns(url: string): boolean {
    return typeof url === 'string' && url.startsWith(this.urlPrefix)
  }

  private keyOf(url: string): string {
    if (typeof url !== 'string' || !this.owns(url)) throw new DiscoError('DDFS_BAD_URL', `expected a URL starting with ${this.urlPrefix}, found ${JSON.stringify(String(url).slice(0, 200))}`)
    return this.keyPrefix + blobNameOf(url, url.slice(this.urlPrefix.length))
  }

  /**
   * Stores a blob. Without `replace`, a name already stored is DDFS_BLOB_EXISTS (checked with a
   * HEAD first: S3-compatible servers do not all support conditional writes, so two concurrent
   * first puts of one name may both succeed; DDFS names are unique per put); with it, S3's PUT
   * replaces the object atomically.
   */
  async put(name: string, data: BlobSource, opts: PutOptions = {}): Promise<BlobInfo> {
    checkBlobName(name)
    const key = this.keyPrefix + name
    if (!opts.replace) {
      const exists = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })).then(() => true, (e) => { if (isMissing(e)) return false; throw e })
      if (exists) throw new DiscoError('DDFS_BLOB_EXISTS', `blob ${name} is already stored in s3://${this.bucket}`)
    }
    let size = 0
    if (data instanceof Uint8Array) {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length }))
      size = data.length
    } else {
      size = await this.putStream(key, data)
    }
    return { url: this.urlPrefix + blobUrlSegment(name), size, mtime: Date.now() }
  }

  /** Buffers up to one part; a longer stream becomes a multipart upload (aborted on failure). */
  private async putStream(key: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    let buf: Buffer[] = []
    let buffered = 0
    let total = 0
    let uploadId: string | undefined
    const parts: { ETag: string | undefined, PartNumber: number }[] = []
    const flush = async (): Promise<void> => {
      const body = Buffer.concat(buf, buffered)
      buf = []
      buffered = 0
      if (uploadId === undefined) {
        uploadId = (await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }))).UploadId
      }
      const n = parts.length + 1
      const r = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.length }))
      parts.push({ ETag: r.ETag, PartNumber: n })
    }
    try {
      for await (const c of data) {
        buf.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength))
        buffered += c.length
        total += c.length
        if (buffered >= PART_SIZE) await flush()
      }
      if (uploadId === undefined) {
        const body = Buffer.concat(buf, buffered)
        await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length }))
        return total
      }
      if (buffered > 0) await flush()
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }))
      return total
    } catch (e) {
      if (uploadId !== undefined) await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => {})
      throw e
    }
  }

  async get(url: string): Promise<AsyncIterable<Uint8Array>> {
    const key = this.keyOf(url)
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return r.Body as AsyncIterable<Uint8Array>
    } catch (e) {
      if (isMissing(e)) throw new DiscoError('DDFS_BLOB_NOT_FOUND', `blob ${url} is not stored in s3://${this.bucket}`)
      throw e
    }
  }

  async delete(url: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(url) })).catch((e) => { if (!isMissing(e)) throw e })
  }

  async *list(): AsyncIterable<BlobInfo> {
    let token: string | undefined
    do {
      const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix, ContinuationToken: token }))
      for (const o of r.Contents ?? []) {
        const name = o.Key!.slice(this.keyPrefix.length)
        if (!name || name.includes('/')) continue
        yield { url: this.urlPrefix + blobUrlSegment(name), size: o.Size ?? 0, mtime: o.LastModified?.getTime() ?? 0 }
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined
    } while (token)
  }

  /** Closes the HTTP agent. */
  close(): void {
    this.s3.destroy()
  }
}
