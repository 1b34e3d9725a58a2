// A streaming tar reader (ustar, pax and GNU long names) for `ddfs push -x`: one blob per member.
import { DiscoError } from '../errors.js'

/** One regular-file member; `body` must be read (or abandoned) before asking for the next one. */
export interface TarMember {
  name: string
  size: number
  body: AsyncIterable<Uint8Array>
}

/** Exact-length reads over a chunk stream. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0)
  private done = false
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Fills the buffer to at least `n` bytes, unless the stream ends first. */
  private async fill(n: number): Promise<void> {
    const parts = [this.buf]
    let len = this.buf.length
    while (len < n && !this.done) {
      const r = await this.it.next()
      if (r.done) { this.done = true; break }
      parts.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength))
      len += r.value.byteLength
    }
    if (parts.length > 1) this.buf = Buffer.concat(parts, len)
  }

  /** Exactly `n` bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n)
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(out.length)
    return out
  }

  /** Streams `span.left` bytes in pieces, counting down `span.left`; throws when the stream ends early. */
  async *stream(span: { left: number }, label: string): AsyncGenerator<Uint8Array> {
    while (span.left > 0) {
      if (this.buf.length === 0) await this.fill(1)
      if (this.buf.length === 0) throw new DiscoError('DDFS_BAD_TAR', `${label}: the archive ends inside a member (${span.left} bytes missing)`)
      const piece = this.buf.subarray(0, Math.min(span.left, this.buf.length))
      this.buf = this.buf.subarray(piece.length)
      span.left -= piece.length
      yield piece
    }
  }
}

function text(h: Buffer, from: number, len: number): string {
  const s = h.subarray(from, from + len)
  const z = s.indexOf(0)
  return s.subarray(0, z >= 0 ? z : s.length).toString('utf8')
}

/** The size field: octal text, or base-256 when the high bit is set. */
function sizeOf(h: Buffer, label: string): number {
  if (h[124]! & 0x80) {
    let v = 0
    for (let i = 125; i < 136; i++) v = v * 256 + h[i]!
    return v
  }
  const t = text(h, 124, 12).trim()
  const v = t === '' ? 0 : parseInt(t, 8)
  if (!Number.isSafeInteger(v) || v < 0) throw new DiscoError('DDFS_BAD_TAR', `${label}: bad member size field ${JSON.stringify(t)}`)
  return v
}

function checksumOk(h: Buffer): boolean {
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!
  return parseInt(text(h, 148, 8).trim(), 8) === sum
}

/** The `path` record of a pax extended header, if any. */
function paxPath(body: Buffer): string | undefined {
  let pos = 0
  let path: string | undefined
  while (pos < body.length) {
    const sp = body.indexOf(32, pos)
    if (sp < 0) break
    const len = Number(body.toString('ascii', pos, sp))
    if (!Number.isSafeInteger(len) || len <= 0) break
    const rec = body.toString('utf8', sp + 1, pos + len - 1)
    const eq = rec.indexOf('=')
    if (rec.slice(0, eq) === 'path') path = rec.slice(eq + 1)
    pos += len
  }
  return path
}

/**
 * The regular files of a tar stream, in archive order (directories, links and devices skipped).
 *
 * @example
 * for await (const m of tarMembers(fs.createReadStream('logs.tar'))) await blobs.put(m.name, m.body)
 */
export async function* tarMembers(source: AsyncIterable<Uint8Array>, label = 'archive'): AsyncGenerator<TarMember> {
  const r = new ByteReader(source[Symbol.asyncIterator]())
  let longName: string | undefined
  for (;;) {
    const h = await r.read(512)
    if (h.length === 0 || h.every((b) => b === 0)) return
    if (h.length < 512 || !checksumOk(h)) throw new DiscoError('DDFS_BAD_TAR', `${label}: expected a tar header block, found ${h.length < 512 ? 'a truncated block' : 'a bad checksum'}`)
    const size = sizeOf(h, label)
    const type = String.fromCharCode(h[156]!)
    const pad = (512 - (size % 512)) % 512
    if (type === 'x' || type === 'L') {
      const body = await r.read(size + pad)
      const meta = body.subarray(0, size)
      longName = type === 'x' ? paxPath(meta) ?? longName : text(meta, 0, meta.length)
      continue
    }
    const prefix = text(h, 257, 6).startsWith('ustar') ? text(h, 345, 155) : ''
    const name = longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100))
    longName = undefined
    const span = { left: size }
    if (type === '0' || type === '\0' || type === '7') yield { name, size, body: r.stream(span, label) }
    // Skip whatever the consumer did not read (all of it for non-files), then the padding.
    for await (const _ of r.stream(span, label)) { /* skip */ }
    await r.read(pad)
  }
}
