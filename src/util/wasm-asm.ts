// A very small WebAssembly assembler: functions written as instruction calls (named locals, named
// labels resolved to branch depths) and a module writer (types, functions, one exported memory,
// i32 globals, exports). Enough for hand-written scanners (json-block.ts); no text format, no
// dependency, no build step: the bytes are made at run time and compiled once.

/** Value types. */
export const I32 = 0x7f
export const I64 = 0x7e
export const F64 = 0x7c
export const V128 = 0x7b

/** One function's code: instructions appended through the methods below (each returns `this`). */
export class WasmFn {
  readonly code: number[] = []
  readonly localTypes: number[] = []
  private readonly names = new Map<string, number>()
  private readonly labels: string[] = []
  private fresh = 0

  constructor(readonly params: readonly string[], readonly results: readonly number[]) {
    params.forEach((p, i) => this.names.set(p, i))
  }

  /** Declares a local (parameters are i32 locals named by the constructor). */
  local(name: string, type = I32): this {
    if (this.names.has(name)) throw new Error(`wasm: local ${name} declared twice`)
    this.names.set(name, this.params.length + this.localTypes.length)
    this.localTypes.push(type)
    return this
  }

  /** A label name not used before (for code emitted by helpers more than once). */
  label(base: string): string {
    return `${base}#${this.fresh++}`
  }

  private idx(name: string): number {
    const i = this.names.get(name)
    if (i === undefined) throw new Error(`wasm: unknown local ${name}`)
    return i
  }

  private depth(label: string): number {
    const i = this.labels.lastIndexOf(label)
    if (i < 0) throw new Error(`wasm: unknown label ${label}`)
    return this.labels.length - 1 - i
  }

  private uleb(n: number): this {
    uleb(this.code, n)
    return this
  }

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b)
    return this
  }

  block(label: string, body: () => void): this {
    return this.structured(0x02, label, body)
  }

  loop(label: string, body: () => void): this {
    return this.structured(0x03, label, body)
  }

  /** `if` on the value on the stack (its label is anonymous). */
  if(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40)
    this.labels.push('')
    then()
    if (otherwise) {
      this.op(0x05)
      otherwise()
    }
    this.labels.pop()
    return this.op(0x0b)
  }

  private structured(opcode: number, label: string, body: () => void): this {
    this.op(opcode, 0x40)
    this.labels.push(label)
    body()
    this.labels.pop()
    return this.op(0x0b)
  }

  br(label: string): this {
    return this.op(0x0c).uleb(this.depth(label))
  }

  brIf(label: string): this {
    return this.op(0x0d).uleb(this.depth(label))
  }

  ret(): this {
    return this.op(0x0f)
  }

  call(fn: number): this {
    return this.op(0x10).uleb(fn)
  }

  get(name: string): this {
    return this.op(0x20).uleb(this.idx(name))
  }

  set(name: string): this {
    return this.op(0x21).uleb(this.idx(name))
  }

  tee(name: string): this {
    return this.op(0x22).uleb(this.idx(name))
  }

  globalGet(i: number): this {
    return this.op(0x23).uleb(i)
  }

  globalSet(i: number): this {
    return this.op(0x24).uleb(i)
  }

  const(n: number): this {
    this.op(0x41)
    sleb(this.code, n | 0)
    return this
  }

  load8(offset = 0): this {
    return this.op(0x2d, 0x00).uleb(offset)
  }

  load32(offset = 0): this {
    return this.op(0x28, 0x00).uleb(offset)
  }

  store8(offset = 0): this {
    return this.op(0x3a, 0x00).uleb(offset)
  }

  store32(offset = 0): this {
    return this.op(0x36, 0x00).uleb(offset)
  }

  i64const(n: number): this {
    this.op(0x42)
    sleb(this.code, n | 0)
    return this
  }

  f64store(offset = 0): this {
    return this.op(0x39, 0x00).uleb(offset)
  }

  /** select: the first of two values when the i32 on top is not zero, else the second. */
  select(): this { return this.op(0x1b) }
  i64load(offset = 0): this {
    return this.op(0x29, 0x00).uleb(offset)
  }

  i64add(): this { return this.op(0x7c) }
  i64sub(): this { return this.op(0x7d) }
  i64and(): this { return this.op(0x83) }
  i64xor(): this { return this.op(0x85) }
  i64shl(): this { return this.op(0x86) }
  i64shrU(): this { return this.op(0x88) }
  wrapI64(): this { return this.op(0xa7) }
  i64mul(): this { return this.op(0x7e) }
  i64extendI32U(): this { return this.op(0xad) }
  f64convertI64S(): this { return this.op(0xb9) }
  f64neg(): this { return this.op(0x9a) }
  eqz(): this { return this.op(0x45) }
  eq(): this { return this.op(0x46) }
  ne(): this { return this.op(0x47) }
  ltS(): this { return this.op(0x48) }
  ltU(): this { return this.op(0x49) }
  gtU(): this { return this.op(0x4b) }
  leU(): this { return this.op(0x4d) }
  geS(): this { return this.op(0x4e) }
  geU(): this { return this.op(0x4f) }
  ctz(): this { return this.op(0x68) }
  add(): this { return this.op(0x6a) }
  sub(): this { return this.op(0x6b) }
  mul(): this { return this.op(0x6c) }
  and(): this { return this.op(0x71) }
  or(): this { return this.op(0x72) }
  shl(): this { return this.op(0x74) }
  xor(): this { return this.op(0x73) }
  shrU(): this { return this.op(0x76) }

  /** `local += n`. */
  inc(name: string, n = 1): this {
    return this.get(name).const(n).add().set(name)
  }

  private simd(opcode: number): this {
    return this.op(0xfd).uleb(opcode)
  }

  /** v128.load (unaligned). */
  v128load(offset = 0): this {
    return this.simd(0x00).op(0x00).uleb(offset)
  }

  /** v128.store (unaligned). */
  v128store(offset = 0): this {
    return this.simd(0x0b).op(0x00).uleb(offset)
  }

  i8x16splat(): this { return this.simd(0x0f) }
  i8x16sub(): this { return this.simd(0x71) }
  i8x16eq(): this { return this.simd(0x23) }
  i8x16ltU(): this { return this.simd(0x26) }
  v128or(): this { return this.simd(0x50) }
  i8x16bitmask(): this { return this.simd(0x64) }
}

