// Batch decoding of Huffman-compressed values (spec 3.3) in WebAssembly, for the columnar scans.
// The JavaScript decoder (huffman.ts) re-checks each typed array's map and re-loads its data
// pointer on every loop turn (a loop's interrupt check makes the compiler forget them), which
// costs about as much as the decoding itself; the same loop in WebAssembly runs over one linear
// memory. The module is assembled here from a few opcodes (no binary is shipped): one function,
// `decode`, with exactly the steps of `decodeHuffmanInto` (one token per turn, the 17-bit window
// from an unaligned 32-bit load, bytes past the DB read as zero), so its output is byte-identical.
// Memory layout of one decoder: [the DB's bytes from its first value to its end, then 8 zero
// bytes] [the value TOC as U + 1 u32] [batch offsets] [batch bytes].

/** Bytes of decoded values one batch may hold (a value that needs more is decoded in JavaScript). */
export const WASM_BATCH_BYTES = 256 * 1024

// --- a few opcodes of the WebAssembly binary format ---
const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}
const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const I32 = 0x7f
const get = (i: number): number[] => [0x20, ...uleb(i)]
const set = (i: number): number[] => [0x21, ...uleb(i)]
const tee = (i: number): number[] => [0x22, ...uleb(i)]
const int = (n: number): number[] => [0x41, ...sleb(n)]
const load = (offset = 0): number[] => [0x28, 0, ...uleb(offset)]
const load8 = [0x2d, 0, 0]
const store = (offset = 0): number[] => [0x36, 0, ...uleb(offset)]
const store8 = [0x3a, 0, 0]
const [ADD, SUB, AND, SHL, SHR_U] = [[0x6a], [0x6b], [0x71], [0x74], [0x76]]
const [EQZ, EQ, GE_U, GE_S, GT_U] = [[0x45], [0x46], [0x4f], [0x4e], [0x4b]]
const [BLOCK, LOOP, IF, ELSE, END, RETURN] = [[0x02, 0x40], [0x03, 0x40], [0x04, 0x40], [0x05], [0x0b], [0x0f]]
const br = (depth: number): number[] => [0x0c, ...uleb(depth)]
const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)]

/**
 * The module's bytes. `decode(from, n, room, cb, toc, src, offs, out, likely)` decodes values `from ..
 * from + n - 1` while each surely fits in `room` bytes (its decodedCap): value `from + k` ends up
 * at `out + [offs[k], offs[k + 1])` (offs[0] = 0). `toc` addresses the u32 TOC (entry i = start
 * of value i + 1, a DB offset), `src` is added to a DB offset to address its byte, `cb` addresses
 * the codebook, `likely` is the code length of most slots (1..16). Returns how many values were decoded, or -1 - k when value `from + k` is damaged
 * (an empty codebook slot, or 256 MiB or more of stored bytes): the caller then decodes that one in
 * JavaScript, which throws the error.
 */
function moduleBytes(): Uint8Array {
  const [from, n, room, cb, toc, src, offs, out, likely] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
  const [k, s, nb, p0, endBit, pos, x, at, ent, len] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
  const damaged = [...int(-1), ...get(k), ...SUB, ...RETURN]
  const body = [
    ...int(0), ...set(at),
    ...get(offs), ...int(0), ...store(),
    ...int(0), ...set(k),
    ...BLOCK, ...LOOP, // every value: `br 1` leaves, `br 0` goes on
    ...get(k), ...get(n), ...GE_U, ...brIf(1),
    // s = toc[from + k - 1], nb = toc[from + k] - s
    ...get(toc), ...get(from), ...get(k), ...ADD, ...int(2), ...SHL, ...ADD, ...tee(ent),
    ...int(-4), ...ADD, ...load(), ...set(s),
    ...get(ent), ...load(), ...get(s), ...SUB, ...tee(nb),
    ...IF,
    ...get(nb), ...int(0x10000000), ...GE_U, ...IF, ...damaged, ...END,
    // Stop before a value that may not fit (decodedCap = 16 * nb - 2; a batch holds less than
    // 16 MiB, so a value of 1 MiB or more never fits, and the sum below cannot wrap).
    ...get(nb), ...int(0x100000), ...GE_U, ...brIf(2),
    ...get(at), ...get(nb), ...int(4), ...SHL, ...ADD, ...int(2), ...SUB, ...get(room), ...GT_U, ...brIf(2),
    ...get(src), ...get(s), ...ADD, ...set(p0),
    ...get(nb), ...int(3), ...SHL, ...get(p0), ...load8, ...int(7), ...AND, ...SUB, ...set(endBit),
    ...int(3), ...set(pos),
    ...BLOCK, ...LOOP, // every token
    ...get(pos), ...get(endBit), ...GE_S, ...brIf(1),
    ...get(p0), ...get(pos), ...int(3), ...SHR_U, ...ADD, ...load(), ...get(pos), ...int(7), ...AND, ...SHR_U, ...tee(x),
    ...int(1), ...AND, ...EQZ,
    ...IF, // a literal: 8 bits
    ...get(out), ...get(at), ...ADD, ...get(x), ...int(1), ...SHR_U, ...store8,
    ...get(at), ...int(1), ...ADD, ...set(at),
    ...get(pos), ...int(9), ...ADD, ...set(pos),
    ...ELSE, // a codeword: the slot of the next 16 bits
    ...get(cb), ...get(x), ...int(1), ...SHR_U, ...int(0xffff), ...AND, ...int(3), ...SHL, ...ADD, ...tee(ent),
    ...load(4), ...set(len),
    ...get(out), ...get(at), ...ADD, ...get(ent), ...load(), ...store(),
    ...get(at), ...int(4), ...ADD, ...set(at),
    // The usual code length is a branch the processor predicts, so the next token's load need not
    // wait for the codebook's (a cache miss, often); the others go the long way.
    ...get(len), ...get(likely), ...EQ, ...IF,
    ...get(pos), ...get(likely), ...ADD, ...int(1), ...ADD, ...set(pos),
    ...ELSE,
    ...get(len), ...EQZ, ...IF, ...damaged, ...END,
    ...get(pos), ...get(len), ...ADD, ...int(1), ...ADD, ...set(pos),
    ...END,
    ...END,
    ...br(0),
    ...END, ...END, // tokens
    ...END, // nb > 0
    ...get(offs), ...get(k), ...int(2), ...SHL, ...ADD, ...get(at), ...store(4),
    ...get(k), ...int(1), ...ADD, ...set(k),
    ...br(0),
    ...END, ...END, // values
    ...get(k),
  ]
  const code = [...vec([[10, I32]]), ...body, ...END]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 9 }, () => [I32])), ...vec([[I32]])]])),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([uleb(0)])),
    ...section(7, vec([[...name('decode'), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ])
}

// The few WebAssembly API calls used here (the project's TypeScript libs do not declare them).
interface WasmMemory {
  readonly buffer: ArrayBuffer
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
  Memory: new (descriptor: { initial: number }) => WasmMemory
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly

let compiled: object | null | undefined

/** The compiled module (once per process), or null where WebAssembly is unavailable. */
function wasmModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasm === undefined ? null : new wasm.Module(moduleBytes())
    } catch {
      compiled = null
    }
  }
  return compiled
}

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
    const mod = wasmModule()
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
    let memory: WasmMemory
    let fn: DecodeFn
    try {
      memory = new wasm!.Memory({ initial: Math.ceil(total / 65536) })
      fn = new wasm!.Instance(mod, { m: { mem: memory } }).exports.decode as DecodeFn
    } catch {
      return null
    }
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
