// Batch decoding of Huffman-compressed values (spec 3.3) in WebAssembly, for the columnar scans.
// The JavaScript decoder (huffman.ts) re-checks each typed array's map and re-loads its data
// pointer on every loop turn (a loop's interrupt check makes the compiler forget them), which
// costs about as much as the decoding itself; the same loop in WebAssembly runs over one linear
// memory. The module is assembled at first use (no binary is shipped): one function,
// `decode`, with exactly the steps of `decodeHuffmanInto` (one token per turn, the 17-bit window
// from an unaligned 32-bit load, bytes past the DB read as zero), so its output is byte-identical.
// It is written with the project's small assembler (src/util/wasm-asm.ts).
// Memory layout of one decoder: [the DB's bytes from its first value to its end, then 8 zero
// bytes] [the value TOC as U + 1 u32] [batch offsets] [batch bytes].
import { I32, WasmFn, compileOnce, instanceWithRoom, wasmModule, type WasmMemory } from '../util/wasm-asm.js'

/** Bytes of decoded values one batch may hold (a value that needs more is decoded in JavaScript). */
export const WASM_BATCH_BYTES = 256 * 1024

/**
 * The decoding function. `decode(from, n, room, cb, toc, src, offs, out, likely)` decodes values
 * `from .. from + n - 1` while each surely fits in `room` bytes (its decodedCap): value `from + k`
 * ends up at `out + [offs[k], offs[k + 1])` (offs[0] = 0). `toc` addresses the u32 TOC (entry i =
 * start of value i + 1, a DB offset), `src` is added to a DB offset to address its byte, `cb`
 * addresses the codebook, `likely` is the code length of most slots (1..16). Returns how many
 * values were decoded, or -1 - k when value `from + k` is damaged (an empty codebook slot, or
 * 256 MiB or more of stored bytes): the caller then decodes that one in JavaScript, which throws
 * the error.
 */
function decodeFn(): WasmFn {
  const f = new WasmFn(['from', 'n', 'room', 'cb', 'toc', 'src', 'offs', 'out', 'likely'], [I32])
  for (const l of ['k', 's', 'nb', 'p0', 'endBit', 'pos', 'x', 'at', 'ent', 'len']) f.local(l)
  const damaged = (): void => void f.const(-1).get('k').sub().ret()
  f.const(0).set('at').get('offs').const(0).store32().const(0).set('k')
  f.block('done', () => {
    f.loop('value', () => {
      f.get('k').get('n').geU().brIf('done')
      // s = toc[from + k - 1], nb = toc[from + k] - s
      f.get('toc').get('from').get('k').add().const(2).shl().add().tee('ent')
      f.const(-4).add().load32().set('s')
      f.get('ent').load32().get('s').sub().tee('nb')
      f.if(() => {
        f.get('nb').const(0x10000000).geU().if(damaged)
        // Stop before a value that may not fit (decodedCap = 16 * nb - 2; a batch holds less than
        // 16 MiB, so a value of 1 MiB or more never fits, and the sum below cannot wrap).
        f.get('nb').const(0x100000).geU().brIf('done')
        f.get('at').get('nb').const(4).shl().add().const(2).sub().get('room').gtU().brIf('done')
        f.get('src').get('s').add().set('p0')
        f.get('nb').const(3).shl().get('p0').load8().const(7).and().sub().set('endBit')
        f.const(3).set('pos')
        f.block('tokensDone', () => {
          f.loop('token', () => {
            f.get('pos').get('endBit').geS().brIf('tokensDone')
            f.get('p0').get('pos').const(3).shrU().add().load32().get('pos').const(7).and().shrU().tee('x')
            f.const(1).and().eqz()
            f.if(
              () => {
                // A literal: 8 bits.
                f.get('out').get('at').add().get('x').const(1).shrU().store8()
                f.inc('at').inc('pos', 9)
              },
              () => {
                // A codeword: the slot of the next 16 bits.
                f.get('cb').get('x').const(1).shrU().const(0xffff).and().const(3).shl().add().tee('ent')
                f.load32(4).set('len')
                f.get('out').get('at').add().get('ent').load32().store32()
                f.inc('at', 4)
                // The usual code length is a branch the processor predicts, so the next token's
                // load need not wait for the codebook's (a cache miss, often).
                f.get('len').get('likely').eq()
                f.if(
                  () => void f.get('pos').get('likely').add().const(1).add().set('pos'),
                  () => {
                    f.get('len').eqz().if(damaged)
                    f.get('pos').get('len').add().const(1).add().set('pos')
                  },
                )
              },
            )
            f.br('token')
          })
        })
      })
      f.get('offs').get('k').const(2).shl().add().get('at').store32(4)
      f.inc('k')
      f.br('value')
    })
  })
  return f.get('k')
}