function uleb(out: number[], n: number): void {
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
}

function sleb(out: number[], n: number): void {
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return
    }
    out.push(b | 0x80)
  }
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id)
  uleb(out, body.length)
  for (const b of body) out.push(b)
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s)
  uleb(out, bytes.length)
  for (const b of bytes) out.push(b)
}

/** What a module holds: functions (indexed in order), memory pages, i32 globals, exports. */
export interface WasmModuleParts {
  readonly functions: readonly WasmFn[]
  readonly memoryPages: number
  readonly globals: number
  /** Exported functions by name (the memory is exported as `memory`). */
  readonly exports: Readonly<Record<string, number>>
}

/** The binary module. */
export function wasmModule(m: WasmModuleParts): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  const types: number[] = []
  uleb(types, m.functions.length)
  for (const f of m.functions) {
    types.push(0x60)
    uleb(types, f.params.length)
    for (let i = 0; i < f.params.length; i++) types.push(I32)
    uleb(types, f.results.length)
    for (const r of f.results) types.push(r)
  }
  section(out, 1, types)
  const funcs: number[] = []
  uleb(funcs, m.functions.length)
  m.functions.forEach((_f, i) => uleb(funcs, i))
  section(out, 3, funcs)
  section(out, 5, [1, 0x00, ...(() => { const b: number[] = []; uleb(b, m.memoryPages); return b })()])
  const globals: number[] = []
  uleb(globals, m.globals)
  for (let i = 0; i < m.globals; i++) globals.push(I32, 0x01, 0x41, 0x00, 0x0b)
  section(out, 6, globals)
  const exports: number[] = []
  const names = Object.entries(m.exports)
  uleb(exports, names.length + 1)
  name(exports, 'memory')
  exports.push(0x02, 0x00)
  for (const [n, i] of names) {
    name(exports, n)
    exports.push(0x00)
    uleb(exports, i)
  }
  section(out, 7, exports)
  const code: number[] = []
  uleb(code, m.functions.length)
  for (const f of m.functions) {
    const body: number[] = []
    // Locals in runs of one type.
    const runs: [number, number][] = []
    for (const t of f.localTypes) {
      const last = runs.at(-1)
      if (last && last[1] === t) last[0]++
      else runs.push([1, t])
    }
    uleb(body, runs.length)
    for (const [n, t] of runs) {
      uleb(body, n)
      body.push(t)
    }
    for (const b of f.code) body.push(b)
    body.push(0x0b)
    uleb(code, body.length)
    for (const b of body) code.push(b)
  }
  section(out, 10, code)
  return Uint8Array.from(out)
}

/** A WebAssembly memory, as this project uses it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}

/** The part of the WebAssembly API used by this project (its TypeScript libs do not declare it). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}

/** The runtime's WebAssembly, or undefined where it has none. */
export const webAssembly = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly

/**
 * A function that returns the module `build` makes, compiled on its first call (once per process
 * and thread), or null where WebAssembly is missing or the module does not compile.
 */
export function compileOnce(build: () => Uint8Array): () => object | null {
  let compiled: object | null | undefined
  return () => {
    if (compiled === undefined) {
      try {
        compiled = webAssembly === undefined ? null : new webAssembly.Module(build())
      } catch {
        compiled = null
      }
    }
    return compiled
  }
}

/**
 * A new instance of `module` (no imports) whose exported memory has grown by enough pages for
 * `bytes` more bytes: its exports and that memory, or null when the memory cannot be had.
 */
export function instanceWithRoom(module: object, bytes: number): { exports: Record<string, unknown>; memory: WasmMemory } | null {
  try {
    const exports = new webAssembly!.Instance(module, {}).exports
    const memory = exports.memory as WasmMemory
    memory.grow(Math.ceil(bytes / 65536))
    return { exports, memory }
  } catch {
    return null
  }
}
