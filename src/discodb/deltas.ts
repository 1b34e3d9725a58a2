// Delta-encoded value-ID lists (spec 2.3): u32 count, then an LSB-first bit stream holding
// `w - 1` in 5 bits and `count` deltas of `w` bits each.
import { type Bytes, corrupt, readBits, u32 } from './bytes.js'

const EMPTY = new Uint32Array(0)

/** Byte length of the bit stream of a list of `count` deltas of width `w`. */
export function deltaStreamBytes(count: number, w: number): number {
  return count === 0 ? 0 : Math.ceil((5 + count * w) / 8)
}

/** A located, bounds-checked list: `count` deltas of width `w` in the stream at byte `base`. */
export interface IdList {
  readonly count: number
  readonly w: number
  readonly base: number
}

const NO_LIST: IdList = { count: 0, w: 1, base: 0 }

/**
 * Locates the list whose count field is at `off` and checks that its stream ends by `end`.
 * @example openIdList(b, recordOff + 4 + keyLen, nextRecordOff) // { count: 2, w: 3, base: … }
 */
export function openIdList(b: Bytes, off: number, end: number): IdList {
  const count = u32(b, off, 'value-ID list count')
  if (count === 0) return NO_LIST
  const base = off + 4
  if (base >= end) corrupt('value-ID list', `a bit stream before ${end}`, `count ${count} at ${off}`)
  const w = (b.buf[base]! & 31) + 1
  const nbytes = deltaStreamBytes(count, w)
  if (base + nbytes > end) corrupt('value-ID list', `${nbytes} stream bytes before ${end}`, `${end - base}`)
  return { count, w, base }
}

/** Reads delta `i` (0-based) of a list; fields lie inside the checked stream. */
function delta(buf: Uint8Array, l: IdList, i: number): number {
  const bit = 5 + i * l.w
  if (l.w <= 24 && bit < 0x7fffffff) {
    const p = l.base + (bit >>> 3)
    // A 32-bit window always holds the field; window bytes past the buffer read as 0.
    const word = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)
    return (word >>> (bit & 7)) & ((1 << l.w) - 1)
  }
  return readBits(buf, l.base, bit, l.w)
}

function badId(id: number, maxId: number): never {
  return corrupt('value ID', `1..${maxId}`, id)
}

/**
 * Decodes a located list to its IDs (non-decreasing); IDs must lie in 1..`maxId`.
 * @example decodeIds(b, openIdList(b, off, end), 8) // Uint32Array [2, 5]
 */
export function decodeIds(b: Bytes, l: IdList, maxId: number): Uint32Array {
  if (l.count === 0) return EMPTY
  const out = new Uint32Array(l.count)
  const buf = b.buf
  let id = 0
  for (let i = 0; i < l.count; i++) {
    id += delta(buf, l, i)
    out[i] = id
  }
  if (out[0] === 0 || id > maxId) badId(out[0] === 0 ? 0 : id, maxId)
  return out
}

/** Streams the IDs of a located list, mapping each through `map` (no array is allocated). */
export class IdListIterator<T> implements Iterator<T> {
  #i = 0
  #id = 0
  constructor(
    private readonly b: Bytes,
    private readonly l: IdList,
    private readonly maxId: number,
    private readonly map: (id: number) => T,
  ) {}
  next(): IteratorResult<T> {
    const i = this.#i
    if (i >= this.l.count) return { done: true, value: undefined }
    this.#i = i + 1
    const id = (this.#id += delta(this.b.buf, this.l, i))
    if (id === 0 || id > this.maxId) badId(id, this.maxId)
    return { done: false, value: this.map(id) }
  }
  [Symbol.iterator](): Iterator<T> {
    return this
  }
}