/** The compiled module (once per process and thread), or null where WebAssembly is unavailable. */
const compiledModule = compileOnce(() => wasmModule({ functions: [decodeFn()], memoryPages: 1, globals: 0, exports: { decode: 0 } }))

type DecodeFn = (from: number, n: number, room: number, cb: number, toc: number, src: number, offs: number, out: number, likely: number) => number

/**
 * A compressed DB's values, value TOC and codebook copied into one WebAssembly memory, with room
 * for one batch: `decode(from, n)` fills `offsets` and `bytes` like `Reader.decodeValues`.
 */
export class WasmValueDecoder {
  /** Batch offsets: value `from + k` is `bytes[offsets[k], offsets[k + 1])`. */
  readonly offsets: Uint32Array
  /** Batch bytes (WASM_BATCH_BYTES). */
  readonly bytes: Uint8Array
  readonly #fn: DecodeFn
  readonly #cb: number
  readonly #toc: number
  readonly #src: number
  readonly #offs: number
  readonly #out: number
  readonly #likely: number

  private constructor(fn: DecodeFn, memory: WasmMemory, cb: number, toc: number, src: number, offs: number, out: number, U: number, likely: number) {
    this.#fn = fn
    this.#likely = likely
    this.#cb = cb
    this.#toc = toc
    this.#src = src
    this.#offs = offs
    this.#out = out
    this.offsets = new Uint32Array(memory.buffer, offs, U + 1)
    this.bytes = new Uint8Array(memory.buffer, out, WASM_BATCH_BYTES)
  }

  /**
   * A decoder for the DB in `buf` (exactly its bytes) whose value TOC is `table` (checked: U + 1
   * ascending entries) and whose codebook (checked; its code lengths `lengths`) starts at
   * `codebookOffs`; null when the memory
   * cannot be had (no WebAssembly, or too large a DB).
   */
  static create(buf: Uint8Array, table: Uint32Array, codebookOffs: number, lengths: Uint8Array): WasmValueDecoder | null {
    const mod = compiledModule()
    const U = table.length - 1
    if (mod === null || U < 1) return null
    const lo = table[0]!
    const srcLen = buf.length - lo
    // The copied bytes, 8 zero bytes (the window reads past the end), the TOC, the offsets, a batch.
    const toc = (srcLen + 8 + 7) & ~7
    const offs = toc + 4 * (U + 1)
    const out = offs + 4 * (U + 1)
    const total = out + WASM_BATCH_BYTES
    if (total > 0x7fff0000) return null
    const made = instanceWithRoom(mod, total)
    if (made === null) return null
    const { memory } = made
    const fn = made.exports.decode as DecodeFn
    new Uint8Array(memory.buffer, 0, srcLen).set(buf.subarray(lo))
    new Uint32Array(memory.buffer, toc, U + 1).set(table)
    const slots = new Uint32Array(17)
    for (let i = 0; i < 65536; i++) slots[lengths[i]!]!++
    let likely = 16
    for (let l = 15; l >= 1; l--) if (slots[l]! > slots[likely]!) likely = l
    return new WasmValueDecoder(fn, memory, codebookOffs - lo, toc, -lo, offs, out, U, likely)
  }

  /**
   * Decodes values `from .. from + n - 1` (1 <= from, from + n - 1 <= U) while each surely fits
   * in the batch: returns how many (0 when the first needs more room than a batch has), or
   * -1 - k when value `from + k` is damaged (decode it in JavaScript for the error).
   */
  decode(from: number, n: number): number {
    return this.#fn(from, n, WASM_BATCH_BYTES, this.#cb, this.#toc, this.#src, this.#offs, this.#out, this.#likely)
  }
}
