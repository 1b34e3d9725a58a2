// Batch decoding of key records and their value-ID lists (spec 2.3) in WebAssembly, for the
// columnar item scans (`itemBatches`). In JavaScript each delta costs about 18 instructions
// (bounds, map and overflow checks the compiler cannot drop from a loop); here it is an unaligned
// 64-bit load, a shift, a mask and an add over one linear memory. One function, `fill`, does
// exactly what `Reader.fillBatch` does on a checked key TOC, and reports what it does not take:
// a damaged record (the caller re-reads the batch in JavaScript, which throws the error), or a
// batch whose IDs do not fit (it stops before that key).
// Memory layout of one decoder: [the DB's key records, then 8 zero bytes] [the key TOC as
// numKeys + 1 u32] [keyStarts] [keyEnds] [idStarts] [ids].
import { I32, I64, WasmFn, compileOnce, instanceWithRoom, wasmModule, type WasmMemory } from '../util/wasm-asm.js'

/** Keys one batch of the decoder may hold. */
export const WASM_LIST_KEYS = 4096
/** IDs one batch of the decoder may hold (a batch stops before a key whose IDs do not fit). */
export const WASM_LIST_IDS = 16 * WASM_LIST_KEYS

/**
 * `fill(from, to, toc, src, ks, ke, is, ids, cap, U)` decodes key records `from .. to - 1`
 * (record i spans `toc[i] .. toc[i + 1]`, DB offsets; `src` is added to a DB offset to address
 * its byte): key k (from 0) is `[ks[k], ke[k])`, its IDs `ids[is[k], is[k + 1])`. Returns how
 * many keys were decoded (fewer when the next key's IDs would pass `cap`), or -1 - k when record
 * `from + k` is damaged or its list is 256 MiB or larger (the caller reads it in JavaScript).
 */
function fillFn(): WasmFn {
  const f = new WasmFn(['from', 'to', 'toc', 'src', 'ks', 'ke', 'is', 'ids', 'cap', 'U'], [I32])
  for (const l of ['k', 'i', 's', 'e', 'p', 'len', 'off', 'count', 'w', 'mask', 'at', 'j', 'end', 'bit']) f.local(l)
  f.local('id', I64)
  f.local('bits', I64)
  const damaged = (): void => void f.const(-1).get('k').sub().ret()
  f.const(0).set('at').const(0).set('k').get('from').set('i')
  f.get('is').const(0).store32()
  f.block('done', () => {
    f.loop('key', () => {
      f.get('i').get('to').geU().brIf('done')
      // s = toc[i], e = toc[i + 1] (ascending: checked when the table was made)
      f.get('toc').get('i').const(2).shl().add().tee('p').load32().set('s')
      f.get('p').load32(4).set('e')
      // A key length and a count: 8 bytes at least, the key within the record.
      f.get('e').get('s').sub().const(8).ltU().if(damaged)
      f.get('src').get('s').add().tee('p').load32().set('len')
      f.get('len').get('e').get('s').sub().const(8).sub().gtU().if(damaged)
      f.get('s').const(4).add().get('len').add().set('off')
      f.get('ks').get('k').const(2).shl().add().get('s').const(4).add().store32()
      f.get('ke').get('k').const(2).shl().add().get('off').store32()
      f.get('p').get('len').add().load32(4).tee('count')
      f.if(() => {
        // Room for the IDs, else stop before this key.
        f.get('count').get('cap').get('at').sub().gtU().if(() => void f.get('k').ret())
        // w - 1 in the stream's first 5 bits; 5 + count * w bits within the record, below 2^31.
        f.get('src').get('off').add().load8(4).const(31).and().const(1).add().set('w')
        f.get('count').i64extendI32U().get('w').i64extendI32U().i64mul().i64const(5).i64add().tee('bits')
        f.get('e').get('off').sub().const(4).sub().i64extendI32U().i64const(3).i64shl().op(0x56) // i64.gt_u
        f.if(damaged)
        f.get('bits').i64const(0x80000000).op(0x5a).if(damaged) // i64.ge_u
        f.const(-1).const(32).get('w').sub().shrU().set('mask')
        f.get('src').get('off').add().const(4).add().set('p')
        f.i64const(0).set('id')
        f.const(5).set('bit')
        f.get('at').tee('j').get('count').add().set('end')
        f.loop('delta', () => {
          // id += (64-bit window at the delta's byte >> its bit) & mask
          f.get('id')
          f.get('p').get('bit').const(3).shrU().add().i64load().get('bit').const(7).and().i64extendI32U().i64shrU().wrapI64()
          f.get('mask').and().i64extendI32U().i64add().set('id')
          f.get('ids').get('j').const(2).shl().add().get('id').wrapI64().store32()
          f.get('bit').get('w').add().set('bit')
          f.inc('j')
          f.get('j').get('end').ltU().brIf('delta')
        })
        // IDs in 1..U: the first is not 0, the last (a sum that cannot wrap) not above U.
        f.get('ids').get('at').const(2).shl().add().load32().eqz().if(damaged)
        f.get('id').get('U').i64extendI32U().op(0x56).if(damaged) // i64.gt_u
        f.get('end').set('at')
      })
      f.get('is').get('k').const(2).shl().add().get('at').store32(4)
      f.inc('k').inc('i')
      f.br('key')
    })
  })
  return f.get('k')
}

