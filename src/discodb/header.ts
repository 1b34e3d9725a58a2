// The 72-byte header (spec 2.1) and the section bounds derived from it.
import { DiscoError } from '../errors.js'
import { type Bytes, corrupt, u32, u64 } from './bytes.js'

/** Header size in bytes. */
export const HEADER_SIZE = 72
/** Magic number, bytes `5B DE 14 1D E6 5B D8 04`. */
export const MAGIC_LO = 0x1d14de5b
export const MAGIC_HI = 0x04d85be6
/** Flag bits. */
export const F_HASH = 1
export const F_MULTISET = 2
export const F_COMPRESSED = 4
/** Codebook size: 65,536 entries of 8 bytes. */
export const CODEBOOK_SIZE = 65536 * 8

/** The header fields exactly as stored (u64 fields as numbers). */
export interface DiscoDBHeader {
  readonly size: number
  readonly numKeys: number
  readonly numUniqueValues: number
  readonly numValues: number
  readonly flags: number
  readonly hashed: boolean
  readonly multiset: boolean
  readonly compressed: boolean
  readonly key2valuesOffs: number
  readonly id2valueOffs: number
  readonly hashOffs: number
  readonly codebookOffs: number
}

/**
 * Reads and validates the header of the DB at the start of `b`: buffer length, magic, size, then
 * that every section lies inside `size` in the order of spec 2. `avail` is how many bytes the DB
 * may span (the buffer's length, or the file's size past the DB's offset when `b` holds only the
 * header).
 * @example readHeader(bytesOf(fs.readFileSync('animals.ddb'))).numKeys // 5
 */
export function readHeader(b: Bytes, avail = b.buf.length): DiscoDBHeader {
  if (avail < HEADER_SIZE) tooSmall(avail)
  const lo = b.view.getUint32(0, true)
  const hi = b.view.getUint32(4, true)
  if (lo !== MAGIC_LO || hi !== MAGIC_HI) {
    const found = Array.from(b.buf.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ')
    throw new DiscoError('DDB_BAD_MAGIC', `not a discodb: expected magic 5b de 14 1d e6 5b d8 04, found ${found}`)
  }
  const sizeHi = b.view.getUint32(12, true)
  const size = sizeHi * 0x100000000 + b.view.getUint32(8, true)
  if (size > avail || sizeHi >= 0x200000) badSize(size, avail)
  if (size < HEADER_SIZE) {
    throw new DiscoError('DDB_BAD_SIZE', `invalid buffer size: expected at least ${HEADER_SIZE}, header says ${size}`)
  }
  const flags = u64(b, 32, 'flags')
  const h: DiscoDBHeader = {
    size,
    numKeys: u32(b, 16, 'num_keys'),
    numUniqueValues: u32(b, 20, 'num_uniq_values'),
    numValues: u64(b, 24, 'num_values'),
    flags,
    hashed: (flags & F_HASH) !== 0,
    multiset: (flags & F_MULTISET) !== 0,
    compressed: (flags & F_COMPRESSED) !== 0,
    key2valuesOffs: u64(b, 40, 'key2values_offs'),
    id2valueOffs: u64(b, 48, 'id2value_offs'),
    hashOffs: u64(b, 56, 'hash_offs'),
    codebookOffs: u64(b, 64, 'codebook_offs'),
  }
  checkLayout(h)
  return Object.freeze(h)
}

/** Throws DDB_TOO_SMALL: fewer bytes than a header. */
function tooSmall(avail: number): never {
  throw new DiscoError('DDB_TOO_SMALL', `buffer too small: expected at least ${HEADER_SIZE} bytes, found ${avail}`)
}

/**
 * Throws the error `readHeader` gives for a valid header of `size` bytes with only `avail` (less)
 * available: DDB_TOO_SMALL below a header's size, else DDB_BAD_SIZE.
 */
export function badSize(size: number, avail: number): never {
  if (avail < HEADER_SIZE) tooSmall(avail)
  throw new DiscoError('DDB_BAD_SIZE', `invalid buffer size: header says ${size} bytes, only ${avail} available`)
}

/**
 * Checks that the header at the start of `b` is `h` (a lazily opened file read again: it must not
 * have changed since `open`), else DDB_CORRUPT.
 */
export function sameHeader(h: DiscoDBHeader, b: Bytes): void {
  let now: DiscoDBHeader | undefined
  try {
    now = readHeader(b, h.size)
  } catch {
    now = undefined
  }
  const same =
    now !== undefined &&
    now.size === h.size &&
    now.numKeys === h.numKeys &&
    now.numUniqueValues === h.numUniqueValues &&
    now.numValues === h.numValues &&
    now.flags === h.flags &&
    now.key2valuesOffs === h.key2valuesOffs &&
    now.id2valueOffs === h.id2valueOffs &&
    now.codebookOffs === h.codebookOffs
  if (!same) corrupt('header', 'the header read at open (the file changed since)', 'another header')
}

/** Checks that the sections of spec 2 follow each other inside the DB. */
function checkLayout(h: DiscoDBHeader): void {
  if (h.flags > 7) corrupt('flags', 'only bits 0..2 set', h.flags)
  if (h.hashOffs !== HEADER_SIZE) corrupt('hash_offs', String(HEADER_SIZE), h.hashOffs)
  const keyTocEnd = h.key2valuesOffs + (h.numKeys + 1) * 8
  const minKey = h.hashed ? HEADER_SIZE + 12 : HEADER_SIZE
  if (h.key2valuesOffs < minKey || keyTocEnd > h.id2valueOffs) {
    corrupt('key TOC', `offset in [${minKey}, ${h.id2valueOffs - (h.numKeys + 1) * 8}]`, h.key2valuesOffs)
  }
  const valueEnd = h.compressed ? h.codebookOffs : h.size
  const valueTocEnd = h.id2valueOffs + (h.numUniqueValues + 1) * 8
  if (valueTocEnd > valueEnd) corrupt('value TOC', `end <= ${valueEnd}`, valueTocEnd)
  if (h.compressed) {
    if (h.codebookOffs + CODEBOOK_SIZE > h.size) {
      corrupt('codebook', `offset <= ${h.size - CODEBOOK_SIZE}`, h.codebookOffs)
    }
  } else if (h.codebookOffs !== 0) {
    corrupt('codebook_offs of an uncompressed DB', '0', h.codebookOffs)
  }
}
