// Lazy, re-iterable views over keys or values of a DiscoDB, with allocation-free access paths:
// value IDs as one typed array, a count that decodes nothing, and a visitor over byte ranges.
import { DiscoError } from '../errors.js'
import { utf8 } from './bytes.js'
import type { Reader, ValueVisitor } from './reader.js'

/**
 * Lazy, re-iterable sequence of byte strings: every `for … of` starts afresh; nothing is decoded
 * before it is iterated. Raw (uncompressed) values and keys are sub-views of the DB's bytes.
 * @example db.get('pets')!.toStrings() // ['dog', 'cat', 'goldfish', 'hamster', 'parrot']
 */
export abstract class Inquiry implements Iterable<Uint8Array> {
  abstract [Symbol.iterator](): Iterator<Uint8Array>

  /** Number of elements, without decoding values. */
  abstract count(): number

  /**
   * The value IDs of the elements in order (for `get`, `query`, `values`, `uniqueValues`); keys
   * have none (DDB_BAD_ARGUMENT). Treat the array as read-only.
   * @example db.get('pets')!.ids() // Uint32Array [1, 2, 5]
   */
  ids(): Uint32Array {
    throw new DiscoError('DDB_BAD_ARGUMENT', 'ids(): expected an inquiry over values, found one over keys')
  }

  /**
   * Calls `fn(bytes, start, end)` for every element in order, without a new view per element:
   * the element is `bytes[start, end)`, valid only during the call.
   * @example let total = 0; db.get('pets')!.visit((b, s, e) => { total += e - s }) // total bytes
   */
  visit(fn: ValueVisitor): void {
    for (const b of this) fn(b, 0, b.length)
  }

  /** The elements as UTF-8 text (invalid bytes become U+FFFD). */
  toStrings(): string[] {
    return Array.from(this, utf8)
  }

  /** The elements as an array of byte strings. */
  toArray(): Uint8Array[] {
    return Array.from(this)
  }
}

/** An Inquiry made of functions (scans: one per call, not per value). */
export class FnInquiry extends Inquiry {
  constructor(
    private readonly iterate: () => Iterator<Uint8Array>,
    private readonly counter: () => number,
    private readonly idsOf?: () => Uint32Array,
    private readonly visitor?: (fn: ValueVisitor) => void,
  ) {
    super()
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return this.iterate()
  }
  count(): number {
    return this.counter()
  }
  override ids(): Uint32Array {
    return this.idsOf === undefined ? super.ids() : this.idsOf()
  }
  override visit(fn: ValueVisitor): void {
    if (this.visitor === undefined) super.visit(fn)
    else this.visitor(fn)
  }
}

/** Streams the values of a located list (a plain class: cheaper than a generator). */
class ListIterator implements Iterator<Uint8Array> {
  #i = 0
  #id = 0
  constructor(
    private readonly r: Reader,
    private readonly n: number,
    private readonly w: number,
    private readonly base: number,
  ) {}
  next(): IteratorResult<Uint8Array> {
    const i = this.#i
    if (i >= this.n) return { done: true, value: undefined }
    this.#i = i + 1
    this.#id = this.r.nextId(this.w, this.base, i, this.#id)
    return { done: false, value: this.r.valueAt(this.#id) }
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return this
  }
}

/** The values of one key: its located delta list, decoded on each use. */
export class ListInquiry extends Inquiry {
  constructor(
    private readonly r: Reader,
    private readonly n: number,
    private readonly w: number,
    private readonly base: number,
  ) {
    super()
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return new ListIterator(this.r, this.n, this.w, this.base)
  }
  count(): number {
    return this.n
  }
  /** A fresh array of the key's value IDs. */
  override ids(): Uint32Array {
    return this.r.ids(this.n, this.w, this.base)
  }
  override visit(fn: ValueVisitor): void {
    this.r.visitList(this.n, this.w, this.base, fn)
  }
}

/** Iterator over values fetched by ID. */
class IdIterator implements Iterator<Uint8Array> {
  #i = 0
  constructor(
    private readonly ids: Uint32Array,
    private readonly valueAt: (id: number) => Uint8Array,
  ) {}
  next(): IteratorResult<Uint8Array> {
    const i = this.#i
    if (i >= this.ids.length) return { done: true, value: undefined }
    this.#i = i + 1
    return { done: false, value: this.valueAt(this.ids[i]!) }
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return this
  }
}

/** Values given by an ascending array of IDs (query results). */
export class IdsInquiry extends Inquiry {
  constructor(
    private readonly r: Reader,
    private readonly idArray: Uint32Array,
  ) {
    super()
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return new IdIterator(this.idArray, this.r.valueAt)
  }
  count(): number {
    return this.idArray.length
  }
  /** The result's own array (not a copy): treat it as read-only. */
  override ids(): Uint32Array {
    return this.idArray
  }
  override visit(fn: ValueVisitor): void {
    this.r.visitIds(this.idArray, fn)
  }
}
