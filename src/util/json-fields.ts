// A byte-level JSON scanner for one line holding one object: it validates the whole line exactly as
// JSON.parse would and decodes only the top-level fields it was asked for. What it cannot decide
// cheaply (nesting deeper than 64, anything after the closing brace, a line not starting with `{`)
// it leaves to the caller's full parser, so its verdicts never differ from JSON.parse's.
import { bigIntegerValue, parseJson } from './json.js'

/** The line is one valid JSON object; the wanted fields are in `out` (absent ones `undefined`). */
export const SCAN_OK = 1
/** The line is not valid JSON (JSON.parse would throw). */
export const SCAN_BAD = 0
/** Undecided: parse the line with the full parser. */
export const SCAN_UNSURE = -1

const STR_CACHE = 256
const BAD = -1
const UNSURE = -2
const MAX_DEPTH = 64
/** Member positions whose key is predicted from the previous lines (log lines repeat their keys). */
const PREDICTED = 32
/** Longest prediction: a key of up to 32 bytes, its closing quote and a colon. */
const PREDICTED_BYTES = 34
const PREDICTED_WORDS = 9

// Value kinds of a wanted field (0: absent).
const K_STRING = 1
const K_NUMBER = 2
const K_TRUE = 3
const K_FALSE = 4
const K_NULL = 5
const K_NESTED = 6

// String flags.
const F_NON_ASCII = 1
const F_ESCAPE = 2

const HEX = (() => {
  const t = new Uint8Array(256)
  for (const c of '0123456789abcdefABCDEF') t[c.charCodeAt(0)] = 1
  return t
})()

/** String bytes that need no attention: printable ASCII except `"` and `\`. */
const PLAIN = (() => {
  const t = new Uint8Array(256)
  for (let c = 0x20; c < 0x80; c++) if (c !== 34 && c !== 92) t[c] = 1
  return t
})()

/** Bytes after a backslash that form a one-character escape: `" \ / b f n r t`. */
const SIMPLE_ESCAPE = (() => {
  const t = new Uint8Array(256)
  for (const c of '"\\/bfnrt') t[c.charCodeAt(0)] = 1
  return t
})()

type Slicer = (this: Buffer, start: number, end: number) => string
const proto = Buffer.prototype as unknown as { latin1Slice?: Slicer; utf8Slice?: Slicer }
/** Buffer's own slicers when present (no argument normalisation per call), else toString. */
const latin1: Slicer = proto.latin1Slice ?? function (this: Buffer, s: number, e: number) { return this.toString('latin1', s, e) }
const utf8: Slicer = proto.utf8Slice ?? function (this: Buffer, s: number, e: number) { return this.toString('utf8', s, e) }

function isWs(c: number): boolean {
  return c <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)
}

/**
 * Validates JSON object lines and extracts chosen top-level fields from their UTF-8 bytes.
 * Values come out as JSON.parse (with exact big integers, see parseJson) would give them;
 * a duplicated key keeps its last value, as in JSON.parse.
 *
 * @example
 * const s = new FieldScanner(['a', 'c'])
 * const out: unknown[] = []
 * s.scan(Buffer.from('{"a":1,"b":[2],"c":"x"}'), 0, 23, out) // SCAN_OK, out = [1, 'x']
 */
