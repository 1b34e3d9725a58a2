// The DiscoDB reader: opens bytes (no copy) or a file (lazily: the header at open, the index and
// the values on first use), validates arguments, and answers lookups, queries and scans through
// the allocation-free paths of reader.ts.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { DiscoError } from '../errors.js'
import { bytesOf, latin1, toBytes } from './bytes.js'
import { evaluate, metaquery, resolve } from './engine.js'
import { type DiscoDBHeader, HEADER_SIZE, readHeader } from './header.js'
import { FnInquiry, IdsInquiry, type Inquiry, ListInquiry } from './inquiry.js'
import { Q } from './q.js'
import type { WasmValueDecoder } from './huffman-wasm.js'
import { WASM_LIST_KEYS } from './list-wasm.js'
import { type BatchPool, type Offsets, Reader, S_ALL, S_INDEX, S_VALUES, type ValueVisitor, ioError, unsafeBytes } from './reader.js'
import { dedupe } from './setops.js'
import { type BytesLike, type FinalizeOptions, type Values, buildImage } from './writer.js'
import { writeFileAtomicSync } from '../util/atomic.js'

export type { Offsets, ValueVisitor } from './reader.js'

/**
 * A batch of a columnar scan (`DiscoDB.itemBatches`): `length` keys with their value IDs, as
 * offsets into arrays. The arrays are reused: a batch is valid until the next one is requested.
 */
export interface ItemBatch {
  /** Number of keys in the batch. */
  readonly length: number
  /** The DB's bytes: key `k` is `bytes[keyStarts[k], keyEnds[k])`. */
  readonly bytes: Uint8Array
  readonly keyStarts: Offsets
  readonly keyEnds: Offsets
  /** Key `k`'s value IDs are `ids[idStarts[k], idStarts[k + 1])` (length + 1 entries used). */
  readonly idStarts: Uint32Array
  readonly ids: Uint32Array
}

/** All unique values as one column: value `id` is `bytes[offsets[id - 1], offsets[id])`. */
export interface ValueColumn {
  readonly bytes: Uint8Array
  readonly offsets: Offsets
}

const EMPTY_BYTES = new Uint8Array(0)

/** `open`'s header buffer (from Node's pool: no ArrayBuffer of its own), reused by every open. */
const OPEN_HEAD = Buffer.allocUnsafe(HEADER_SIZE)
const OPEN_HEAD_BYTES = bytesOf(OPEN_HEAD)

/** Decoding buffer of a compressed DB's value batches (grown for a value that needs more). */
const VALUE_BATCH_BYTES = 256 * 1024

/**
 * A batch of a columnar scan of the unique values (`DiscoDB.valueBatches`): value `firstId + k` is
 * `bytes[offsets[k], offsets[k + 1])` for k in [0, length). The arrays may be reused: a batch is
 * valid until the next one is requested.
 */
export interface ValueBatch {
  /** Number of values in the batch. */
  readonly length: number
  /** ID of the batch's first value (IDs are 1..U). */
  readonly firstId: number
  /** The DB's bytes (uncompressed), or a decoding buffer reused from batch to batch (compressed). */
  readonly bytes: Uint8Array
  /** length + 1 positions in `bytes`. */
  readonly offsets: Offsets
}

/** Options of `DiscoDB.query`. */
export interface QueryOptions {
  /** Restrict results to these values (values not in the DB are ignored). */
  readonly view?: Iterable<string | Uint8Array>
}

