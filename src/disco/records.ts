// The encodings of Disco's records, in one place.
//
// Results (and the inputs of a job without a map) are text: one `[key, value]` pair per line as
// JSON (NDJSON), through encodePair / decodePair.
//
// Intermediate records (map outputs in the job data store, spilled runs, merge rounds) are binary:
//
//   file    := MAGIC record*
//   record  := varint(len) body                      len = byte length of body
//   body    := varint(keyLen << 1 | wtf) key value   key = UTF-8 of the key (WTF-8 when wtf = 1)
//   value   := tag payload                           see the T_* tags below
//
// Keys are compared byte by byte with compareKeyBytes, which gives exactly the order of JS `<`
// on the key strings (UTF-16 code units), so every sort, merge and result iteration agrees.
// Values are typed: integers as varints, other numbers as float64, bigints exactly (decimal),
// strings as UTF-8, arrays and plain objects recursively; anything else goes through its JSON form,
// so a value reads back as it would from JSON (plus exact bigints). Lone surrogates in strings
// survive (WTF-8), as they do in JSON text.
import { DiscoError } from '../errors.js'

/** One `[key, value]` NDJSON line (without newline). Throws DISCO_BAD_KEY for a non-string key. */
export function encodePair(key: string, value: unknown): string {
  if (typeof key !== 'string') throw badKey(key)
  const v = JSON.stringify(value)
  return `[${JSON.stringify(key)},${v === undefined ? 'null' : v}]`
}

/** DISCO_BAD_KEY for a key that is not a string. */
export function badKey(key: unknown): DiscoError {
  return new DiscoError('DISCO_BAD_KEY', `keys must be strings, found ${typeof key} ${String(key).slice(0, 40)}`)
}

/** Decodes one `[key, value]` line; `where` names the file for the error. */
export function decodePair(line: string, where: string): [string, unknown] {
  const pair = pairOf(line)
  if (pair === undefined) throw new DiscoError('DISCO_BAD_RECORD', `expected a [key, value] JSON line in ${where}, found ${JSON.stringify(line.slice(0, 80))}`)
  return pair
}

/** The `[key, value]` pair of one line, or undefined when the line is not one (see decodePair). */
export function pairOf(line: string): [string, unknown] | undefined {
  let pair: unknown
  try {
    pair = JSON.parse(line)
  } catch {
    return undefined
  }
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') return undefined
  return pair as [string, unknown]
}

/**
 * Appends the pairs of the NDJSON lines in `text` (whole lines, each ending with a newline but
 * perhaps the last) to `out`, skipping empty lines; DISCO_BAD_RECORD names `where` and the line
 * (numbered from `firstLine`). Returns the number of lines read. The lines are slices of `text`,
 * not copies.
 */
export function decodePairLines(text: string, where: string, firstLine: number, out: [string, unknown][]): number {
  let n = 0
  for (let pos = 0; pos < text.length;) {
    let nl = text.indexOf('\n', pos)
    if (nl < 0) nl = text.length
    if (nl > pos) {
      const line = text.slice(pos, nl)
      out.push(pairOf(line) ?? decodePair(line, `${where} line ${firstLine + n}`))
    }
    n++
    pos = nl + 1
  }
  return n
}

// ------------------------------------------------------------------------------ binary records

/** First bytes of every binary intermediate file ("DIR" + format version 1). */
export const RECORDS_MAGIC = Buffer.from([0x44, 0x49, 0x52, 0x01])

const T_NULL = 0
const T_FALSE = 1
const T_TRUE = 2
const T_UINT = 3
const T_NEGINT = 4
const T_FLOAT = 5
const T_STR = 6
const T_BIGINT = 7
const T_NEGBIGINT = 8
const T_ARRAY = 9
const T_OBJECT = 10

/** String.prototype.isWellFormed (Node ≥ 20; newer than the compiler's lib). */
interface WellFormed { isWellFormed(): boolean }

/** Nesting deeper than this is handed to JSON (which reports cycles the usual way). */
const MAX_DEPTH = 512

/**
 * A growable byte buffer that values and keys are encoded into. `buf` may be replaced when it
 * grows; `pos` is the end of what was written.
 */
/** Runs up to this many bytes are copied by a loop (ByteSink.bytes). */
const SMALL_COPY = 64

