// A lazy, re-iterable view over keys or values of a DiscoDB.
import { utf8 } from './bytes.js'

/**
 * Lazy, re-iterable sequence of byte strings: every `for … of` starts afresh; nothing is decoded
 * before it is iterated. Raw (uncompressed) values and keys are sub-views of the DB's bytes.
 * @example db.get('pets')!.toStrings() // ['dog', 'cat', 'goldfish', 'hamster', 'parrot']
 */
export class Inquiry implements Iterable<Uint8Array> {
  readonly #iterate: () => Iterator<Uint8Array>
  readonly #count: () => number

  /** @internal Use the DiscoDB methods; `count` must not decode values. */
  constructor(iterate: () => Iterator<Uint8Array>, count: () => number) {
    this.#iterate = iterate
    this.#count = count
  }

  [Symbol.iterator](): Iterator<Uint8Array> {
    return this.#iterate()
  }

  /** Number of elements, without decoding values. */
  count(): number {
    return this.#count()
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

/** Iterator over values fetched by ID (a plain class: cheaper than a generator). */
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

/** An Inquiry over `ids.length` values fetched by ID. */
export function idInquiry(ids: Uint32Array, valueAt: (id: number) => Uint8Array): Inquiry {
  return new Inquiry(
    () => new IdIterator(ids, valueAt),
    () => ids.length,
  )
}
