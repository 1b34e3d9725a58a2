// The DiscoDB reader: opens bytes (no copy), picks per-file behaviour once (hashed → CHD lookup,
// else scan; compressed → Huffman, else raw sub-views), and answers lookups and queries.
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { DiscoError } from '../errors.js'
import { type Bytes, bytesOf, corrupt, latin1, toBytes } from './bytes.js'
import { type Chd, chdIndex, readChd } from './chd.js'
import { type IdList, IdListIterator, decodeIds, openIdList } from './deltas.js'
import { type QuerySource, evaluate, metaquery, resolve } from './engine.js'
import { type DiscoDBHeader, HEADER_SIZE, readHeader } from './header.js'
import { type Codebook, decodeHuffman, readCodebook } from './huffman.js'
import { Inquiry, idInquiry } from './inquiry.js'
import { Q } from './q.js'
import { dedupe } from './setops.js'
import { type BytesLike, type FinalizeOptions, type Values, buildDiscoDB } from './writer.js'

/** Options of `DiscoDB.query`. */
export interface QueryOptions {
  /** Restrict results to these values (values not in the DB are ignored). */
  readonly view?: Iterable<string | Uint8Array>
}

/** Wraps a file-system error as `IO_<errno>`. */
function ioError(e: unknown, path: string): DiscoError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
  return new DiscoError(`IO_${code}`, `${path}: ${(e as Error).message}`, { cause: e })
}

/**
 * An immutable key → values index in the original DiscoDB format (spec discodb-format.md).
 * @example
 * const db = DiscoDB.load('animals.ddb')
 * db.query('pets & ~aquatic').toStrings() // ['dog', 'cat', 'hamster', 'parrot']
 */
export class DiscoDB implements QuerySource {
  /** The header fields exactly as stored. */
  readonly header: DiscoDBHeader
  readonly #b: Bytes
  readonly #keyTocEnd: number
  readonly #valueTocEnd: number
  readonly #valuesEnd: number
  /** Key → key index or -1 (CHD for hashed DBs, scan otherwise). */
  readonly #findKey: (key: Uint8Array) => number
  /** Value ID → bytes (Huffman or raw sub-view). */
  readonly #value: (start: number, end: number) => Uint8Array
  #chd: Chd | undefined
  #codebook: Codebook | undefined
  #valueIndex: Map<string, number> | undefined
  #recEnd = 0
  /** valueAt bound once (handed to iterators). */
  readonly #valueAt = (id: number): Uint8Array => this.valueAt(id)