export class ByteSink {
  buf: Buffer
  pos = 0

  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size)
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const b = Buffer.allocUnsafe(size)
    this.buf.copy(b, 0, 0, this.pos)
    this.buf = b
  }

  /** Appends `buf[start, end)` (room made first). */
  bytes(buf: Buffer, start: number, end: number): void {
    const n = end - start
    this.ensure(n)
    const d = this.buf
    // Small runs (most records): a loop is cheaper than a native copy call.
    if (n <= SMALL_COPY) {
      for (let i = start, j = this.pos; i < end; i++, j++) d[j] = buf[i]!
    } else buf.copy(d, this.pos, start, end)
    this.pos += n
  }

  /** Appends an unsigned integer (≤ 2^53) as a LEB128 varint. */
  varint(v: number): void {
    this.ensure(8)
    const b = this.buf
    let p = this.pos
    if (v < 0x80000000) {
      while (v >= 0x80) {
        b[p++] = (v & 0x7f) | 0x80
        v >>>= 7
      }
    } else {
      while (v >= 0x80) {
        b[p++] = (v % 0x80) | 0x80
        v = Math.floor(v / 0x80)
      }
    }
    b[p++] = v
    this.pos = p
  }

  /**
   * Appends a string as `varint(byteLength << 1 | wtf)` then its bytes: UTF-8, or WTF-8 (flag set)
   * when the string holds a lone surrogate.
   */
  text(s: string): void {
    const n = s.length
    // ASCII fast path for short strings: one byte per char, known length.
    if (n < 64) {
      this.ensure(n + 1)
      const b = this.buf
      const p = this.pos
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        b[p + 1 + i] = c
      }
      if (i === n) {
        b[p] = n * 2
        this.pos = p + 1 + n
        return
      }
    }
    if (!(s as unknown as WellFormed).isWellFormed()) {
      this.wtf8(s)
      return
    }
    const len = Buffer.byteLength(s, 'utf8')
    this.varint(len * 2)
    this.ensure(len)
    this.pos += this.buf.write(s, this.pos, len, 'utf8')
  }

  /** WTF-8: UTF-8 that also encodes lone surrogates as 3-byte sequences (flagged, rare). */
  private wtf8(s: string): void {
    const bytes: number[] = []
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i)
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
          i++
        }
      }
      if (c < 0x80) bytes.push(c)
      else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f))
      else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f))
      else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f))
    }
    this.varint(bytes.length * 2 + 1)
    this.ensure(bytes.length)
    for (const x of bytes) this.buf[this.pos++] = x
  }

  /** Appends one typed value (see the module comment). */
  value(v: unknown, depth = 0): void {
    switch (typeof v) {
      case 'number':
        if (Number.isInteger(v) && v <= Number.MAX_SAFE_INTEGER && v >= -Number.MAX_SAFE_INTEGER) {
          this.ensure(1)
          if (v >= 0) { this.buf[this.pos++] = T_UINT; this.varint(v === 0 ? 0 : v) } // -0 reads back as 0, as from JSON
          else { this.buf[this.pos++] = T_NEGINT; this.varint(-v) }
        } else if (Number.isFinite(v)) {
          this.ensure(9)
          this.buf[this.pos++] = T_FLOAT
          this.buf.writeDoubleLE(v, this.pos)
          this.pos += 8
        } else this.byte(T_NULL) // NaN and ±Infinity are null in JSON
        return
      case 'string':
        this.byte(T_STR)
        this.text(v)
        return
      case 'boolean':
        this.byte(v ? T_TRUE : T_FALSE)
        return
      case 'bigint': {
        this.byte(v < 0n ? T_NEGBIGINT : T_BIGINT)
        this.text((v < 0n ? -v : v).toString())
        return
      }
      case 'object':
        if (v === null) { this.byte(T_NULL); return }
        if (depth > MAX_DEPTH) { this.value(JSON.parse(JSON.stringify(v)) as unknown, 0); return }
        if (Array.isArray(v)) {
          this.array(v.length)
          for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1)
          return
        }
        {
          const proto = Object.getPrototypeOf(v) as unknown
          if ((proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
            const o = v as Record<string, unknown>
            const keys = Object.keys(o)
            let n = 0
            for (const k of keys) if (present(o[k])) n++
            this.byte(T_OBJECT)
            this.varint(n)
            for (const k of keys) {
              const x = o[k]
              if (!present(x)) continue
              this.text(k)
              this.value(x, depth + 1)
            }
            return
          }
        }
        // Dates, class instances, boxed primitives, typed arrays …: whatever JSON makes of them.
        this.value(JSON.parse(JSON.stringify(v) ?? 'null') as unknown, depth)
        return
      default: // undefined, functions, symbols: null (as JSON writes them in arrays; object members skip them)
        this.byte(T_NULL)
    }
  }

  /** Appends the header of an array of `n` values (the values follow, each by `value`). */
  array(n: number): void {
    this.byte(T_ARRAY)
    this.varint(n)
  }

  private byte(x: number): void {
    this.ensure(1)
    this.buf[this.pos++] = x
  }
}

/** True for object members JSON keeps (undefined, functions and symbols are left out). */
function present(x: unknown): boolean {
  return x !== undefined && typeof x !== 'function' && typeof x !== 'symbol'
}

/** A position in bytes being decoded (values, keys, varints); `pos` moves past what was read. */
export class ByteSource {
  constructor(public buf: Buffer, public pos = 0, public end = buf.length) {}

