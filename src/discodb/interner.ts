// A compact set of byte strings for the writer: all bytes in one growable buffer, ids in
// first-appearance order, an open-addressing hash index. No per-entry JS objects.
import { DiscoError } from '../errors.js'

/** Limits of the format (u32 counts and lengths); lowered by tests to exercise the checks. */
export const LIMITS = {
  /** Most entries (keys or unique values): u32 counts. */
  maxEntries: 0xffffffff,
  /** Most bytes in one interner: the buffer is one typed array; offsets are u32. */
  maxBytes: 0xffffffff,
}

/** Largest buffer we allocate (Node's Buffer limit is 4 GiB). */
const MAX_BUFFER = 2 ** 32 - 1

function tooLarge(found: number): DiscoError {
  return new DiscoError('DDB_TOO_LARGE', `expected at most ${Math.min(LIMITS.maxBytes, MAX_BUFFER)} bytes of keys or values in total, found ${found}`)
}

/** Hash of `src[start..end)` (FNV-1a with a final avalanche). */
function hashBytes(src: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start)
  for (let i = start; i < end; i++) h = Math.imul(h ^ src[i]!, 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Interns byte strings: `intern(bytes)` returns the 0-based id of the first equal string added.
 * Entry `i` is `bytes[offsets[i]..offsets[i+1])`, so the buffer holds all entries in id order.
 *
 * @example
 * const s = new ByteInterner(); s.intern(b, 0, b.length) // 0, and 0 again for equal bytes
 */
export class ByteInterner {
  /** All entries back to back, in id order (capacity ≥ `byteLength`). */
  bytes: Buffer
  /** Used bytes of `bytes`. */
  byteLength = 0
  /** `count + 1` start offsets (capacity may be larger). */
  offsets: Uint32Array
  /** Number of entries. */
  count = 0
  private hashes: Uint32Array
  private table: Int32Array
  private mask: number

  constructor(initialBytes = 1 << 16, initialEntries = 1 << 10) {
    this.bytes = Buffer.allocUnsafeSlow(initialBytes)
    this.offsets = new Uint32Array(initialEntries + 1)
    this.hashes = new Uint32Array(initialEntries)
    this.table = new Int32Array(initialEntries * 4)
    this.mask = initialEntries * 2 - 1
  }

  /** Interns `src[start..end)` and returns its id. */
  intern(src: Uint8Array, start: number, end: number): number {
    return this.lookupOrAdd(src, start, end, hashBytes(src, start, end), true)
  }

  /** Interns the UTF-8 bytes of `s` (encoded straight into the buffer's free tail). */
  internString(s: string): number {
    if (!this.reserve(s.length * 3)) {
      // Not enough room for the worst case: check the exact size before giving up.
      const exact = Buffer.byteLength(s, 'utf8')
      if (!this.reserve(exact)) throw tooLarge(this.byteLength + exact)
    }
    const at = this.byteLength
    const len = this.bytes.write(s, at, 'utf8')
    return this.lookupOrAdd(this.bytes, at, at + len, hashBytes(this.bytes, at, at + len), false)
  }

  /** True when entry `id` equals `src[start..end)`. */
  equals(id: number, src: Uint8Array, start: number, end: number): boolean {
    const o = this.offsets[id]!
    const len = end - start
    if (this.offsets[id + 1]! - o !== len) return false
    const bytes = this.bytes
    for (let i = 0; i < len; i++) if (bytes[o + i] !== src[start + i]) return false
    return true
  }

  /** Length in bytes of entry `id`. */
  lengthOf(id: number): number {
    return this.offsets[id + 1]! - this.offsets[id]!
  }

  /** Forgets every entry with id ≥ `count` (undoes a partly applied `add`). */
  truncate(count: number): void {
    if (count >= this.count) return
    this.count = count
    this.byteLength = this.offsets[count]!
    this.table.fill(0)
    for (let id = 0; id < count; id++) this.place(id)
  }

  /** Grows the buffer so that `extra` more bytes fit after `byteLength`; false if over the limit. */
  private reserve(extra: number): boolean {
    const need = this.byteLength + extra
    if (need <= this.bytes.length) return true
    const hardCap = Math.min(LIMITS.maxBytes, MAX_BUFFER)
    if (need > hardCap) return false
    let cap = this.bytes.length * 2
    while (cap < need) cap *= 2
    const next = Buffer.allocUnsafeSlow(Math.min(cap, hardCap))
    this.bytes.copy(next, 0, 0, this.byteLength)
    this.bytes = next
    return true
  }

  private lookupOrAdd(src: Uint8Array, start: number, end: number, h: number, copy: boolean): number {
    const len = end - start
    const table = this.table
    const mask = this.mask
    // Slots are pairs [id + 1, hash]: one cache line tells "empty", "other hash" or "candidate".
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = table[2 * slot]!
      if (e === 0) break
      if (table[2 * slot + 1] !== (h | 0)) continue
      if (this.equals(e - 1, src, start, end)) return e - 1
    }
    if (this.count >= LIMITS.maxEntries) {
      throw new DiscoError('DDB_TOO_LARGE', `expected at most ${LIMITS.maxEntries} distinct keys or values, found more`)
    }
    if (copy) {
      if (!this.reserve(len)) throw tooLarge(this.byteLength + len)
      const dst = this.bytes
      const at = this.byteLength
      if (len <= 64) for (let i = 0; i < len; i++) dst[at + i] = src[start + i]!
      else dst.set(src.subarray(start, end), at)
    }
    const id = this.count
    if (id >= this.hashes.length) this.growEntries()
    this.byteLength += len
    this.count = id + 1
    this.offsets[id + 1] = this.byteLength
    this.hashes[id] = h
    if (this.count * 2 > this.mask + 1) this.rehash()
    else this.place(id)
    return id
  }

  private place(id: number): void {
    const h = this.hashes[id]!
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      if (this.table[2 * slot] === 0) {
        this.table[2 * slot] = id + 1
        this.table[2 * slot + 1] = h
        return
      }
    }
  }

  private growEntries(): void {
    const offsets = new Uint32Array(this.hashes.length * 2 + 1)
    offsets.set(this.offsets)
    this.offsets = offsets
    const hashes = new Uint32Array(this.hashes.length * 2)
    hashes.set(this.hashes)
    this.hashes = hashes
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2)
    this.mask = this.table.length / 2 - 1
    for (let id = 0; id < this.count; id++) this.place(id)
  }
}

/** A growable list of u32 (pairs in the writer, words of a packed hash structure). */
export class U32List {
  data: Uint32Array
  length = 0

  constructor(capacity = 1024) {
    this.data = new Uint32Array(Math.max(1, capacity))
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = v
  }

  /** Appends every word of `ws`. */
  append(ws: Uint32Array): void {
    for (let i = 0; i < ws.length; i++) this.push(ws[i]!)
  }

  /** The words as little-endian bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length * 4)
    const dv = new DataView(out.buffer)
    for (let i = 0; i < this.length; i++) dv.setUint32(i * 4, this.data[i]!, true)
    return out
  }
}
