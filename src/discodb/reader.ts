// The hot read paths of a DiscoDB over one byte buffer: key lookup, located value-ID lists
// (decoded into caller arrays, streamed against candidates, visited), value extents, and the
// columnar views for scans. Nothing here allocates per value. A DB opened from a file is read in
// two sections on demand (the index: hash, key TOC and key records; the values: value TOC,
// values and codebook), each by one positional read into one buffer of the DB's size.
// A value-ID list (spec 2.3) is a u32 count, then an LSB-first bit stream holding `w - 1` in 5 bits
// and `count` deltas of `w` bits each.
import { closeSync, fstatSync, readSync } from 'node:fs'
import { DiscoError } from '../errors.js'
import { type Bytes, bytesOf, corrupt, readBits } from './bytes.js'
import { type Chd, binKey, chdBin, chdBinWords, readChd } from './chd.js'
import type { QuerySource } from './engine.js'
import { type DiscoDBHeader, HEADER_SIZE, badSize, sameHeader } from './header.js'
import { type Codebook, decodeHuffman, decodeHuffmanInto, decodedCap, huffmanScratch, readCodebook } from './huffman.js'
import { WasmValueDecoder } from './huffman-wasm.js'
import { WasmListDecoder } from './list-wasm.js'

/**
 * Receives one value as a byte range: `bytes[start, end)`. The bytes are the DB's own (or, for a
 * compressed DB, a shared decoding buffer): valid only during the call; copy what you keep.
 */
export type ValueVisitor = (bytes: Uint8Array, start: number, end: number) => void

/** Byte positions in a DB's bytes: Uint32Array below 4 GiB, else Float64Array. */
export type Offsets = Uint32Array | Float64Array

/** Sections of a lazily opened DB. */
export const S_INDEX = 1
export const S_VALUES = 2
export const S_ALL = 3

/** Where the unread sections of a DB opened from a file come from. */
export interface LazyFile {
  fd: number
  readonly path: string
  /** Byte offset of the DB in the file. */
  readonly offset: number
}

/** Closes the descriptor of a DB dropped before all of it was read. */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
})

/** Wraps a file-system error as `IO_<errno>`. */
export function ioError(e: unknown, path: string): DiscoError {
  if (e instanceof DiscoError) return e
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
  return new DiscoError(`IO_${code}`, `${path}: ${(e as Error).message}`, { cause: e })
}

function badId(id: number, maxId: number): never {
  return corrupt('value ID', `1..${maxId}`, id)
}

const EMPTY = new Uint32Array(0)
const EMPTY_I32 = new Int32Array(0)
const EMPTY_BYTES = new Uint8Array(0)
const EMPTY_B = bytesOf(EMPTY_BYTES)

/** A looked-up key as little-endian words (zero past its end), grown for longer keys. */
let keyWords = new Int32Array(64)

/** Room for a key of `n` bytes. */
function growKeyWords(n: number): void {
  keyWords = new Int32Array(Math.max(2 * keyWords.length, (n >>> 2) + 2))
}

/**
 * A TOC table of ascending offsets in two compact parts, for the random reads of lookups: entry
 * k is `base[k >>> 8] + rel[k]` (2 bytes an entry instead of 4, so that more of it stays in the
 * cache). Null when the entries of some run of 256 span 64 KiB or more.
 */
interface CompactToc {
  readonly base: Uint32Array
  readonly rel: Uint16Array
}

/** The compact form of an ascending table (see CompactToc), or null. */
function compactToc(t: Uint32Array): CompactToc | null {
  const base = new Uint32Array((t.length + 255) >>> 8)
  const rel = new Uint16Array(t.length)
  for (let k = 0; k < t.length; k++) {
    if ((k & 255) === 0) base[k >>> 8] = t[k]!
    const d = t[k]! - base[k >>> 8]!
    if (d > 0xffff) return null
    rel[k] = d
  }
  return { base, rel }
}

/** A copy of `a[0, keep)` in an array of at least `need` (and at least twice `a`'s) entries. */
function grow(a: Uint32Array, keep: number, need: number): Uint32Array {
  const b = new Uint32Array(Math.max(need, 2 * a.length))
  b.set(a.subarray(0, keep))
  return b
}

/** A plain Uint8Array over uninitialised memory (callers write before reading). */
export function unsafeBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n)
  return new Uint8Array(b.buffer, b.byteOffset, n)
}

/** Reusable buffers of value batches: offsets and decoded bytes. */
export interface BatchPool {
  offsets: Uint32Array
  out: Uint8Array
}