  /** Reads a LEB128 varint (≤ 2^53); DISCO_BAD_RECORD when it runs past `end`. */
  varint(): number {
    const b = this.buf
    let p = this.pos
    if (p >= this.end) throw corrupt('a varint runs past its record')
    let x = b[p++]!
    if (x < 0x80) {
      this.pos = p
      return x
    }
    let v = x & 0x7f
    let mul = 0x80
    for (;;) {
      if (p >= this.end || mul > 2 ** 56) throw corrupt('a varint runs past its record')
      x = b[p++]!
      v += (x & 0x7f) * mul
      if (x < 0x80) break
      mul *= 0x80
    }
    this.pos = p
    return v
  }

  /** Reads a string written by ByteSink.text. */
  text(): string {
    const h = this.varint()
    const len = Math.floor(h / 2)
    const s = this.pos
    const e = s + len
    if (e > this.end) throw corrupt(`a string of ${len} bytes runs past its record`)
    this.pos = e
    return h & 1 ? decodeWtf8(this.buf, s, e) : this.buf.toString('utf8', s, e)
  }

  /** Reads one typed value written by ByteSink.value. */
  value(): unknown {
    if (this.pos >= this.end) throw corrupt('a value is missing')
    const t = this.buf[this.pos++]!
    switch (t) {
      case T_UINT: return this.varint()
      case T_STR: return this.text()
      case T_ARRAY: {
        const n = this.varint()
        if (n > this.end - this.pos) throw corrupt(`an array of ${n} items runs past its record`)
        const a = new Array<unknown>(n)
        for (let i = 0; i < n; i++) a[i] = this.value()
        return a
      }
      case T_NULL: return null
      case T_FALSE: return false
      case T_TRUE: return true
      case T_NEGINT: return -this.varint()
      case T_FLOAT: {
        if (this.pos + 8 > this.end) throw corrupt('a number runs past its record')
        const v = this.buf.readDoubleLE(this.pos)
        this.pos += 8
        return v
      }
      case T_BIGINT: return BigInt(this.text())
      case T_NEGBIGINT: return -BigInt(this.text())
      case T_OBJECT: {
        const n = this.varint()
        if (n > this.end - this.pos) throw corrupt(`an object of ${n} members runs past its record`)
        const o: Record<string, unknown> = {}
        for (let i = 0; i < n; i++) {
          const k = this.text()
          const v = this.value()
          // as JSON.parse: a member named __proto__ is an own property
          if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
          else o[k] = v
        }
        return o
      }
      default:
        throw corrupt(`unknown value tag ${t}`)
    }
  }
}

function corrupt(what: string): DiscoError {
  return new DiscoError('DISCO_BAD_RECORD', `expected a Disco intermediate record, found a corrupt one (${what})`)
}

/** Decodes WTF-8 (UTF-8 plus lone surrogates as 3-byte sequences) into a string. */
export function decodeWtf8(b: Uint8Array, s: number, e: number): string {
  const units: number[] = []
  for (let i = s; i < e;) {
    const x = b[i]!
    let c: number
    if (x < 0x80) { c = x; i += 1 }
    else if (x < 0xe0) { c = ((x & 0x1f) << 6) | (b[i + 1]! & 0x3f); i += 2 }
    else if (x < 0xf0) { c = ((x & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f); i += 3 }
    else {
      c = ((x & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f)
      i += 4
      c -= 0x10000
      units.push(0xd800 + (c >> 10))
      c = 0xdc00 + (c & 0x3ff)
    }
    units.push(c)
  }
  let out = ''
  for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode(...units.slice(i, i + 4096))
  return out
}

/**
 * Compares two keys given as (W)UTF-8 bytes `a[as, ae)` and `b[bs, be)` in the order of JS `<`
 * on the strings (UTF-16 code units): negative, 0 or positive. Byte order equals it except where
 * astral characters (lead byte F0–F4) or lone surrogates (ED A0–BF) meet U+E000–U+FFFF; there the
 * rest of both keys is decoded and compared as strings.
 *
 * @example
 * compareKeyBytes(Buffer.from('a'), 0, 1, Buffer.from('b'), 0, 1) // negative
 */
export function compareKeyBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const la = ae - as
  const lb = be - bs
  const n = la < lb ? la : lb
  for (let i = 0; i < n; i++) {
    const x = a[as + i]!
    const y = b[bs + i]!
    if (x !== y) {
      if (x < 0xed && y < 0xed) return x - y
      // Back up to the start of the character (continuation bytes are 10xxxxxx).
      let j = i
      while (j > 0 && (a[as + j]! & 0xc0) === 0x80) j--
      const sa = decodeWtf8(a, as + j, ae)
      const sb = decodeWtf8(b, bs + j, be)
      return sa < sb ? -1 : sa > sb ? 1 : 0
    }
  }
  return la - lb
}