/** Yields `at(i)` for i = first, first + 1, … (n elements): a plain class, cheaper than a generator. */
class CountIterator implements Iterator<Uint8Array> {
  #i: number
  readonly #end: number
  constructor(
    n: number,
    first: number,
    private readonly at: (i: number) => Uint8Array,
  ) {
    this.#i = first
    this.#end = first + n
  }
  next(): IteratorResult<Uint8Array> {
    const i = this.#i
    if (i >= this.#end) return { done: true, value: undefined }
    this.#i = i + 1
    return { done: false, value: this.at(i) }
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return this
  }
}

/** Every value of every key in stored order (`values()`), key lists located one after another. */
class ValuesIterator implements Iterator<Uint8Array> {
  #key = 0
  #k = 0
  #count = 0
  #w = 1
  #base = 0
  #id = 0
  constructor(
    private readonly r: Reader,
    private readonly n: number,
  ) {}
  next(): IteratorResult<Uint8Array> {
    const r = this.r
    while (this.#k >= this.#count) {
      if (this.#key >= this.n) return { done: true, value: undefined }
      r.locate(this.#key++)
      this.#count = r.count
      this.#w = r.w
      this.#base = r.base
      this.#k = 0
      this.#id = 0
    }
    const id = (this.#id = r.nextId(this.#w, this.#base, this.#k++, this.#id))
    return { done: false, value: r.valueAt(id) }
  }
  [Symbol.iterator](): Iterator<Uint8Array> {
    return this
  }
}

/**
 * The batches of a compressed DB's unique values (`valueBatches`): a plain class rather than a
 * generator (a generator around the decoding loop measured about 14 % slower). It holds the
 * reader's pooled buffers while it runs and gives them back at the end (or on `return`).
 */
class CompressedValueBatches implements Iterator<ValueBatch>, Iterable<ValueBatch> {
  #id = 1
  #pool: BatchPool | undefined
  /** The WebAssembly decoder while this scan holds it (else batches are decoded in JavaScript). */
  #wasm: WasmValueDecoder | null
  #running = true
  readonly #U: number
  constructor(
    private readonly r: Reader,
    private readonly size: number,
  ) {
    this.#U = r.U
    this.#wasm = r.takeWasm()
    // Without the WebAssembly decoder: the reader's pooled buffers when no other scan holds them
    // (decoded offsets stay below 2^32: a batch's buffer is far smaller).
    this.#pool = this.#wasm === null ? r.takeBatchPool(size + 1) : undefined
  }
  next(): IteratorResult<ValueBatch> {
    const id = this.#id
    const w = this.#wasm
    if (w !== null && this.#running && id <= this.#U) {
      const n = w.decode(id, Math.min(this.size, this.#U + 1 - id))
      if (n > 0) {
        this.#id = id + n
        return { done: false, value: { length: n, firstId: id, bytes: w.bytes, offsets: w.offsets } }
      }
    }
    // The end, a damaged value, or a batch in JavaScript (kept out of this method: a scan's loop
    // inlines `next`, and the compiler's work then stays small).
    return this.#slowNext()
  }
  #slowNext(): IteratorResult<ValueBatch> {
    const id = this.#id
    if (!this.#running || id > this.#U) return this.#done()
    const r = this.r
    const count = Math.min(this.size, this.#U + 1 - id)
    try {
      const w = this.#wasm
      if (w !== null) {
        const n = w.decode(id, count)
        if (n < 0) r.throwDamaged(id - 1 - n)
        // A value too large for a batch of the WebAssembly decoder: this batch in JavaScript.
        this.#pool ??= { offsets: new Uint32Array(this.size + 1), out: EMPTY_BYTES }
      }
      const pool = this.#pool!
      let n = r.decodeValues(id, count, pool.offsets, 0, pool.out, 0)
      if (n === 0) {
        // Room for a batch of typical values, and for this one whatever its size.
        pool.out = unsafeBytes(Math.max(VALUE_BATCH_BYTES, r.valueCap(id)))
        n = r.decodeValues(id, count, pool.offsets, 0, pool.out, 0)
      }
      this.#id = id + n
      return { done: false, value: { length: n, firstId: id, bytes: pool.out, offsets: pool.offsets } }
    } catch (e) {
      this.#done()
      throw e
    }
  }
  return(): IteratorResult<ValueBatch> {
    return this.#done()
  }
  [Symbol.iterator](): Iterator<ValueBatch> {
    return this
  }
  #done(): IteratorResult<ValueBatch> {
    if (this.#running) {
      this.#running = false
      if (this.#wasm !== null) this.r.returnWasm()
      else if (this.#pool !== undefined) this.r.returnBatchPool(this.#pool)
    }
    return { done: true, value: undefined }
  }
}

/**
 * An immutable key → values index in the original DiscoDB format (spec discodb-format.md).
 * @example
 * const db = DiscoDB.load('animals.ddb')
 * db.query('pets & ~aquatic').toStrings() // ['dog', 'cat', 'hamster', 'parrot']
 */
export class DiscoDB {
  /** The header fields exactly as stored. */
  readonly header: DiscoDBHeader
  readonly #r: Reader
  #valueIndex: Map<string, number> | undefined

  /** Opens the DB at the start of `bytes` (no copy), or wraps a reader. Prefer `DiscoDB.loads` / `open`. */
  protected constructor(bytes: Uint8Array | Reader) {
    if (bytes instanceof Reader) {
      this.#r = bytes
    } else {
      const header = readHeader(bytesOf(bytes))
      // A plain Uint8Array view (Buffer sub-views are slower to create); no copy.
      this.#r = new Reader(header, new Uint8Array(bytes.buffer, bytes.byteOffset, header.size))
    }
    this.header = this.#r.h
  }

  /**
   * Opens bytes in memory without copying; the DB may be followed by other bytes.
   * @example DiscoDB.loads(fs.readFileSync('animals.ddb')).size // 5
   */
  static loads(bytes: Uint8Array): DiscoDB {
    if (!(bytes instanceof Uint8Array)) throw new DiscoError('DDB_BAD_ARGUMENT', `expected a Uint8Array, found ${typeof bytes}`)
    return new this(bytes)
  }

  /**
   * Builds a DB from `[key, values]` pairs (a `Map` works too); the same as adding each pair to a
   * `DiscoDBConstructor` and finalizing it.
   * @example DiscoDB.build([['pets', ['dog', 'cat']], ['empty', []]]).get('pets')!.toStrings() // ['dog', 'cat']
   */
  static build(items: Iterable<readonly [BytesLike, Values]>, options?: FinalizeOptions): DiscoDB {
    return DiscoDB.loads(buildImage(items, options))
  }

  /**
   * Opens a file lazily (from byte `offset`, where an embedded DB starts): reads and checks only
   * the header now (one read); the index (hash, key TOC, key records) and the values are each
   * read by one positional read when first needed, and the file is closed once both are in
   * memory. `close()` releases it earlier. Damage, and a file shorter than its header's size, are
   * reported with the same codes as `load`, when the damaged part or the first section is read.
   * @example const db = DiscoDB.open('animals.ddb'); db.get('pets')!.count() // 5
   */
  static open(path: string, offset = 0): DiscoDB {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new DiscoError('DDB_BAD_ARGUMENT', `offset: expected a non-negative integer, found ${offset}`)
    }
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (e) {
      throw ioError(e, path)
    }
    try {
      // Into one scratch buffer shared by all opens: the reader keeps only the parsed header (the
      // header's bytes are read again with the first section).
      const head = OPEN_HEAD
      let got = readSync(fd, head, 0, HEADER_SIZE, offset)
      while (got > 0 && got < HEADER_SIZE) {
        const n = readSync(fd, head, got, HEADER_SIZE - got, offset + got)
        if (n === 0) break
        got += n
      }
      if (got < HEADER_SIZE) readHeader(bytesOf(head.subarray(0, got))) // DDB_TOO_SMALL or DDB_BAD_MAGIC
      // The file's length is checked when a section is first read (before its buffer is
      // allocated), not here: open costs one read. A header that is bad whatever the length is
      // checked again against the real length (fstat), so that the error is the one `loads`
      // gives (a size beyond the file is reported before the layout).
      let header: DiscoDBHeader | undefined
      try {
        header = readHeader(OPEN_HEAD_BYTES, Number.MAX_SAFE_INTEGER)
      } catch (e) {
        if (!(e instanceof DiscoError)) throw e
      }
      header ??= readHeader(OPEN_HEAD_BYTES, Math.max(0, fstatSync(fd).size - offset))
      return new this(new Reader(header, undefined, { fd, path, offset }))
    } catch (e) {
      closeSync(fd)
      throw ioError(e, path)
    }
  }

  /**
   * Reads a file (from byte `offset`, where an embedded DB starts) into memory and opens it.
   * @example DiscoDB.load('bundle.bin', 4096).header.numKeys // 5
   */
  static load(path: string, offset = 0): DiscoDB {
    const db = this.open(path, offset)
    try {
      db.#r.ensure(S_ALL)
    } finally {
      db.#r.close()
    }
    return db
  }

  /** Releases the file of a DB from `open` (a no-op otherwise); reading parts not yet read then fails with DDB_CLOSED. */
  close(): void {
    this.#r.close()
  }

  /** Number of keys. */
  get size(): number {
    return this.header.numKeys
  }

  /** U, the number of unique values (value IDs are 1..U). */
  get numUniqueValues(): number {
    return this.header.numUniqueValues
  }

  /** The DB's bytes: exactly `header.size` bytes, a sub-view (no copy). */
  dumps(): Uint8Array {
    this.#r.ensure(S_ALL)
    return this.#r.buf
  }

  /** Writes the DB to `path` atomically (temporary file, then rename). */
  dump(path: string): void {
    const bytes = this.dumps()
    try {
      writeFileAtomicSync(path, bytes)
    } catch (e) {
      throw ioError(e, path)
    }
  }

  /** True when the DB holds `key` (exact bytes; strings mean UTF-8). */
  has(key: string | Uint8Array): boolean {
    const r = this.#r
    r.ensure(S_INDEX)
    return r.seek(toBytes(key))
  }

  /**
   * The values of `key` in value-ID order, or undefined when the key is absent.
   * @example db.get('aquatic')?.toStrings() // ['whale', 'goldfish']
   */
  get(key: string | Uint8Array): Inquiry | undefined {
    const r = this.#r
    r.ensure(S_ALL)
    if (!r.seek(toBytes(key))) return undefined
    r.locateFound()
    return new ListInquiry(r, r.count, r.w, r.base)
  }

  /** First value of `key`; undefined when the key is absent or has no values. */
  peek(key: string | Uint8Array): Uint8Array | undefined {
    const r = this.#r
    r.ensure(S_ALL)
    if (!r.seek(toBytes(key))) return undefined
    r.locateFound()
    return r.count === 0 ? undefined : r.valueAt(r.nextId(r.w, r.base, 0, 0))
  }

  /** All keys in stored order (insertion order, or hash order for hashed DBs). */
  keys(): Inquiry {
    const r = this.#r
    r.ensure(S_INDEX)
    const n = this.header.numKeys
    return new FnInquiry(
      () => new CountIterator(n, 0, (i) => r.keyAt(i)),
      () => n,
    )
  }

  /** Every value of every key, keys in stored order (duplicates kept); count = numValues. */
  values(): Inquiry {
    const r = this.#r
    r.ensure(S_ALL)
    const n = this.header.numKeys
    return new FnInquiry(
      () => new ValuesIterator(r, n),
      () => this.header.numValues,
      () => {
        let total = 0
        for (let i = 0; i < n; i++) {
          r.locate(i)
          total += r.count
        }
        const out = new Uint32Array(total)
        for (let i = 0, at = 0; i < n; i++) {
          r.locate(i)
          r.decodeInto(r.count, r.w, r.base, out, at)
          at += r.count
        }
        return out
      },
      (fn) => {
        for (let i = 0; i < n; i++) {
          r.locate(i)
          r.visitList(r.count, r.w, r.base, fn)
        }
      },
    )
  }

  /** Unique values in value-ID order; count = numUniqueValues. */
  uniqueValues(): Inquiry {
    const r = this.#r
    r.ensure(S_VALUES)
    const n = this.header.numUniqueValues
    return new FnInquiry(
      () => new CountIterator(n, 1, r.valueAt),
      () => n,
      () => {
        const out = new Uint32Array(n)
        for (let i = 0; i < n; i++) out[i] = i + 1
        return out
      },
      (fn) => {
        for (let id = 1; id <= n; id++) r.visitId(id, fn)
      },
    )
  }

  /** `[key, values]` for every key in stored order. */
  items(): Iterable<[Uint8Array, Inquiry]> {
    const r = this.#r
    r.ensure(S_ALL)
    const n = this.header.numKeys
    return {
      *[Symbol.iterator]() {
        for (let i = 0; i < n; i++) {
          const key = r.keyAt(i)
          r.locate(i)
          yield [key, new ListInquiry(r, r.count, r.w, r.base)]
        }
      },
    }
  }

  /**
   * Columnar scan of the items: batches of up to `batchKeys` keys, each key a byte range of the
   * DB's bytes and its value IDs a range of one `Uint32Array` (no object per key or value). With
   * `valueColumn()` a value is two typed-array reads. A batch is valid until the next one.
   * @example
   * const col = db.valueColumn()
   * for (const b of db.itemBatches()) for (let k = 0; k < b.length; k++)
   *   for (let j = b.idStarts[k]!; j < b.idStarts[k + 1]!; j++) total += col.offsets[b.ids[j]!]! - col.offsets[b.ids[j]! - 1]!
   */
  itemBatches(batchKeys = 4096): Iterable<ItemBatch> {
    const size = batchSize('batchKeys', batchKeys, this.header.numKeys)
    const r = this.#r
    r.ensure(S_INDEX)
    const n = this.header.numKeys
    return {
      *[Symbol.iterator]() {
        // The WebAssembly decoder when this scan can have it (batches of at most its size, one
        // scan at a time); the JavaScript arrays are made only for batches it does not take.
        const dec = size <= WASM_LIST_KEYS ? r.takeListDecoder() : null
        let keyStarts: Offsets | undefined
        let keyEnds: Offsets | undefined
        let idStarts: Uint32Array | undefined
        let ids: Uint32Array | undefined
        try {
          for (let from = 0; from < n; ) {
            let to = Math.min(n, from + size)
            if (dec !== null) {
              const got = dec.fill(from, to)
              if (got > 0) {
                yield { length: got, bytes: r.buf, keyStarts: dec.keyStarts, keyEnds: dec.keyEnds, idStarts: dec.idStarts, ids: dec.ids }
                from += got
                continue
              }
              // One key with more IDs than a batch of the decoder holds: that key alone in
              // JavaScript; a damaged record (or a huge list): the batch in JavaScript, which
              // throws the error.
              if (got === 0) to = from + 1
            }
            if (keyStarts === undefined) {
              const big = r.h.size >= 0x100000000
              keyStarts = big ? new Float64Array(size) : new Uint32Array(size)
              keyEnds = big ? new Float64Array(size) : new Uint32Array(size)
              idStarts = new Uint32Array(size + 1)
              ids = new Uint32Array(16 * size)
            }
            ids = r.fillBatch(from, to, keyStarts, keyEnds!, idStarts!, ids!)
            yield { length: to - from, bytes: r.buf, keyStarts, keyEnds: keyEnds!, idStarts: idStarts!, ids }
            from = to
          }
        } finally {
          if (dec !== null) r.returnListDecoder()
        }
      },
    }
  }

  /**
   * Columnar scan of the unique values in ID order: batches of up to `batchValues` values, each a
   * run of offsets into one byte array (no object per value). Uncompressed DBs hand out their
   * own bytes and a view of the value TOC (no copy); compressed DBs decode each batch into one
   * buffer reused from batch to batch (the work of a C cursor, without a buffer of all values).
   * A batch is valid until the next one.
   * @example
   * for (const b of db.valueBatches()) for (let k = 0; k < b.length; k++)
   *   total += b.offsets[k + 1]! - b.offsets[k]! // value b.firstId + k
   */
  valueBatches(batchValues = 4096): Iterable<ValueBatch> {
    const size = batchSize('batchValues', batchValues, this.header.numUniqueValues)
    const r = this.#r
    r.ensure(S_VALUES)
    const U = this.header.numUniqueValues
    if (r.h.compressed) return { [Symbol.iterator]: () => new CompressedValueBatches(r, size) }
    return {
      *[Symbol.iterator]() {
        if (r.hasValueTable) {
          for (let id = 1; id <= U; id += size) {
            const n = Math.min(size, U + 1 - id)
            yield { length: n, firstId: id, bytes: r.buf, offsets: r.valueTableView(id, n) }
          }
          return
        }
        const offsets: Offsets = r.h.size >= 0x100000000 ? new Float64Array(size + 1) : new Uint32Array(size + 1)
        for (let id = 1; id <= U; id += size) {
          const n = Math.min(size, U + 1 - id)
          r.valueStarts(id, n, offsets)
          yield { length: n, firstId: id, bytes: r.buf, offsets }
        }
      },
    }
  }

  /**
   * All unique values as one column (Arrow-style offsets): value `id` is
   * `bytes[offsets[id - 1], offsets[id])`. Uncompressed DBs: the DB's own bytes and value TOC;
   * compressed DBs: every value decoded once into one buffer.
   * @example const c = db.valueColumn(); utf8(c.bytes.subarray(c.offsets[0], c.offsets[1])) // first value
   */
  valueColumn(): ValueColumn {
    const r = this.#r
    r.ensure(S_VALUES)
    return r.valueColumn()
  }

  /**
   * Values matching a query (spec 7), ascending value-ID order, each once. Parse errors
   * (DDB_QUERY_SYNTAX), DDB_QUERY_RESOLVE and DDB_MULTISET_QUERY are thrown here.
   * @example db.query('mammals | pets', { view: ['whale', 'cat'] }).toStrings() // ['cat', 'whale']
   */
  query(q: string | Uint8Array | Q, options?: QueryOptions): Inquiry {
    return new IdsInquiry(this.#r, this.queryIds(q, options))
  }

  /** Like `query`, but the ascending value IDs of the result. */
  queryIds(q: string | Uint8Array | Q, options?: QueryOptions): Uint32Array {
    const parsed = q instanceof Q ? q : Q.parse(q)
    this.#checkQueryable()
    const r = this.#r
    r.ensure(S_ALL)
    const view = options?.view === undefined ? undefined : this.#viewIds(options.view)
    return evaluate(r, parsed.hasDeref ? resolve(r, parsed) : parsed, view)
  }

  /** The query with its dereferences replaced by this DB's values (spec 8.3). */
  resolve(q: string | Uint8Array | Q): Q {
    const parsed = q instanceof Q ? q : Q.parse(q)
    this.#checkQueryable()
    this.#r.ensure(S_ALL)
    return resolve(this.#r, parsed)
  }

  /**
   * Expands dereferences into one query per combination of values (spec 8.4), lazily.
   * @example [...db.metaquery('*A | B')].map(([q, vs]) => [String(q), vs.toStrings()])
   */
  metaquery(q: string | Uint8Array | Q): Iterable<[Q, Inquiry]> {
    const parsed = q instanceof Q ? q : Q.parse(q)
    this.#checkQueryable()
    const r = this.#r
    r.ensure(S_ALL)
    return {
      *[Symbol.iterator]() {
        for (const [mq, ids] of metaquery(r, parsed)) yield [mq, new IdsInquiry(r, ids)]
      },
    }
  }

  /** Ascending IDs of `key`'s values (empty when absent). */
  idsOfKey(key: Uint8Array): Uint32Array {
    this.#r.ensure(S_INDEX)
    return this.#r.idsOfKey(key)
  }

  /** Stored list length of `key` (0 when absent), without decoding it. */
  countOfKey(key: Uint8Array): number {
    this.#r.ensure(S_INDEX)
    return this.#r.countOfKey(key)
  }

  /** The bytes of value `id` (1..U). */
  valueAt(id: number): Uint8Array {
    this.#r.ensure(S_VALUES)
    return this.#r.valueAt(id)
  }

  /**
   * Calls `fn(bytes, start, end)` with value `id` (1..U) as a byte range, valid during the call.
   * @example db.visitValue(1, (b, s, e) => console.log(e - s)) // length of the first value
   */
  visitValue(id: number, fn: ValueVisitor): void {
    this.#r.ensure(S_VALUES)
    this.#r.visitId(id, fn)
  }

  #checkQueryable(): void {
    if (this.header.multiset) {
      throw new DiscoError('DDB_MULTISET_QUERY', 'queries are not supported on multisets: expected a DB without repeated (key, value) pairs, found the multiset flag (some key holds a value twice); lookups (get, keys, values) still work. Rebuild it without repeats: ddb create --unique-items, or finalize({ uniqueItems: true })')
    }
  }

  /** Value IDs of the view's values that are in the DB (ascending, unique). */
  #viewIds(view: Iterable<string | Uint8Array>): Uint32Array {
    const index = (this.#valueIndex ??= this.#buildValueIndex())
    const ids: number[] = []
    for (const v of view) {
      const id = index.get(latin1(toBytes(v)))
      if (id !== undefined) ids.push(id)
    }
    return dedupe(Uint32Array.from(ids).sort())
  }

  #buildValueIndex(): Map<string, number> {
    const m = new Map<string, number>()
    for (let id = 1; id <= this.header.numUniqueValues; id++) m.set(latin1(this.#r.valueAt(id)), id)
    return m
  }
}

/** A columnar scan's batch length: the asked size (a positive integer, else DDB_BAD_ARGUMENT), at most `total` (at least 1). */
function batchSize(name: string, asked: number, total: number): number {
  if (!Number.isSafeInteger(asked) || asked < 1) throw new DiscoError('DDB_BAD_ARGUMENT', `${name}: expected a positive integer, found ${asked}`)
  return Math.min(asked, Math.max(1, total))
}