export class FieldScanner {
  readonly fields: readonly string[]
  private readonly names: Uint8Array[]
  private readonly index = new Map<string, number>()
  private readonly starts: Int32Array
  private readonly ends: Int32Array
  private readonly kinds: Uint8Array
  private readonly flags: Uint8Array
  private readonly stack = new Uint8Array(MAX_DEPTH)
  /**
   * Keys met lately at each member position: the bytes `key":` (plain ASCII), the same as
   * little-endian words (the last one masked), their length (-1: none) and the key's wanted-field slot.
   */
  private readonly predBytes = new Uint8Array(PREDICTED * PREDICTED_BYTES)
  private readonly predWords = new Int32Array(PREDICTED * PREDICTED_WORDS)
  private readonly predMask = new Int32Array(PREDICTED)
  private readonly predLen = new Int16Array(PREDICTED).fill(-1)
  private readonly predSlot = new Int16Array(PREDICTED)
  private viewOf: Buffer | undefined
  private dv: DataView = new DataView(new ArrayBuffer(0))
  /** Short ASCII strings met lately (direct-mapped): a repeated value is one string, not a new one. */
  private readonly strCache: (string | undefined)[] = new Array<string | undefined>(STR_CACHE).fill(undefined)
  /** Flags of the last string scanned. */
  private strFlags = 0
  /**
   * After a scan: true when some string of the line held a byte ≥ 0x80. A line scanned SCAN_OK
   * with this false is pure ASCII (outside strings, such bytes make the line SCAN_BAD), so it
   * needs no UTF-8 check.
   */
  nonAscii = false
  /** True when the last number scanned had neither fraction nor exponent. */
  private numInt = true

  constructor(fields: readonly string[]) {
    this.fields = [...fields]
    this.names = this.fields.map((f) => new TextEncoder().encode(f))
    this.fields.forEach((f, i) => this.index.set(f, i))
    const n = this.fields.length
    this.starts = new Int32Array(n)
    this.ends = new Int32Array(n)
    this.kinds = new Uint8Array(n)
    this.flags = new Uint8Array(n)
  }

  /**
   * Scans `buf[start, end)`. Returns SCAN_OK (and sets `out[i]` to field i's value or undefined),
   * SCAN_BAD or SCAN_UNSURE (`out` then holds garbage). Without `out` nothing is decoded: read
   * the fields one by one with fieldValue, or as raw bytes (isPlainString, fieldStart, fieldEnd).
   */
  scan(buf: Buffer, start: number, end: number, out?: unknown[]): number {
    const kinds = this.kinds
    const n = kinds.length
    for (let i = 0; i < n; i++) kinds[i] = 0
    this.nonAscii = false
    let p = start
    let c = 0
    while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
    if (p >= end || c !== 123) return SCAN_UNSURE
    p++
    while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
    if (p >= end) return SCAN_BAD
    if (c === 125) {
      p++
    } else {
      const predLen = this.predLen
      for (let member = 0; ; member++) {
        if (c !== 34) return SCAN_BAD
        const ks = p + 1
        let slot: number
        // The key met at this position on the previous lines, when the bytes (key, quote, colon) are the same.
        const pl = member < PREDICTED ? predLen[member]! : -1
        if (pl >= 0 && ks + pl <= end && this.samePattern(buf, ks, member, pl)) {
          slot = this.predSlot[member]!
          p = ks + pl
        } else {
          const q = this.string(buf, ks, end)
          if (q < 0) return SCAN_BAD
          if (this.strFlags === 0) {
            slot = this.match(buf, ks, q)
            if (member < PREDICTED) this.predict(member, buf, ks, q, slot)
          } else {
            slot = this.matchDecoded(buf, ks, q)
          }
          p = q + 1
          while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
          if (p >= end || c !== 58) return SCAN_BAD
          p++
        }
        while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
        if (p >= end) return SCAN_BAD
        const vs = p
        let kind: number
        let flags = 0
        if (c === 34) {
          p = this.string(buf, p + 1, end)
          if (p < 0) return SCAN_BAD
          flags = this.strFlags
          p++
          kind = K_STRING
        } else if (c === 45 || (c >= 48 && c <= 57)) {
          p = this.number(buf, p, end)
          if (p < 0) return SCAN_BAD
          flags = this.numInt ? 1 : 0
          kind = K_NUMBER
        } else if (c === 123 || c === 91) {
          p = this.nested(buf, p, end)
          if (p < 0) return p === UNSURE ? SCAN_UNSURE : SCAN_BAD
          kind = K_NESTED
        } else {
          p = this.literal(buf, p, end)
          if (p < 0) return SCAN_BAD
          kind = c === 116 ? K_TRUE : c === 102 ? K_FALSE : K_NULL
        }
        if (slot >= 0) {
          kinds[slot] = kind
          this.starts[slot] = vs
          this.ends[slot] = p
          this.flags[slot] = flags
        }
        while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
        if (p >= end) return SCAN_BAD
        if (c === 44) {
          p++
          while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
          if (p >= end) return SCAN_BAD
          continue
        }
        if (c === 125) {
          p++
          break
        }
        return SCAN_BAD
      }
    }
    // Anything after the object (even what trimEnd would drop) goes to the full parser.
    while (p < end && (c = buf[p]!) <= 32 && (c === 32 || c === 9 || c === 13 || c === 10)) p++
    if (p < end) return SCAN_UNSURE
    if (out) for (let i = 0; i < n; i++) out[i] = kinds[i] === 0 ? undefined : this.value(buf, i)
    return SCAN_OK
  }