/** The compiled module (once per process and thread), or null where WebAssembly is unavailable. */
const compiledModule = compileOnce(() => wasmModule({ functions: [fillFn()], memoryPages: 1, globals: 0, exports: { fill: 0 } }))

type FillFn = (from: number, to: number, toc: number, src: number, ks: number, ke: number, is: number, ids: number, cap: number, U: number) => number

/**
 * A DB's key records and key TOC copied into one WebAssembly memory, with room for one batch:
 * `fill(from, to)` fills `keyStarts`, `keyEnds`, `idStarts` and `ids` like `Reader.fillBatch`.
 */
export class WasmListDecoder {
  readonly keyStarts: Uint32Array
  readonly keyEnds: Uint32Array
  readonly idStarts: Uint32Array
  readonly ids: Uint32Array
  readonly #fn: FillFn
  readonly #toc: number
  readonly #src: number
  readonly #ks: number
  readonly #ke: number
  readonly #is: number
  readonly #ids: number
  readonly #U: number

  private constructor(fn: FillFn, memory: WasmMemory, toc: number, src: number, ks: number, U: number) {
    this.#fn = fn
    this.#toc = toc
    this.#src = src
    this.#ks = ks
    this.#ke = ks + 4 * WASM_LIST_KEYS
    this.#is = this.#ke + 4 * WASM_LIST_KEYS
    this.#ids = this.#is + 4 * (WASM_LIST_KEYS + 1)
    this.#U = U
    this.keyStarts = new Uint32Array(memory.buffer, this.#ks, WASM_LIST_KEYS)
    this.keyEnds = new Uint32Array(memory.buffer, this.#ke, WASM_LIST_KEYS)
    this.idStarts = new Uint32Array(memory.buffer, this.#is, WASM_LIST_KEYS + 1)
    this.ids = new Uint32Array(memory.buffer, this.#ids, WASM_LIST_IDS)
  }

  /**
   * A decoder for the DB in `buf` whose checked key TOC is `table` (numKeys + 1 ascending entries
   * within [lo, hi], the span of the key records) and whose value IDs are 1..U; null when the
   * memory cannot be had (no WebAssembly, or too large a DB).
   */
  static create(buf: Uint8Array, table: Uint32Array, lo: number, hi: number, U: number): WasmListDecoder | null {
    const mod = compiledModule()
    if (mod === null || table.length < 2) return null
    const recLen = hi - lo
    // The copied records, 8 zero bytes (the 64-bit window reads past the last list), the TOC, a batch.
    const toc = (recLen + 8 + 7) & ~7
    const ks = toc + 4 * table.length
    const total = ks + 4 * (3 * WASM_LIST_KEYS + 1) + 4 * WASM_LIST_IDS
    if (total > 0x7fff0000) return null
    const made = instanceWithRoom(mod, total)
    if (made === null) return null
    const { memory } = made
    const fn = made.exports.fill as FillFn
    new Uint8Array(memory.buffer, 0, recLen).set(buf.subarray(lo, hi))
    new Uint32Array(memory.buffer, toc, table.length).set(table)
    return new WasmListDecoder(fn, memory, toc, -lo, ks, U)
  }

  /**
   * Decodes key records `from .. to - 1` (at most WASM_LIST_KEYS): returns how many (0 when the
   * first key's IDs need more room than a batch has), or -1 - k when record `from + k` must be
   * read in JavaScript (damaged, or too large a list).
   */
  fill(from: number, to: number): number {
    return this.#fn(from, to, this.#toc, this.#src, this.#ks, this.#ke, this.#is, this.#ids, WASM_LIST_IDS, this.#U)
  }
}