  /** Opens the DB at the start of `bytes` (no copy). Prefer `DiscoDB.loads`. */
  protected constructor(bytes: Uint8Array) {
    const header = readHeader(bytesOf(bytes))
    this.header = header
    // A plain Uint8Array view (Buffer sub-views are slower to create); no copy.
    this.#b = bytesOf(new Uint8Array(bytes.buffer, bytes.byteOffset, header.size))
    this.#keyTocEnd = header.key2valuesOffs + (header.numKeys + 1) * 8
    this.#valueTocEnd = header.id2valueOffs + (header.numUniqueValues + 1) * 8
    this.#valuesEnd = header.compressed ? header.codebookOffs : header.size
    this.#findKey = header.hashed ? (k) => this.#hashFind(k) : (k) => this.#scanFind(k)
    const buf = this.#b.buf
    this.#value = header.compressed
      ? (s, e) => decodeHuffman((this.#codebook ??= readCodebook(this.#b, header.codebookOffs)), buf, s, e)
      : (s, e) => new Uint8Array(buf.buffer, buf.byteOffset + s, e - s)
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
    return buildDiscoDB(items, options)
  }

  /**
   * Reads a file (from byte `offset`, where an embedded DB starts) and opens it.
   * @example DiscoDB.load('bundle.bin', 4096).header.numKeys // 5
   */
  static load(path: string, offset = 0): DiscoDB {
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
      const size = fstatSync(fd).size
      const len = Math.max(0, size - offset)
      const buf = Buffer.allocUnsafe(len)
      let got = 0
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, offset + got)
        if (n === 0) break
        got += n
      }
      return new this(buf.subarray(0, got))
    } catch (e) {
      if (e instanceof DiscoError) throw e
      throw ioError(e, path)
    } finally {
      closeSync(fd)
    }
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
    return this.#b.buf
  }

  /** Writes the DB to `path` atomically (temporary file, then rename). */
  dump(path: string): void {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    try {
      writeFileSync(tmp, this.#b.buf)
      renameSync(tmp, path)
    } catch (e) {
      try {
        unlinkSync(tmp)
      } catch {
        // the temporary file was never created
      }
      throw ioError(e, path)
    }
  }

  /** True when the DB holds `key` (exact bytes; strings mean UTF-8). */
  has(key: string | Uint8Array): boolean {
    return this.#findKey(toBytes(key)) >= 0
  }

  /**
   * The values of `key` in value-ID order, or undefined when the key is absent.
   * @example db.get('aquatic')?.toStrings() // ['whale', 'goldfish']
   */
  get(key: string | Uint8Array): Inquiry | undefined {
    const i = this.#findKey(toBytes(key))
    return i < 0 ? undefined : this.#listInquiry(i)
  }

  /** First value of `key`; undefined when the key is absent or has no values. */
  peek(key: string | Uint8Array): Uint8Array | undefined {
    const i = this.#findKey(toBytes(key))
    if (i < 0) return undefined
    const first = new IdListIterator(this.#b, this.#listAt(i), this.header.numUniqueValues, this.#valueAt).next()
    return first.done ? undefined : first.value
  }

  /** All keys in stored order (insertion order, or hash order for hashed DBs). */
  keys(): Inquiry {
    const n = this.header.numKeys
    return new Inquiry(
      function* (this: DiscoDB) {
        for (let i = 0; i < n; i++) yield this.#keyAt(i)
      }.bind(this),
      () => n,
    )
  }

  /** Every value of every key, keys in stored order (duplicates kept); count = numValues. */
  values(): Inquiry {
    const n = this.header.numKeys
    return new Inquiry(
      function* (this: DiscoDB) {
        for (let i = 0; i < n; i++) yield* new IdListIterator(this.#b, this.#listAt(i), this.header.numUniqueValues, this.#valueAt)
      }.bind(this),
      () => this.header.numValues,
    )
  }

  /** Unique values in value-ID order; count = numUniqueValues. */
  uniqueValues(): Inquiry {
    const n = this.header.numUniqueValues
    return new Inquiry(
      function* (this: DiscoDB) {
        for (let id = 1; id <= n; id++) yield this.valueAt(id)
      }.bind(this),
      () => n,
    )
  }

  /** `[key, values]` for every key in stored order. */
  items(): Iterable<[Uint8Array, Inquiry]> {
    const n = this.header.numKeys
    const self = this
    return {
      *[Symbol.iterator]() {
        for (let i = 0; i < n; i++) {
          yield [self.#keyAt(i), self.#listInquiry(i)]
        }
      },
    }
  }

  /**
   * Values matching a query (spec 7), ascending value-ID order, each once. Parse errors
   * (DDB_QUERY_SYNTAX), DDB_QUERY_RESOLVE and DDB_MULTISET_QUERY are thrown here.
   * @example db.query('mammals | pets', { view: ['whale', 'cat'] }).toStrings() // ['cat', 'whale']
   */
  query(q: string | Uint8Array | Q, options?: QueryOptions): Inquiry {
    const ids = this.queryIds(q, options)
    return idInquiry(ids, (id) => this.valueAt(id))
  }

  /** Like `query`, but the ascending value IDs of the result. */
  queryIds(q: string | Uint8Array | Q, options?: QueryOptions): Uint32Array {
    const parsed = q instanceof Q ? q : Q.parse(q)
    this.#checkQueryable()
    const view = options?.view === undefined ? undefined : this.#viewIds(options.view)
    return evaluate(this, resolve(this, parsed), view)
  }

  /** The query with its dereferences replaced by this DB's values (spec 8.3). */
  resolve(q: string | Uint8Array | Q): Q {
    const parsed = q instanceof Q ? q : Q.parse(q)
    this.#checkQueryable()
    return resolve(this, parsed)
  }

  /**
   * Expands dereferences into one query per combination of values (spec 8.4), lazily.
   * @example [...db.metaquery('*A | B')].map(([q, vs]) => [String(q), vs.toStrings()])
   */
  metaquery(q: string | Uint8Array | Q): Iterable<[Q, Inquiry]> {
    const parsed = q instanceof Q ? q : Q.parse(q)
    this.#checkQueryable()
    const self = this
    return {
      *[Symbol.iterator]() {
        for (const [mq, ids] of metaquery(self, parsed)) yield [mq, idInquiry(ids, (id) => self.valueAt(id))]
      },
    }
  }

  /** Ascending IDs of `key`'s values (empty when absent). Part of QuerySource. */
  idsOfKey(key: Uint8Array): Uint32Array {
    const i = this.#findKey(key)
    return i < 0 ? new Uint32Array(0) : this.#idsAt(i)
  }

  /** Stored list length of `key` (0 when absent). Part of QuerySource. */
  countOfKey(key: Uint8Array): number {
    const i = this.#findKey(key)
    return i < 0 ? 0 : this.#listAt(i).count
  }

  /** The bytes of value `id` (1..U). */
  valueAt(id: number): Uint8Array {
    const U = this.header.numUniqueValues
    if (!(id >= 1 && id <= U)) throw new DiscoError('DDB_BAD_ARGUMENT', `value ID: expected 1..${U}, found ${id}`)
    const v = this.#b.view
    const p = this.header.id2valueOffs + (id - 1) * 8
    const s = v.getUint32(p + 4, true) * 0x100000000 + v.getUint32(p, true)
    const e = v.getUint32(p + 12, true) * 0x100000000 + v.getUint32(p + 8, true)
    if (s < this.#valueTocEnd || s > e || e > this.#valuesEnd) {
      corrupt(`value ${id} extent`, `${this.#valueTocEnd} <= start <= end <= ${this.#valuesEnd}`, `[${s}, ${e})`)
    }
    return this.#value(s, e)
  }

  #checkQueryable(): void {
    if (this.header.multiset) {
      throw new DiscoError('DDB_MULTISET_QUERY', 'queries are not supported on multisets: expected a DB without repeated values per key, found the multiset flag')
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
    for (let id = 1; id <= this.header.numUniqueValues; id++) m.set(latin1(this.valueAt(id)), id)
    return m
  }

  /**
   * Start of key record `i`, bounds-checked; its end is left in #recEnd (saves allocating a pair
   * on every lookup).
   */
  #recStart(i: number): number {
    const v = this.#b.view
    const p = this.header.key2valuesOffs + i * 8
    const s = v.getUint32(p + 4, true) * 0x100000000 + v.getUint32(p, true)
    const e = v.getUint32(p + 12, true) * 0x100000000 + v.getUint32(p + 8, true)
    if (s < this.#keyTocEnd || s > e || e > this.header.id2valueOffs) {
      corrupt(`key record ${i} extent`, `${this.#keyTocEnd} <= start <= end <= ${this.header.id2valueOffs}`, `[${s}, ${e})`)
    }
    this.#recEnd = e
    return s
  }

  /** Length of the key of record `i` at [s, e), checked to leave room for the list count. */
  #keyLength(i: number, s: number, e: number): number {
    const len = s + 4 <= e ? this.#b.view.getUint32(s, true) : -1
    if (len < 0 || s + 8 + len > e) corrupt(`key record ${i}`, `a key and a count within ${e - s} bytes`, len)
    return len
  }

  /** Key bytes of record `i` (a sub-view). */
  #keyAt(i: number): Uint8Array {
    const s = this.#recStart(i)
    return this.#view(s + 4, s + 4 + this.#keyLength(i, s, this.#recEnd))
  }

  /** True when record `i` holds exactly `key` (compared in place). */
  #keyEquals(i: number, key: Uint8Array): boolean {
    const s = this.#recStart(i)
    const len = this.#keyLength(i, s, this.#recEnd)
    if (len !== key.length) return false
    const buf = this.#b.buf
    for (let j = 0, p = s + 4; j < len; j++, p++) if (buf[p] !== key[j]) return false
    return true
  }

  /** A sub-view of the DB's bytes (cheaper than subarray). */
  #view(s: number, e: number): Uint8Array {
    const buf = this.#b.buf
    return new Uint8Array(buf.buffer, buf.byteOffset + s, e - s)
  }

  /** The located value-ID list of record `i`. */
  #listAt(i: number): IdList {
    const s = this.#recStart(i)
    const e = this.#recEnd
    return openIdList(this.#b, s + 4 + this.#keyLength(i, s, e), e)
  }

  /** Value IDs of key record `i`. */
  #idsAt(i: number): Uint32Array {
    return decodeIds(this.#b, this.#listAt(i), this.header.numUniqueValues)
  }

  /** The values of record `i`, streamed from its delta list on each iteration. */
  #listInquiry(i: number): Inquiry {
    const list = this.#listAt(i)
    return new Inquiry(
      () => new IdListIterator(this.#b, list, this.header.numUniqueValues, this.#valueAt),
      () => list.count,
    )
  }

  #scanFind(key: Uint8Array): number {
    for (let i = this.header.numKeys - 1; i >= 0; i--) if (this.#keyEquals(i, key)) return i
    return -1
  }

  #hashFind(key: Uint8Array): number {
    const chd = (this.#chd ??= readChd(this.#b, HEADER_SIZE, this.header.key2valuesOffs, this.header.numKeys))
    const i = chdIndex(chd, key)
    return i >= 0 && i < this.header.numKeys && this.#keyEquals(i, key) ? i : -1
  }
}