  /** After SCAN_OK: the decoded value of wanted field `i` (as scan's `out[i]`); `buf` is the scanned buffer. */
  fieldValue(buf: Buffer, i: number): unknown {
    return this.kinds[i] === 0 ? undefined : this.value(buf, i)
  }

  /**
   * After SCAN_OK: true when wanted field `i` is a string of printable ASCII without escapes, so
   * its text is the bytes `buf[fieldStart(i) + 1, fieldEnd(i) - 1)` (inside the quotes).
   */
  isPlainString(i: number): boolean {
    return this.kinds[i] === K_STRING && this.flags[i] === 0
  }

  /** After SCAN_OK: where wanted field `i`'s value text starts (a string's opening quote); -1 when absent. */
  fieldStart(i: number): number {
    return this.kinds[i] === 0 ? -1 : this.starts[i]!
  }

  /** After SCAN_OK: where wanted field `i`'s value text ends (after a string's closing quote); -1 when absent. */
  fieldEnd(i: number): number {
    return this.kinds[i] === 0 ? -1 : this.ends[i]!
  }

  /** A DataView over `buf` (the last one made, while the same buffer comes again). */
  private view(buf: Buffer): DataView {
    if (buf !== this.viewOf) {
      this.viewOf = buf
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    return this.dv
  }

  /**
   * True when `buf[s, s + len)` are the bytes predicted at member position `member` (a plain key,
   * its closing quote and a colon): compared four bytes at a time.
   */
  private samePattern(buf: Buffer, s: number, member: number, len: number): boolean {
    const nw = (len + 3) >> 2
    const base = member * PREDICTED_WORDS
    if (s + (nw << 2) <= buf.length) {
      const dv = this.view(buf)
      const words = this.predWords
      for (let w = 0; w < nw - 1; w++) if (dv.getInt32(s + (w << 2), true) !== words[base + w]) return false
      return (dv.getInt32(s + ((nw - 1) << 2), true) & this.predMask[member]!) === words[base + nw - 1]
    }
    const bytes = this.predBytes
    const b = member * PREDICTED_BYTES
    for (let j = 0; j < len; j++) if (buf[s + j] !== bytes[b + j]) return false
    return true
  }

  /** Remembers the plain key `buf[s, e)` (and its wanted-field slot) as the one at position `member`. */
  private predict(member: number, buf: Buffer, s: number, e: number, slot: number): void {
    const len = e - s + 2
    if (len > PREDICTED_BYTES) {
      this.predLen[member] = -1
      return
    }
    const bytes = this.predBytes
    const b = member * PREDICTED_BYTES
    for (let j = 0; j < len - 2; j++) bytes[b + j] = buf[s + j]!
    bytes[b + len - 2] = 34
    bytes[b + len - 1] = 58
    const words = this.predWords
    const base = member * PREDICTED_WORDS
    for (let w = 0; w < (len + 3) >> 2; w++) {
      let word = 0
      for (let k = 0; k < 4; k++) word |= (4 * w + k < len ? bytes[b + 4 * w + k]! : 0) << (8 * k)
      words[base + w] = word
    }
    this.predMask[member] = (len & 3) === 0 ? -1 : (1 << (8 * (len & 3))) - 1
    this.predLen[member] = len
    this.predSlot[member] = slot
  }

  /** The decoded value of wanted field `i` after a successful scan. */
  private value(buf: Buffer, i: number): unknown {
    return this.decode(buf, this.kinds[i]!, this.flags[i]!, this.starts[i]!, this.ends[i]!)
  }

  /**
   * The value whose valid JSON text is `buf[s, e)`, of a kind and flags as this scanner records
   * them (also the codes of the WebAssembly block scanner, json-block.ts): kind 1 string (flags: 1
   * a byte >= 0x80, 2 an escape), 2 number (flags 1: no fraction or exponent), 3 true, 4 false,
   * 5 null, 6 object or array.
   */
  decode(buf: Buffer, kind: number, f: number, s: number, e: number): unknown {
    switch (kind) {
      case K_STRING: {
        if (f === 0) return this.ascii(buf, s + 1, e - 1)
        if (f === F_NON_ASCII) return utf8.call(buf, s + 1, e - 1)
        return JSON.parse(utf8.call(buf, s, e)) as string
      }
      case K_NUMBER: {
        if (f === 1) {
          const neg = buf[s] === 45
          const d0 = neg ? s + 1 : s
          if (e - d0 < 16) {
            let n = 0
            for (let j = d0; j < e; j++) n = n * 10 + (buf[j]! - 48)
            return neg ? -n : n
          }
          return bigIntegerValue(latin1.call(buf, s, e))
        }
        return Number(latin1.call(buf, s, e))
      }
      case K_TRUE: return true
      case K_FALSE: return false
      case K_NULL: return null
      case K_NESTED: return parseJson(utf8.call(buf, s, e))
      default: return undefined
    }
  }

  /** The ASCII text `buf[s, e)`, from the cache when it was met lately. */
  private ascii(buf: Buffer, s: number, e: number): string {
    const len = e - s
    if (len === 0) return ''
    if (len > 24) return latin1.call(buf, s, e)
    const slot = (len * 31 + buf[s]! * 7 + buf[e - 1]! * 3 + buf[s + (len >> 1)]!) & (STR_CACHE - 1)
    const hit = this.strCache[slot]
    if (hit !== undefined && hit.length === len) {
      let j = 0
      while (j < len && hit.charCodeAt(j) === buf[s + j]) j++
      if (j === len) return hit
    }
    const str = latin1.call(buf, s, e)
    this.strCache[slot] = str
    return str
  }

  private ws(buf: Buffer, p: number, end: number): number {
    while (p < end && isWs(buf[p]!)) p++
    return p
  }

  /** Index of the wanted field whose name is the ASCII bytes `buf[s, e)`, or -1. */
  private match(buf: Buffer, s: number, e: number): number {
    const len = e - s
    const names = this.names
    outer: for (let i = 0; i < names.length; i++) {
      const n = names[i]!
      if (n.length !== len) continue
      for (let j = 0; j < len; j++) if (n[j] !== buf[s + j]) continue outer
      return i
    }
    return -1
  }

  /** Index of the wanted field named by the escaped or non-ASCII key text `buf[s, e)`, or -1. */
  private matchDecoded(buf: Buffer, s: number, e: number): number {
    const name = this.strFlags & F_ESCAPE ? (JSON.parse(utf8.call(buf, s - 1, e + 1)) as string) : utf8.call(buf, s, e)
    return this.index.get(name) ?? -1
  }

  /** Scans string content from `p` (after the opening quote); returns the closing quote's index. */
  private string(buf: Buffer, p: number, end: number): number {
    let flags = 0
    for (;;) {
      let c = 0
      while (p < end && PLAIN[(c = buf[p]!)] === 1) p++
      if (p >= end) return BAD
      if (c === 34) {
        this.strFlags = flags
        if (flags & F_NON_ASCII) this.nonAscii = true
        return p
      }
      if (c === 92) {
        flags |= F_ESCAPE
        if (p + 1 >= end) return BAD
        const e = buf[p + 1]!
        if (SIMPLE_ESCAPE[e] === 1) {
          p += 2
        } else if (e === 117) {
          if (p + 5 >= end) return BAD
          if (!(HEX[buf[p + 2]!] && HEX[buf[p + 3]!] && HEX[buf[p + 4]!] && HEX[buf[p + 5]!])) return BAD
          p += 6
        } else {
          return BAD
        }
        continue
      }
      if (c < 0x20) return BAD
      // Any byte >= 0x80 decodes to a character >= U+0080 (U+FFFD when invalid UTF-8): allowed.
      flags |= F_NON_ASCII
      p++
    }
  }

  /** Scans a JSON number from `p`; returns the index after it. Sets numInt. */
  private number(buf: Buffer, p: number, end: number): number {
    let int = true
    if (buf[p] === 45) p++
    if (p >= end) return BAD
    let c = buf[p]!
    if (c === 48) {
      p++
    } else if (c >= 49 && c <= 57) {
      p++
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++
    } else {
      return BAD
    }
    if (p < end && buf[p] === 46) {
      int = false
      p++
      const d = p
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++
      if (p === d) return BAD
    }
    if (p < end && (buf[p] === 101 || buf[p] === 69)) {
      int = false
      p++
      if (p < end && (buf[p] === 43 || buf[p] === 45)) p++
      const d = p
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++
      if (p === d) return BAD
    }
    this.numInt = int
    return p
  }

  /** Scans `true`, `false` or `null` from `p`; returns the index after it. */
  private literal(buf: Buffer, p: number, end: number): number {
    const c = buf[p]
    if (c === 116) return p + 3 < end && buf[p + 1] === 114 && buf[p + 2] === 117 && buf[p + 3] === 101 ? p + 4 : BAD
    if (c === 102) {
      return p + 4 < end && buf[p + 1] === 97 && buf[p + 2] === 108 && buf[p + 3] === 115 && buf[p + 4] === 101 ? p + 5 : BAD
    }
    if (c === 110) return p + 3 < end && buf[p + 1] === 117 && buf[p + 2] === 108 && buf[p + 3] === 108 ? p + 4 : BAD
    return BAD
  }

  /** Validates an object or array starting at `p`; returns the index after it (iterative). */
  private nested(buf: Buffer, p: number, end: number): number {
    const st = this.stack
    let depth = 0
    for (;;) {
      // One value at p.
      if (p >= end) return BAD
      let c = buf[p]!
      let closed = true
      if (c === 123 || c === 91) {
        if (depth === MAX_DEPTH) return UNSURE
        st[depth++] = c
        p = this.ws(buf, p + 1, end)
        if (p >= end) return BAD
        if (buf[p] === c + 2) {
          depth--
          p++
        } else if (c === 123) {
          p = this.key(buf, p, end)
          if (p < 0) return p
          closed = false
        } else {
          closed = false
        }
      } else if (c === 34) {
        p = this.string(buf, p + 1, end)
        if (p < 0) return BAD
        p++
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        p = this.number(buf, p, end)
        if (p < 0) return BAD
      } else {
        p = this.literal(buf, p, end)
        if (p < 0) return BAD
      }
      if (!closed) continue
      // After a value: a comma (then the next value) or the end of containers.
      for (;;) {
        if (depth === 0) return p
        p = this.ws(buf, p, end)
        if (p >= end) return BAD
        c = buf[p]!
        const top = st[depth - 1]!
        if (c === 44) {
          p = this.ws(buf, p + 1, end)
          if (top === 123) {
            p = this.key(buf, p, end)
            if (p < 0) return p
          }
          break
        }
        if (c === top + 2) {
          depth--
          p++
          continue
        }
        return BAD
      }
    }
  }

  /** Scans `"key" :` from `p`; returns the index of the value after it. */
  private key(buf: Buffer, p: number, end: number): number {
    if (p >= end || buf[p] !== 34) return BAD
    p = this.string(buf, p + 1, end)
    if (p < 0) return BAD
    p = this.ws(buf, p + 1, end)
    if (p >= end || buf[p] !== 58) return BAD
    return this.ws(buf, p + 1, end)
  }
}
