// The analytics index format, version 1: the key spaces of one DiscoDB (one batch × one user
// shard) and the compact binary values inside it. Documented in docs/analytics.md.
//
// Values are user ids (UTF-8), added so that user k of the shard gets value ID k (1..N); the
// per-user timelines are added right after them, so user k's timeline has value ID N + k.
import { crc32 } from 'node:zlib'
import { DiscoError } from '../errors.js'

/** Written under `~v`; a reader refuses other versions. */
export const FORMAT_VERSION = 'disco-inferno/analytics 1'
/** First byte of a timeline value (never part of UTF-8 text, so it cannot equal a user id). */
export const TIMELINE_MARK = 0xff
/** First byte of a packed count list value. */
export const COUNTS_MARK = 0xfe
/** Property values are cut to this many characters (code points) in `p:` keys. */
export const PROP_VALUE_MAX = 64

/** Key-space builders; `day`/`week` are `YYYY-MM-DD`, `month` is `YYYY-MM`. */
export const K = {
  version: '~v',
  meta: '~meta',
  users: '~u',
  timelines: '~t',
  eventNames: '~ev',
  propsTable: '~p',
  /** Users who did event `e` in this batch. */
  event: (e: string) => `e:${e}`,
  /** Users active in a period (any event when `e` is undefined); `kind` is d, w or m. */
  period: (kind: 'd' | 'w' | 'm', p: string, e?: string) => (e === undefined ? `${kind}:${p}` : `${kind}:${p}:${e}`),
  /** Users whose first event (`e`, or any) of this batch falls in the period. */
  first: (kind: 'd' | 'w' | 'm', p: string, e?: string) => (e === undefined ? `f${kind}:${p}` : `f${kind}:${p}:${e}`),
  /** Users with property `name` = `value` (cut to 64 characters) on some event. */
  prop: (name: string, value: string) => `p:${name}=${cutValue(value)}`,
  /** Packed (user, count) pairs: each user's number of events (`e`, or any) that day. */
  counts: (day: string, e?: string) => (e === undefined ? `c:${day}` : `c:${day}:${e}`),
  /** The total number of events (`e`, or any) that day, as decimal text. */
  total: (day: string, e?: string) => (e === undefined ? `n:${day}` : `n:${day}:${e}`),
} as const

/** The letter of a period kind in key names. */
export const KIND_LETTER = { day: 'd', week: 'w', month: 'm' } as const

/** A property value as text: strings as they are, numbers/booleans printed, objects as JSON; null/undefined → undefined. */
export function propText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/** The first 64 code points of `s`. */
export function cutValue(s: string): string {
  if (s.length <= PROP_VALUE_MAX) return s
  let n = 0
  let i = 0
  while (i < s.length && n < PROP_VALUE_MAX) {
    const c = s.charCodeAt(i)
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1
    n++
  }
  return s.slice(0, i)
}

/** The shard of a user id: crc32 of its UTF-8 bytes mod `shards`. */
export function shardOf(user: string, shards: number): number {
  return crc32(user) % shards
}

// ---------------------------------------------------------------------------------------------
// Varints: unsigned LEB128 over doubles, exact up to 2^53.

/** A growable byte buffer for varint output. */
export class ByteWriter {
  buf = new Uint8Array(256)
  length = 0

  #room(n: number): void {
    if (this.length + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.length + n) size *= 2
    const b = new Uint8Array(size)
    b.set(this.buf.subarray(0, this.length))
    this.buf = b
  }

  byte(b: number): void {
    this.#room(1)
    this.buf[this.length++] = b
  }

  /** An unsigned integer < 2^53. */
  varint(v: number): void {
    this.#room(8)
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.length++] = v
  }

  /** A copy of the bytes written. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length)
  }

  reset(): void {
    this.length = 0
  }
}

/** A cursor over varint bytes. */
export class ByteReader {
  pos: number
  constructor(readonly buf: Uint8Array, pos = 0) {
    this.pos = pos
  }

  varint(): number {
    const b = this.buf
    let x = b[this.pos++]!
    if (x < 0x80) return x
    let v = x & 0x7f
    let mul = 0x80
    for (;;) {
      if (this.pos >= b.length) throw new DiscoError('ANALYTICS_CORRUPT', 'a varint runs past the end of its value')
      x = b[this.pos++]!
      v += (x & 0x7f) * mul
      if (x < 0x80) return v
      mul *= 0x80
    }
  }

  get done(): boolean {
    return this.pos >= this.buf.length
  }
}

/**
 * Timeline of one user (one batch): mark, user number, n, then per event (in time order, ties in
 * input order) the event code, the time as a delta from the previous event (the first as sign and
 * magnitude), and a 1-based index into the props table (0 = no properties).
 */
export function encodeTimeline(w: ByteWriter, user: number, codes: ArrayLike<number>, times: ArrayLike<number>, props: ArrayLike<number>, n: number): Uint8Array {
  w.reset()
  w.byte(TIMELINE_MARK)
  w.varint(user)
  w.varint(n)
  let prev = 0
  for (let i = 0; i < n; i++) {
    w.varint(codes[i]!)
    const t = times[i]!
    if (i === 0) {
      w.byte(t < 0 ? 1 : 0)
      w.varint(Math.abs(t))
    } else {
      w.varint(t - prev)
    }
    prev = t
    w.varint(props[i]!)
  }
  return w.bytes()
}

/** A decoded timeline: parallel arrays. */
export interface Timeline {
  n: number
  codes: Uint32Array
  times: Float64Array
  props: Uint32Array
}

/** Decodes a timeline value written by {@link encodeTimeline}. */
export function decodeTimeline(v: Uint8Array): Timeline {
  if (v[0] !== TIMELINE_MARK) throw new DiscoError('ANALYTICS_CORRUPT', `timeline value: expected mark 0xff, found ${v[0]}`)
  const r = new ByteReader(v, 1)
  r.varint()
  const n = r.varint()
  const codes = new Uint32Array(n)
  const times = new Float64Array(n)
  const props = new Uint32Array(n)
  let t = 0
  for (let i = 0; i < n; i++) {
    codes[i] = r.varint()
    if (i === 0) {
      const neg = v[r.pos++] === 1
      t = r.varint()
      if (neg) t = -t
    } else {
      t += r.varint()
    }
    times[i] = t
    props[i] = r.varint()
  }
  return { n, codes, times, props }
}

/** Packs ascending user numbers with counts: mark, then (user delta, count) pairs. */
export function encodeCounts(w: ByteWriter, users: ArrayLike<number>, counts: ArrayLike<number>): Uint8Array {
  w.reset()
  w.byte(COUNTS_MARK)
  let prev = 0
  for (let i = 0; i < users.length; i++) {
    w.varint(users[i]! - prev)
    prev = users[i]!
    w.varint(counts[i]!)
  }
  return w.bytes()
}

/** Calls `fn(user, count)` for each pair of a packed count list. */
export function forEachCount(v: Uint8Array, fn: (user: number, count: number) => void): void {
  const r = new ByteReader(v, 1)
  let u = 0
  while (!r.done) {
    u += r.varint()
    fn(u, r.varint())
  }
}