/** The read side of one DB. Callers `ensure` the sections they touch once per public call. */
export class Reader implements QuerySource {
  readonly h: DiscoDBHeader
  /** U: value IDs are 1..U. */
  readonly U: number
  readonly keyTocEnd: number
  readonly valueTocEnd: number
  readonly valuesEnd: number
  buf: Uint8Array
  b: Bytes
  /** Sections present in `buf` (S_* bits). */
  have: number
  /** The located list (set by `locate`): count, delta width, stream start. */
  count = 0
  w = 1
  base = 0
  /** The checked extent of the last `extent` call. */
  vs = 0
  ve = 0
  /** The key of the last `locate` call: bytes [keyStart, keyEnd). */
  keyStart = 0
  keyEnd = 0
  /** End of the key record of the last `recStart` call. */
  recEnd = 0
  /**
   * Finds `key` (CHD for hashed DBs, scan otherwise): true when present, and then its record is
   * current (keyStart, keyEnd, recEnd) for `locateFound`.
   */
  readonly seek: (key: Uint8Array) => boolean
  /** Visits value `id` (checked) as a byte range. */
  readonly visitId: (id: number, fn: ValueVisitor) => void
  /** Bytes of value `id` (checked): a sub-view, or a fresh decoded copy. */
  readonly valueAt: (id: number) => Uint8Array
  #file: LazyFile | undefined
  /** Key record starts (numKeys + 1, checked once); null when the TOC is damaged or the DB is ≥ 4 GiB. */
  #keyOffs: Uint32Array | null | undefined
  /** Value starts (U + 1, checked once); null when the TOC is damaged or the DB is ≥ 4 GiB. */
  #valueOffs: Uint32Array | null | undefined
  /** The key and value tables in compact form for lookups (made with the first lookup; null when not possible). */
  #keyCompact: CompactToc | null | undefined
  #valueCompact: CompactToc | null | undefined
  #chd: Chd | undefined
  #codebook: Codebook | undefined
  /** visitList's scratch (IDs, starts, ends) and whether a visit is running (nested visits allocate). */
  #scratch: Uint32Array = EMPTY
  /** locateKeys' per-key bins, then candidate key indexes. */
  #cands = EMPTY_I32
  #visiting = false
  /** Sum of bytes read only to bring them into the cache (kept so the reads are not dropped). */
  touched = 0
  /** Buffers of a compressed DB's value batches, kept between scans (made by the first scan). */
  #batchPool: BatchPool | undefined
  /** Whether a scan holds `#batchPool`. */
  #batchBusy = false
  /** The WebAssembly batch decoder of a compressed DB with a checked value TOC (see takeWasm). */
  readonly #wasm = new Lease<WasmValueDecoder>(() => {
    const t = this.#valueTable()
    // The codebook is checked (lengths 0..16) before the decoder reads it.
    return t === null || this.U === 0 ? null : WasmValueDecoder.create(this.buf, t, this.h.codebookOffs, this.codebook().lengths)
  })
  /** The WebAssembly decoder of key records for item scans (see takeListDecoder). */
  readonly #lists = new Lease<WasmListDecoder>(() => {
    const t = this.#keyTable()
    return t === null ? null : WasmListDecoder.create(this.buf, t, this.keyTocEnd, this.h.id2valueOffs, this.U)
  })

  /**
   * `bytes` holds the whole DB (have = S_ALL), or is undefined: then `file` has it all (its
   * length is checked against the header's size, and its header against `h`, on the first read).
   */
  constructor(h: DiscoDBHeader, bytes: Uint8Array | undefined, file?: LazyFile) {
    this.h = h
    this.U = h.numUniqueValues
    this.buf = bytes ?? EMPTY_BYTES
    this.b = bytes === undefined ? EMPTY_B : bytesOf(bytes)
    this.have = file === undefined ? S_ALL : 0
    this.#file = file
    if (file !== undefined) closer.register(this, file.fd, this)
    this.keyTocEnd = h.key2valuesOffs + (h.numKeys + 1) * 8
    this.valueTocEnd = h.id2valueOffs + (h.numUniqueValues + 1) * 8
    this.valuesEnd = h.compressed ? h.codebookOffs : h.size
    this.seek = h.hashed ? (k) => this.#hashSeek(k) : (k) => this.#scanSeek(k)
    if (h.compressed) {
      this.visitId = (id, fn) => this.#visitHuffman(id, fn)
      this.valueAt = (id) => {
        this.extent(id)
        return decodeHuffman(this.codebook(), this.buf, this.b.view, this.vs, this.ve)
      }
    } else {
      this.visitId = (id, fn) => {
        this.extent(id)
        fn(this.buf, this.vs, this.ve)
      }
      // `buf` is always a plain Uint8Array: subarray makes one too (cheaper than the constructor).
      this.valueAt = (id) => {
        this.extent(id)
        return this.buf.subarray(this.vs, this.ve)
      }
    }
  }

  /** Makes sure the sections in `mask` are in memory (reads them on first use). */
  ensure(mask: number): void {
    if ((this.have & mask) !== mask) this.#load(mask)
  }

  /** Releases the file of a lazily opened DB; later reads of unread sections fail (DDB_CLOSED). */
  close(): void {
    const f = this.#file
    if (f === undefined) return
    this.#file = undefined
    closer.unregister(this)
    try {
      closeSync(f.fd)
    } catch (e) {
      throw ioError(e, f.path)
    }
  }

  #load(mask: number): void {
    const f = this.#file
    if (f === undefined) {
      throw new DiscoError('DDB_CLOSED', 'the DB was closed: expected an open DB to read its unread sections, found it closed')
    }
    const h = this.h
    const want = mask & ~this.have
    try {
      if (this.buf.length < h.size) {
        // Is the file long enough for the DB (open read only the header)? The error is the one
        // `loads` gives for the same bytes.
        const avail = Math.max(0, fstatSync(f.fd).size - f.offset)
        if (avail < h.size) badSize(h.size, avail)
        // One buffer of the DB's size; the sections are read into place, the header with the
        // index (or alone), and checked to be the one `open` read.
        const full = Buffer.allocUnsafe(h.size)
        this.buf = new Uint8Array(full.buffer, full.byteOffset, h.size)
        this.b = bytesOf(this.buf)
        if ((want & S_INDEX) === 0) this.#read(f, 0, HEADER_SIZE)
      }
      if (want & S_INDEX) this.#read(f, this.have === 0 ? 0 : HEADER_SIZE, h.id2valueOffs)
      if (this.have === 0) sameHeader(h, this.b)
      if (want & S_VALUES) this.#read(f, h.id2valueOffs, h.size)
    } catch (e) {
      throw ioError(e, f.path)
    }
    this.have |= want
    if (this.have === S_ALL) this.close()
  }

  /** Reads the DB's bytes [from, to) from the file into place. */
  #read(f: LazyFile, from: number, to: number): void {
    let at = from
    while (at < to) {
      const n = readSync(f.fd, this.buf, at, to - at, f.offset + at)
      if (n === 0) {
        throw new DiscoError('DDB_BAD_SIZE', `${f.path}: file shrank: expected ${this.h.size} bytes of DB at offset ${f.offset}, found ${at}`)
      }
      at += n
    }
  }

  /** The codebook of a compressed DB (parsed on first use). */
  codebook(): Codebook {
    return (this.#codebook ??= readCodebook(this.b, this.h.codebookOffs))
  }

  /**
   * Start of key record `i`, bounds-checked; its end is left in `recEnd`.
   */
  recStart(i: number): number {
    let t = this.#keyOffs
    if (t === undefined) t = this.#keyOffs = this.#tocTable(this.h.key2valuesOffs, this.h.numKeys, this.keyTocEnd, this.h.id2valueOffs)
    if (t !== null && i >= 0 && i < this.h.numKeys) {
      this.recEnd = t[i + 1]!
      return t[i]!
    }
    const v = this.b.view
    const p = this.h.key2valuesOffs + i * 8
    const s = v.getUint32(p + 4, true) * 0x100000000 + v.getUint32(p, true)
    const e = v.getUint32(p + 12, true) * 0x100000000 + v.getUint32(p + 8, true)
    if (s < this.keyTocEnd || s > e || e > this.h.id2valueOffs) {
      corrupt(`key record ${i} extent`, `${this.keyTocEnd} <= start <= end <= ${this.h.id2valueOffs}`, `[${s}, ${e})`)
    }
    this.recEnd = e
    return s
  }

  /** Length of the key of record `i` at [s, e), checked to leave room for the list count. */
  keyLength(i: number, s: number, e: number): number {
    const len = s + 4 <= e ? this.b.view.getUint32(s, true) : -1
    if (len < 0 || s + 8 + len > e) corrupt(`key record ${i}`, `a key and a count within ${e - s} bytes`, len)
    return len
  }

  /** Key bytes of record `i` (a sub-view). */
  keyAt(i: number): Uint8Array {
    const s = this.recStart(i)
    const len = this.keyLength(i, s, this.recEnd)
    return this.buf.subarray(s + 4, s + 4 + len)
  }

  /** True when record `i` holds exactly `key` (compared in place). */
  keyEquals(i: number, key: Uint8Array): boolean {
    const s = this.recStart(i)
    const len = this.keyLength(i, s, this.recEnd)
    if (len !== key.length) return false
    const buf = this.buf
    for (let j = 0, p = s + 4; j < len; j++, p++) if (buf[p] !== key[j]) return false
    this.keyStart = s + 4
    this.keyEnd = s + 4 + len
    return true
  }

  #scanSeek(key: Uint8Array): boolean {
    for (let i = this.h.numKeys - 1; i >= 0; i--) if (this.keyEquals(i, key)) return true
    return false
  }

  #hashSeek(key: Uint8Array): boolean {
    const chd = (this.#chd ??= readChd(this.b, HEADER_SIZE, this.h.key2valuesOffs, this.h.numKeys))
    const t = this.#keyTable()
    if (t === null) return this.#matchKey(binKey(chd, chdBin(chd, key)), key, 0, key.length)
    // The key as words (hashed and compared four bytes at a time), zero past its end.
    const n = key.length
    if ((n >>> 2) + 1 > keyWords.length) growKeyWords(n)
    const words = keyWords
    // Whole words from the key's bytes, then the last 1-3 bytes (a builtin copy costs more for
    // keys this short).
    const full = n >>> 2
    for (let j = 0, q = 0; j < full; j++, q += 4) words[j] = key[q]! | (key[q + 1]! << 8) | (key[q + 2]! << 16) | (key[q + 3]! << 24)
    const tail = n & 3
    if (tail !== 0) {
      const q = n - tail
      words[full] = tail === 1 ? key[q]! : tail === 2 ? key[q]! | (key[q + 1]! << 8) : key[q]! | (key[q + 1]! << 8) | (key[q + 2]! << 16)
    }
    // The CHD has exactly numKeys occupied bins: a candidate is -1 or a key index.
    const i = binKey(chd, chdBinWords(chd, words, n))
    if (i < 0) return false
    let kc = this.#keyCompact
    if (kc === undefined) kc = this.#keyCompact = compactToc(t)
    let s: number
    let e: number
    if (kc !== null) {
      s = kc.base[i >>> 8]! + kc.rel[i]!
      e = kc.base[(i + 1) >>> 8]! + kc.rel[i + 1]!
    } else {
      s = t[i]!
      e = t[i + 1]!
    }
    const view = this.b.view
    const len = s + 4 <= e ? view.getUint32(s, true) : -1
    if (len < 0 || s + 8 + len > e) this.keyLength(i, s, e) // throws, naming the record
    if (len !== n) return false
    // Word by word; the last word's bytes past the key (at most 3, of the list's count, inside
    // the record) are masked off.
    const p = s + 4
    for (let j = 0; j < full; j++) if (view.getInt32(p + 4 * j, true) !== words[j]) return false
    if (tail !== 0 && ((view.getInt32(p + 4 * full, true) ^ words[full]!) & ((1 << (8 * tail)) - 1)) !== 0) return false
    this.recEnd = e
    this.keyStart = p
    this.keyEnd = p + n
    return true
  }

  /** The checked key TOC table (or null when it is damaged or the DB is ≥ 4 GiB). */
  #keyTable(): Uint32Array | null {
    let t = this.#keyOffs
    if (t === undefined) t = this.#keyOffs = this.#tocTable(this.h.key2valuesOffs, this.h.numKeys, this.keyTocEnd, this.h.id2valueOffs)
    return t
  }

  /** True when key record `i` (the hash's candidate, -1 for none) holds `key[ks, ke)`; then it is current. */
  #matchKey(i: number, key: Uint8Array, ks: number, ke: number): boolean {
    // The CHD has exactly numKeys occupied bins: a candidate is -1 or a key index.
    if (i < 0) return false
    const t = this.#keyTable()
    if (t === null) return this.keyEquals(i, ks === 0 && ke === key.length ? key : key.subarray(ks, ke))
    // The key's record from the checked TOC table, compared in place.
    const s = t[i]!
    const e = t[i + 1]!
    const len = s + 4 <= e ? this.b.view.getUint32(s, true) : -1
    if (len < 0 || s + 8 + len > e) this.keyLength(i, s, e) // throws, naming the record
    if (len !== ke - ks) return false
    const buf = this.buf
    for (let j = ks, p = s + 4; j < ke; j++, p++) if (buf[p] !== key[j]) return false
    this.recEnd = e
    this.keyStart = s + 4
    this.keyEnd = s + 4 + len
    return true
  }

  /**
   * Locates the lists of keys k in [from, to) into `count` / `w` / `base` at the same indexes
   * (count 0 for an absent key), like `locateKey` on each; key k is
   * `bytes[bounds[at + k], bounds[at + k + 1])`. A hashed DB does it in stages (all hashes, then
   * every candidate record touched, then the compares), so that the cache misses of different
   * keys overlap.
   */
  locateKeys(bytes: Uint8Array, bounds: Int32Array, at: number, from: number, to: number, count: Float64Array, w: Uint8Array, base: Float64Array): void {
    const t = this.h.hashed && to - from > 1 ? this.#keyTable() : null
    if (t === null) {
      for (let k = from; k < to; k++) {
        count[k] = this.locateKey(bytes.subarray(bounds[at + k]!, bounds[at + k + 1]!))
        w[k] = this.w
        base[k] = this.base
      }
      return
    }
    const chd = (this.#chd ??= readChd(this.b, HEADER_SIZE, this.h.key2valuesOffs, this.h.numKeys))
    if (this.#cands.length < to) this.#cands = new Int32Array(Math.max(to, 2 * this.#cands.length, 16))
    const cands = this.#cands
    for (let k = from; k < to; k++) cands[k] = chdBin(chd, bytes, bounds[at + k]!, bounds[at + k + 1]!)
    const buf = this.buf
    const nk = this.h.numKeys
    let touch = 0
    for (let k = from; k < to; k++) {
      const i = binKey(chd, cands[k]!)
      cands[k] = i
      if (i >= 0 && i < nk) touch += buf[t[i]!]!
    }
    this.touched = touch
    for (let k = from; k < to; k++) {
      if (this.#matchKey(cands[k]!, bytes, bounds[at + k]!, bounds[at + k + 1]!)) {
        this.locateFound()
        count[k] = this.count
      } else count[k] = this.count = 0
      w[k] = this.w
      base[k] = this.base
    }
  }

  /** Locates the value-ID list of key record `i` into count / w / base (bounds-checked). */
  locate(i: number): void {
    const s = this.recStart(i)
    const len = this.keyLength(i, s, this.recEnd)
    this.keyStart = s + 4
    this.keyEnd = s + 4 + len
    this.locateFound()
  }

  /** Locates the list of the record `find` (or `locate`) matched last: its keyEnd / recEnd are current. */
  locateFound(): void {
    const e = this.recEnd
    const off = this.keyEnd
    const count = this.b.view.getUint32(off, true)
    this.count = count
    if (count === 0) return
    const base = off + 4
    if (base >= e) corrupt('value-ID list', `a bit stream before ${e}`, `count ${count} at ${off}`)
    const w = (this.buf[base]! & 31) + 1
    // Integer arithmetic while 5 + count * w stays below 2^31 (every list of a DB below 256 MiB).
    const nbytes = count < 0x2000000 ? (count * w + 12) >>> 3 : Math.ceil((5 + count * w) / 8)
    if (base + nbytes > e) corrupt('value-ID list', `${nbytes} stream bytes before ${e}`, `${e - base}`)
    this.w = w
    this.base = base
  }

  /** Decodes list (count, w, base) into `out[at, at + count)`; IDs are checked to lie in 1..U. */
  decodeInto(count: number, w: number, base: number, out: Uint32Array, at: number): void {
    if (count === 0) return
    const buf = this.buf
    let id = 0
    if (w <= 24) {
      // A 32-bit window always holds the field; window bytes past the buffer read as 0.
      const mask = (1 << w) - 1
      for (let i = 0, bit = 5; i < count; i++, bit += w) {
        const p = base + (bit >>> 3)
        const word = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)
        id += (word >>> (bit & 7)) & mask
        out[at + i] = id
      }
    } else {
      for (let i = 0; i < count; i++) {
        id += readBits(buf, base, 5 + i * w, w)
        out[at + i] = id
      }
    }
    const first = out[at]!
    if (first === 0 || id > this.U) badId(first === 0 ? 0 : id, this.U)
  }

  /**
   * Locates and decodes the lists of key records [from, to) for a columnar batch: key `k` (from
   * 0) is `buf[keyStarts[k], keyEnds[k])`, its IDs `ids[idStarts[k], idStarts[k + 1])`. Returns
   * the IDs array (grown when needed; the caller keeps it). With a checked key TOC table the walk
   * is one tight loop; otherwise it goes record by record through `locate`.
   */
  fillBatch(from: number, to: number, keyStarts: Offsets, keyEnds: Offsets, idStarts: Uint32Array, ids: Uint32Array): Uint32Array {
    const t = this.#keyTable()
    let at = 0
    if (t === null) {
      for (let i = from; i < to; i++) {
        const k = i - from
        this.locate(i)
        keyStarts[k] = this.keyStart
        keyEnds[k] = this.keyEnd
        idStarts[k] = at
        const count = this.count
        if (at + count > ids.length) ids = grow(ids, at, at + count)
        this.decodeInto(count, this.w, this.base, ids, at)
        at += count
      }
      idStarts[to - from] = at
      return ids
    }
    const buf = this.buf
    const view = this.b.view
    const U = this.U
    // Every store of the batch happens inside the loop (idStarts[k + 1] at the end of key k): a
    // statement after a loop that V8 compiled on the stack (OSR) has no type feedback yet and
    // would deoptimize that code at the end of every batch.
    idStarts[0] = 0
    for (let i = from; i < to; i++) {
      const k = i - from
      const s = t[i]!
      const e = t[i + 1]!
      const len = s + 4 <= e ? view.getUint32(s, true) : -1
      if (len < 0 || s + 8 + len > e) this.keyLength(i, s, e) // throws, naming the record
      const off = s + 4 + len
      keyStarts[k] = s + 4
      keyEnds[k] = off
      const count = view.getUint32(off, true)
      if (count === 0) {
        idStarts[k + 1] = at
        continue
      }
      const base = off + 4
      const w = (buf[base]! & 31) + 1
      // ceil((5 + count * w) / 8) stream bytes fit before e (exact in doubles, no division).
      if (5 + count * w > (e - base) * 8) {
        this.recEnd = e
        this.keyEnd = off
        this.locateFound() // throws, naming the list
      }
      if (at + count > ids.length) ids = grow(ids, at, at + count)
      if (w > 24) {
        this.decodeInto(count, w, base, ids, at)
        at += count
        idStarts[k + 1] = at
        continue
      }
      // The 4-byte window may pass the list's end by 3 bytes: still inside the DB, as the value
      // TOC (at least 8 bytes) follows the key records.
      // Two deltas per step: their loads are independent, only the running sum is serial.
      const mask = (1 << w) - 1
      const w2 = 2 * w
      let id = 0
      let j = 0
      let bit = 5
      for (; j + 1 < count; j += 2, bit += w2) {
        const bit2 = bit + w
        const d1 = (view.getUint32(base + (bit >>> 3), true) >>> (bit & 7)) & mask
        const d2 = (view.getUint32(base + (bit2 >>> 3), true) >>> (bit2 & 7)) & mask
        id += d1
        ids[at + j] = id
        id += d2
        ids[at + j + 1] = id
      }
      if (j < count) {
        id += (view.getUint32(base + (bit >>> 3), true) >>> (bit & 7)) & mask
        ids[at + j] = id
      }
      const first = ids[at]!
      if (first === 0 || id > U) badId(first === 0 ? 0 : id, U)
      at += count
      idStarts[k + 1] = at
    }
    return ids
  }

  /** U (QuerySource). */
  get numUniqueValues(): number {
    return this.U
  }

  /** Locates `key`'s list (QuerySource): its count (0 when absent), width and start in w / base. */
  locateKey(key: Uint8Array): number {
    if (!this.seek(key)) return (this.count = 0)
    // find() compared the key in place: its record is still current.
    this.locateFound()
    return this.count
  }

  /** Ascending value IDs of `key` (QuerySource); empty when absent. */
  idsOfKey(key: Uint8Array): Uint32Array {
    const n = this.locateKey(key)
    return this.ids(n, this.w, this.base)
  }

  /** Stored count of `key`'s list (QuerySource); 0 when absent. */
  countOfKey(key: Uint8Array): number {
    return this.locateKey(key)
  }

  /** The IDs of list (count, w, base) in a fresh array. */
  ids(count: number, w: number, base: number): Uint32Array {
    if (count === 0) return EMPTY
    const out = new Uint32Array(count)
    this.decodeInto(count, w, base, out, 0)
    return out
  }

  /**
   * Adds 1 to `hits[j]` for each element `a[j]` of the ascending `a[0, n)` that the list
   * (count, w, base) holds, walking the list only as far as `a` reaches (stops early).
   */
  markList(count: number, w: number, base: number, a: Uint32Array, n: number, hits: Uint32Array): void {
    if (count === 0 || n === 0) return
    const buf = this.buf
    const last = a[n - 1]!
    const mask = (1 << w) - 1
    let id = 0
    let j = 0
    let marked = 0
    for (let i = 0, b = 5; i < count; i++, b += w) {
      if (w <= 24) {
        const p = base + (b >>> 3)
        id += ((buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> (b & 7)) & mask
      } else id += readBits(buf, base, b, w)
      if (id > last) return
      if (a[j]! < id) {
        // Gallop to the first candidate >= id (candidates may be far denser than the list).
        let lo = j + 1
        let hi = lo
        let step = 1
        while (hi < n && a[hi]! < id) {
          lo = hi + 1
          hi += step
          step *= 2
        }
        if (hi > n) hi = n
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (a[mid]! < id) lo = mid + 1
          else hi = mid
        }
        j = lo
        if (j >= n) return
      }
      if (a[j] === id && id !== marked) {
        hits[j]!++
        marked = id
      }
    }
  }

  /**
   * Visits the values of list (count, w, base) in order. Uncompressed: one loop decodes IDs and
   * hands out extents (#visitPlain). Compressed: the list is decoded first and the value extents
   * gathered in one tight loop, and each value's first bytes are touched before any is decoded (so
   * that their cache misses overlap instead of queueing one behind the other). A visitor may read
   * the DB again (nested visits use their own scratch). An ID out of 1..U is DDB_CORRUPT (an
   * uncompressed list may have visited the IDs before it).
   */
  visitList(count: number, w: number, base: number, fn: ValueVisitor): void {
    if (count === 0) return
    const t = this.#valueTable()
    if (t === null) {
      for (let i = 0, id = 0; i < count; i++) this.visitId((id = this.nextId(w, base, i, id)), fn)
      return
    }
    if (!this.h.compressed && w <= 24) {
      this.#visitPlain(count, w, base, t, fn)
      return
    }
    const nested = this.#visiting
    const sc = nested ? new Uint32Array(3 * count) : this.#listScratch(count)
    this.decodeInto(count, w, base, sc, 0)
    // IDs ascend from >= 1 to <= U (checked by decodeInto): every table read is in range.
    this.#visitGathered(sc, count, t, fn, nested)
  }

  /**
   * Visits values by ID (`ids`, e.g. a query's result) in order, like visitList: an uncompressed
   * DB hands out extents in one loop, a compressed one gathers extents and touches the values
   * before decoding any. An ID outside 1..U is DDB_BAD_ARGUMENT (the values before it are visited).
   */
  visitIds(ids: Uint32Array, fn: ValueVisitor): void {
    const count = ids.length
    const t = this.#valueTable()
    const U = this.U
    let ok = t !== null
    for (let i = 0; i < count && ok; i++) ok = ids[i]! >= 1 && ids[i]! <= U
    if (!ok || t === null) {
      for (let i = 0; i < count; i++) this.visitId(ids[i]!, fn)
      return
    }
    if (!this.h.compressed) {
      const buf = this.buf
      for (let i = 0; i < count; i++) fn(buf, t[ids[i]! - 1]!, t[ids[i]!]!)
      return
    }
    const nested = this.#visiting
    const sc = nested ? new Uint32Array(3 * count) : this.#listScratch(count)
    sc.set(ids)
    this.#visitGathered(sc, count, t, fn, nested)
  }

  /**
   * Visits the values whose checked IDs are `sc[0, count)`; `sc` has room for 3 * count entries
   * (starts and ends are gathered after the IDs). `nested`: a visit is already running (then
   * decoded values go to fresh buffers, not the shared scratch).
   */
  #visitGathered(sc: Uint32Array, count: number, t: Uint32Array, fn: ValueVisitor, nested: boolean): void {
    const starts = count
    const ends = 2 * count
    for (let i = 0; i < count; i++) {
      const id = sc[i]!
      sc[starts + i] = t[id - 1]!
      sc[ends + i] = t[id]!
    }
    const buf = this.buf
    this.#visiting = true
    try {
      if (!this.h.compressed) {
        // Deltas wider than 24 bits (a DB with very sparse lists).
        for (let i = 0; i < count; i++) fn(buf, sc[starts + i]!, sc[ends + i]!)
        return
      }
      let touch = 0
      for (let i = 0; i < count; i++) touch += buf[sc[starts + i]!]! + buf[sc[ends + i]!]!
      this.touched = touch
      const cb = this.codebook()
      const view = this.b.view
      for (let i = 0; i < count; i++) {
        const s = sc[starts + i]!
        const e = sc[ends + i]!
        const cap = decodedCap(e - s)
        const out = nested ? new Uint8Array(cap) : huffmanScratch(cap)
        fn(out, 0, decodeHuffmanInto(cb, buf, view, s, e, out, 0))
      }
    } finally {
      this.#visiting = nested
    }
  }

  /**
   * visitList of an uncompressed DB with a checked value TOC and deltas of at most 24 bits: one
   * loop decodes each ID and hands out its extent (the table reads of consecutive values do not
   * depend on each other, so their cache misses overlap). Each ID is checked before its table read.
   */
  #visitPlain(count: number, w: number, base: number, t: Uint32Array, fn: ValueVisitor): void {
    let vc = this.#valueCompact
    if (vc === undefined) vc = this.#valueCompact = compactToc(t)
    if (vc !== null) {
      this.#visitPlainCompact(count, w, base, vc.base, vc.rel, fn)
      return
    }
    const buf = this.buf
    const U = this.U
    const mask = (1 << w) - 1
    let id = ((buf[base]! | (buf[base + 1]! << 8) | (buf[base + 2]! << 16) | (buf[base + 3]! << 24)) >>> 5) & mask
    if (id === 0 || id > U) badId(id, U)
    fn(buf, t[id - 1]!, t[id]!)
    for (let i = 1, bit = 5 + w; i < count; i++, bit += w) {
      const p = base + (bit >>> 3)
      id += ((buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> (bit & 7)) & mask
      if (id > U) badId(id, U)
      fn(buf, t[id - 1]!, t[id]!)
    }
  }

  /** #visitPlain over the compact value table (`vb`, `vr`: see CompactToc). */
  #visitPlainCompact(count: number, w: number, base: number, vb: Uint32Array, vr: Uint16Array, fn: ValueVisitor): void {
    const buf = this.buf
    const view = this.b.view
    const U = this.U
    const mask = (1 << w) - 1
    let id = 0
    for (let i = 0, bit = 5; i < count; i++, bit += w) {
      // The 4-byte window may pass the list's end by 3 bytes: still inside the DB (the value TOC follows).
      id += (view.getInt32(base + (bit >>> 3), true) >>> (bit & 7)) & mask
      if (id > U || id === 0) badId(id, U)
      fn(buf, vb[(id - 1) >>> 8]! + vr[id - 1]!, vb[id >>> 8]! + vr[id]!)
    }
  }

  /** The checked value TOC table (or null when it is damaged or the DB is ≥ 4 GiB). */
  #valueTable(): Uint32Array | null {
    let t = this.#valueOffs
    if (t === undefined) t = this.#valueOffs = this.#tocTable(this.h.id2valueOffs, this.U, this.valueTocEnd, this.valuesEnd)
    return t
  }

  /** Scratch for visitList: 3 * count u32 (IDs, starts, ends). */
  #listScratch(count: number): Uint32Array {
    if (this.#scratch.length < 3 * count) this.#scratch = new Uint32Array(Math.max(3 * count, 2 * this.#scratch.length, 96))
    return this.#scratch
  }

  /** ID number `i` (0-based) of list (count, w, base), given the ID before it. */
  nextId(w: number, base: number, i: number, prev: number): number {
    const bit = 5 + i * w
    let id: number
    if (w <= 24 && bit < 0x7fffffff) {
      const buf = this.buf
      const p = base + (bit >>> 3)
      id = prev + ((((buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> (bit & 7)) & ((1 << w) - 1)))
    } else id = prev + readBits(this.buf, base, bit, w)
    if (id === 0 || id > this.U) badId(id, this.U)
    return id
  }

  /**
   * The `n + 1` entries of the TOC at `toc` as a Uint32Array when they ascend within [lo, hi] and
   * the DB is below 4 GiB; else null (then every access checks its own entry, as the format allows
   * a damaged entry to spoil only its own record).
   */
  #tocTable(toc: number, n: number, lo: number, hi: number): Uint32Array | null {
    if (this.h.size >= 0x100000000) return null
    const t = new Uint32Array(n + 1)
    const v = this.b.view
    let prev = lo
    for (let k = 0, p = toc; k <= n; k++, p += 8) {
      const x = v.getUint32(p, true)
      if (v.getUint32(p + 4, true) !== 0 || x < prev || x > hi) return null
      t[k] = x
      prev = x
    }
    return t
  }

  /** Checks value `id`'s extent into vs / ve (an out-of-range ID is DDB_BAD_ARGUMENT). */
  extent(id: number): void {
    const U = this.U
    const t = this.#valueTable()
    if (t !== null && id >= 1 && id <= U) {
      this.vs = t[id - 1]!
      this.ve = t[id]!
      return
    }
    if (!(id >= 1 && id <= U)) throw new DiscoError('DDB_BAD_ARGUMENT', `value ID: expected 1..${U}, found ${id}`)
    const v = this.b.view
    const p = this.h.id2valueOffs + (id - 1) * 8
    const s = v.getUint32(p + 4, true) * 0x100000000 + v.getUint32(p, true)
    const e = v.getUint32(p + 12, true) * 0x100000000 + v.getUint32(p + 8, true)
    if (s < this.valueTocEnd || s > e || e > this.valuesEnd) {
      corrupt(`value ${id} extent`, `${this.valueTocEnd} <= start <= end <= ${this.valuesEnd}`, `[${s}, ${e})`)
    }
    this.vs = s
    this.ve = e
  }

  #visitHuffman(id: number, fn: ValueVisitor): void {
    this.extent(id)
    const s = this.vs
    const e = this.ve
    const out = huffmanScratch(decodedCap(e - s))
    const n = decodeHuffmanInto(this.codebook(), this.buf, this.b.view, s, e, out, 0)
    fn(out, 0, n)
  }

  /**
   * The checked value TOC entries `from - 1 .. from + n - 1` into `offs[0, n]` (value `from + k`
   * spans `offs[k], offs[k + 1]`), each checked as `extent` checks it (the same error, in ID order).
   */
  valueStarts(from: number, n: number, offs: Offsets): void {
    for (let k = 0; k < n; k++) {
      this.extent(from + k)
      if (k === 0) offs[0] = this.vs
      offs[k + 1] = this.ve
    }
  }

  /**
   * Decodes the compressed values from ID `from` on, at most `n`, into `out` from `at0` while
   * each surely fits (room for its `decodedCap`); value `from + k` ends up at
   * `out[offs[k0 + k], offs[k0 + k + 1])` (`offs[k0]` is set to `at0`). Returns how many were
   * decoded: 0 only when the first does not fit (grow `out` to `decodedCap` of it, see `valueCap`).
   * The one decoding loop of value scans (`valueBatches`) and of `valueColumn`.
   */
  decodeValues(from: number, n: number, offs: Offsets, k0: number, out: Uint8Array, at0: number): number {
    const cb = this.codebook()
    const buf = this.buf
    const view = this.b.view
    const t = this.#valueTable()
    const room = out.length
    let at = at0
    offs[k0] = at0
    let k = 0
    for (; k < n; k++) {
      const id = from + k
      let s: number
      let e: number
      if (t !== null) {
        s = t[id - 1]!
        e = t[id]!
      } else {
        this.extent(id)
        s = this.vs
        e = this.ve
      }
      if (e > s && at + decodedCap(e - s) > room) break
      at += decodeHuffmanInto(cb, buf, view, s, e, out, at)
      offs[k0 + k + 1] = at
    }
    return k
  }

  /**
   * The pooled buffers of value batches, with room for `n` offsets (fresh ones while another
   * scan holds the pool); give them back with `returnBatchPool`.
   */
  takeBatchPool(n: number): BatchPool {
    let pool = this.#batchPool
    if (pool === undefined || this.#batchBusy) pool = { offsets: EMPTY, out: EMPTY_BYTES }
    this.#batchBusy = true
    if (pool.offsets.length < n) pool.offsets = new Uint32Array(n)
    return pool
  }

  returnBatchPool(pool: BatchPool): void {
    this.#batchPool = pool
    this.#batchBusy = false
  }

  /**
   * The WebAssembly batch decoder of a compressed DB with a checked value TOC, for one scan at a
   * time (null when another scan holds it, or when it cannot be made); give it back with
   * `returnWasm`. Made on first use: a copy of the values and the codebook (the DB's size, about).
   */
  takeWasm(): WasmValueDecoder | null {
    return this.h.compressed ? this.#wasm.take() : null
  }

  returnWasm(): void {
    this.#wasm.give()
  }

  /**
   * The WebAssembly decoder of key records for item scans, for one scan at a time (null when
   * another scan holds it, when the key TOC is damaged, or when it cannot be made); give it back
   * with `returnListDecoder`. Made on first use (the index section must be in memory): a copy of
   * the key records and the key TOC (about the index's size).
   */
  takeListDecoder(): WasmListDecoder | null {
    return this.#lists.take()
  }

  returnListDecoder(): void {
    this.#lists.give()
  }

  /** Decodes value `id` of a compressed DB in JavaScript to throw its error (the batch decoder found it damaged). */
  throwDamaged(id: number): never {
    this.extent(id)
    const s = this.vs
    const e = this.ve
    decodeHuffmanInto(this.codebook(), this.buf, this.b.view, s, e, huffmanScratch(decodedCap(e - s)), 0)
    return corrupt(`compressed value ${id}`, 'a decodable value', `[${s}, ${e})`)
  }

  /** Room needed to decode value `id` of a compressed DB (checked). */
  valueCap(id: number): number {
    this.extent(id)
    return decodedCap(this.ve - this.vs)
  }

  /** Whether the checked value TOC table exists; then `valueTableView(from, n)` is its entries `from - 1 .. from + n - 1`. */
  get hasValueTable(): boolean {
    return this.#valueTable() !== null
  }

  valueTableView(from: number, n: number): Uint32Array {
    return this.#valueTable()!.subarray(from - 1, from + n)
  }

  /**
   * All unique values as one column: value `id` is `bytes[offsets[id - 1], offsets[id])`.
   * Uncompressed: the DB's bytes and its value TOC (checked once); compressed: every value
   * decoded once into one buffer.
   */
  valueColumn(): { bytes: Uint8Array; offsets: Offsets } {
    const U = this.U
    if (this.#valueOffs === undefined && U > 0) this.extent(1)
    const table = this.#valueOffs
    if (table && !this.h.compressed) return { bytes: this.buf, offsets: table }
    const hi = this.valuesEnd
    const offsets: Offsets = this.h.size >= 0x100000000 ? new Float64Array(U + 1) : new Uint32Array(U + 1)
    if (!table) {
      // A damaged TOC (or a DB of 4 GiB or more): every entry checked, the first bad one reported.
      const v = this.b.view
      let prev = this.valueTocEnd
      for (let k = 0; k <= U; k++) {
        const p = this.h.id2valueOffs + k * 8
        const x = v.getUint32(p + 4, true) * 0x100000000 + v.getUint32(p, true)
        if (x < prev || x > hi) {
          corrupt(`value ${k === 0 ? 1 : k} extent`, `${this.valueTocEnd} <= start <= end <= ${hi}`, k === 0 ? `start ${x}` : `[${prev}, ${x})`)
        }
        offsets[k] = x
        prev = x
      }
      if (!this.h.compressed) return { bytes: this.buf, offsets }
    }
    // Decode every value once, in ID order, into one growing buffer (the checked TOC entries in
    // `offsets` are replaced by decoded positions as it goes).
    const lo = this.valueTocEnd
    // allocUnsafe: the buffer is written before it is read (no zeroing pass over megabytes).
    // Sized for text-like values (about one decoded byte per stored byte), grown when needed.
    let out = unsafeBytes(Math.max(1024, hi - lo + ((hi - lo) >>> 3)))
    let at = 0
    offsets[0] = 0
    for (let id = 1; id <= U; ) {
      id += this.decodeValues(id, U + 1 - id, offsets, id - 1, out, at)
      at = offsets[id - 1]!
      if (id <= U) {
        // Value `id` may not fit: grow.
        const grown = unsafeBytes(Math.max(at + this.valueCap(id), out.length * 2))
        grown.set(out.subarray(0, at))
        out = grown
      }
    }
    return { bytes: out.subarray(0, at), offsets }
  }
}

/**
 * One object for one user at a time, made on first use by `make` (null when it cannot be made, and
 * then never tried again): `take` gives it, or null while it is taken; `give` hands it back.
 */
class Lease<T> {
  #value: T | null | undefined
  #taken = false

  constructor(private readonly make: () => T | null) {}

  take(): T | null {
    if (this.#taken) return null
    if (this.#value === undefined) this.#value = this.make()
    if (this.#value !== null) this.#taken = true
    return this.#value
  }

  give(): void {
    this.#taken = false
  }
}
