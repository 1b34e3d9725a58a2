// A WebAssembly scanner for a block of NDJSON lines at once (SIMD: string bodies and newline
// searches 16 bytes a step). For each line it either proves the line one valid JSON object and
// gives the byte ranges of the wanted top-level fields, or leaves the line to the caller (the JS
// FieldScanner, then the full parser): it never says "bad" itself, so its only claim, "valid, with
// these fields", is what the differential test checks against JSON.parse. Lines left over: keys with
// escapes or non-ASCII bytes, nesting deeper than 64, anything invalid, anything after the object.
import { F64, I32, I64, V128, WasmFn, wasmModule, webAssembly } from './wasm-asm.js'

// Memory layout (bytes).
const HEX_TABLE = 0
const ESC_TABLE = 256
const NAMES = 512
const STACK = 2048
/** Key hash (keyHash) → 1 + the wanted field of that hash, 0 none, COLLIDE several. */
const KEY_TABLE = 2304
const COLLIDE = 255
/**
 * Keys predicted per member position from the lines before (log lines repeat their keys): 16 bytes
 * `key":…` each, the length of `key":` (0: none) and the key's wanted field.
 */
const PRED_BYTES = 2560
const PRED_LEN = 3072
const PRED_SLOT = 3200
const PREDICTED = 32
const NAME_BYTES = 4096
const OUT = 65536
const OUT_BYTES = 1 << 20
/** Per line and wanted field, the float64 value of a short integer (kind 2 with flag 4). */
const NUMS = OUT + OUT_BYTES
/**
 * Short plain strings met in wanted fields (hash table, linear probing): 16 bytes and the length
 * per entry (0: free); an entry's index + 1 is the string's id.
 */
const STRINGS = NUMS + OUT_BYTES
const STRING_SLOTS = 4096
const STRING_LIMIT = 3072
const IN = STRINGS + STRING_SLOTS * 32
/** Entries used in the string table (int32). */
const STRING_COUNT = 2200
/** Input bytes per scan call (whole lines; a longer line goes to the caller's own path). */
export const BLOCK_BYTES = 1 << 20
const PAD = 64
const PAGES = Math.ceil((IN + BLOCK_BYTES + PAD) / 65536)
const MAX_DEPTH = 64
/** Most wanted fields a block scanner handles (names table and per-line record size). */
export const BLOCK_MAX_FIELDS = 64
const MAX_NAME_BYTES = OUT - NAME_BYTES

const Q = 34
const BS = 92
const NL = 10
/** The key table's hash of a key from its length and first and last bytes (quotes for an empty key). */
const keyHash = (len: number, first: number, last: number): number => (len * 31 + first * 7 + last * 3) & 255
const word = (s: string): number => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)

/** `c` := the byte at `p`, skipping JSON whitespace other than the newline (space, tab, CR). */
function skipWs(f: WasmFn, p: string, c: string): void {
  const l = f.label('ws')
  const done = f.label('wsdone')
  f.block(done, () => {
    f.loop(l, () => {
      f.get(p).load8().tee(c).const(32).gtU().brIf(done)
      f.get(c).const(32).eq()
      f.get(c).const(9).eq().or()
      f.get(c).const(13).eq().or()
      f.eqz().brIf(done)
      f.inc(p).br(l)
    })
  })
}

/**
 * String content from `p` (after the opening quote) to its closing quote, where `p` stops; `sf`
 * gets 1 for a byte >= 0x80, 2 for an escape. Branches to `fail` on a control byte or a bad escape.
 */
function scanString(f: WasmFn, p: string, fail: string): void {
  const loop = f.label('str')
  const done = f.label('strdone')
  f.const(0).set('sf')
  f.block(done, () => {
    f.loop(loop, () => {
      f.get(p).v128load().set('v')
      f.get('v').get('vq').i8x16eq()
      f.get('v').get('vb').i8x16eq().v128or()
      f.get('v').get('v20').i8x16ltU().v128or()
      f.i8x16bitmask().set('m')
      f.get('v').i8x16bitmask().set('h')
      f.get('m').eqz()
      f.if(() => {
        f.get('sf').get('h').const(0).ne().or().set('sf')
        f.inc(p, 16).br(loop)
      })
      // Non-ASCII bytes before the first special byte.
      f.get('sf').get('h').get('m').const(0).get('m').sub().and().const(1).sub().and().const(0).ne().or().set('sf')
      f.get(p).get('m').ctz().add().tee(p).load8().tee('c').const(Q).eq().brIf(done)
      f.get('c').const(BS).ne().brIf(fail)
      f.get('sf').const(2).or().set('sf')
      f.get(p).load8(1).tee('e').load8(ESC_TABLE)
      f.if(() => { f.inc(p, 2).br(loop) })
      f.get('e').const(117).ne().brIf(fail)
      f.get(p).load8(2).load8(HEX_TABLE)
      f.get(p).load8(3).load8(HEX_TABLE).and()
      f.get(p).load8(4).load8(HEX_TABLE).and()
      f.get(p).load8(5).load8(HEX_TABLE).and()
      f.eqz().brIf(fail)
      f.inc(p, 6).br(loop)
    })
  })
}

/** Digits from `p`, 16 bytes a step (`c` := the byte after them). */
function digits(f: WasmFn, p: string): void {
  const l = f.label('dig')
  f.loop(l, () => {
    f.get(p).v128load().get('v30').i8x16sub().get('v10').i8x16ltU().i8x16bitmask().const(-1).xor().ctz().tee('e')
    f.get(p).add().set(p)
    f.get('e').const(16).eq().brIf(l)
  })
  f.get(p).load8().set('c')
}

/** A JSON number from `p` (`c` is its first byte); `int` := 1 without fraction or exponent. */
function scanNumber(f: WasmFn, p: string, fail: string): void {
  f.get('c').const(45).eq()
  f.if(() => { f.inc(p).get(p).load8().set('c') })
  f.get('c').const(48).eq()
  f.if(() => { f.inc(p).get(p).load8().set('c') }, () => {
    f.get('c').const(49).sub().const(8).gtU().brIf(fail)
    digits(f, p)
  })
  f.const(1).set('int')
  f.get('c').const(46).eq()
  f.if(() => {
    f.inc(p).get(p).set('d')
    digits(f, p)
    f.get(p).get('d').eq().brIf(fail)
    f.const(0).set('int')
  })
  f.get('c').const(32).or().const(101).eq()
  f.if(() => {
    f.inc(p).get(p).load8().tee('c').const(43).eq()
    f.get('c').const(45).eq().or()
    f.if(() => { f.inc(p) })
    f.get(p).set('d')
    digits(f, p)
    f.get(p).get('d').eq().brIf(fail)
    f.const(0).set('int')
  })
}

/** `true`, `false` or `null` at `p` (`c` is its first byte); `kind` := 3, 4 or 5. */
function scanLiteral(f: WasmFn, p: string, fail: string): void {
  const done = f.label('lit')
  f.block(done, () => {
    f.get('c').const(116).eq()
    f.if(() => {
      f.get(p).load32().const(word('true')).ne().brIf(fail)
      f.inc(p, 4).const(3).set('kind').br(done)
    })
    f.get('c').const(102).eq()
    f.if(() => {
      f.get(p).load32(1).const(word('alse')).ne().brIf(fail)
      f.inc(p, 5).const(4).set('kind').br(done)
    })
    f.get('c').const(110).ne().brIf(fail)
    f.get(p).load32().const(word('null')).ne().brIf(fail)
    f.inc(p, 4).const(5).set('kind')
  })
}

const SCRATCH = (f: WasmFn): WasmFn =>
  f.local('c').local('e').local('m').local('h').local('sf').local('d').local('int').local('kind')
    .local('v', V128).local('vq', V128).local('vb', V128).local('v20', V128).local('v30', V128).local('v10', V128)

function splats(f: WasmFn): void {
  f.const(48).i8x16splat().set('v30')
  f.const(10).i8x16splat().set('v10')
  f.const(Q).i8x16splat().set('vq')
  f.const(BS).i8x16splat().set('vb')
  f.const(0x20).i8x16splat().set('v20')
}

/**
 * The id of the plain string `[vs + 1, p - 1)` (1 to 16 bytes) in the string table, or'ed into
 * `vflags` above bit 8 (nothing when the table is full there). An entry never changes once added.
 */
function internString(f: WasmFn): void {
  f.get('p').get('vs').sub().const(2).sub().set('klen')
  f.get('vs').const(1).add().set('ks')
  // Hash of the bytes: two overlapping 8-byte words (one masked word under 8 bytes) and the length.
  f.get('klen').const(8).geU()
  f.if(() => {
    f.get('ks').i64load().set('acc')
    f.get('ks').get('klen').add().const(8).sub().i64load().i64const(0x2545F491).i64mul().set('num64')
  }, () => {
    f.get('ks').i64load().i64const(1).get('klen').const(3).shl().i64extendI32U().i64shl().i64const(1).i64sub().i64and().set('acc')
    f.i64const(0).set('num64')
  })
  f.get('acc').i64const(0x27d4eb2d).i64mul().get('num64').i64xor().get('klen').i64extendI32U().i64add()
  f.i64const(0x9e3779b1).i64mul().i64const(40).i64shrU().wrapI64().const(STRING_SLOTS - 1).and().set('sh')
  f.const(0).set('tries')
  f.get('ks').v128load().set('v')
  f.const(1).get('klen').shl().const(1).sub().set('e')
  f.block('interned', () => {
    f.loop('probe', () => {
      f.get('sh').const(5).shl().const(STRINGS).add().tee('ent').load32(16).tee('j').eqz()
      f.if(() => {
        f.const(0).load32(STRING_COUNT).const(STRING_LIMIT).geU().brIf('interned')
        f.const(0).const(0).load32(STRING_COUNT).const(1).add().store32(STRING_COUNT)
        f.get('ent').get('v').v128store()
        f.get('ent').get('klen').store32(16)
        f.get('vflags').get('sh').const(1).add().const(8).shl().or().set('vflags')
        f.br('interned')
      })
      f.get('j').get('klen').eq()
      f.if(() => {
        f.get('v').get('ent').v128load().i8x16eq().i8x16bitmask().get('e').and().get('e').eq()
        f.if(() => {
          f.get('vflags').get('sh').const(1).add().const(8).shl().or().set('vflags')
          f.br('interned')
        })
      })
      f.get('sh').const(1).add().const(STRING_SLOTS - 1).and().set('sh')
      f.inc('tries').get('tries').const(8).ltU().brIf('probe')
    })
  })
}

/** nested(p): validates the object or array at `p`; the index after it, or -1. Global 0 |= 1 for a non-ASCII string. */
function nestedFn(): WasmFn {
  const f = SCRATCH(new WasmFn(['p'], [I32])).local('depth').local('o').local('top')
  splats(f)
  const key = (fail: string): void => {
    f.get('c').const(Q).ne().brIf(fail)
    f.inc('p')
    scanString(f, 'p', fail)
    f.globalGet(0).get('sf').const(1).and().or().globalSet(0)
    f.inc('p')
    skipWs(f, 'p', 'c')
    f.get('c').const(58).ne().brIf(fail)
    f.inc('p')
  }
  f.block('fail', () => {
    f.loop('value', () => {
      f.get('p').load8().set('c')
      f.block('after', () => {
        f.get('c').const(123).eq().get('c').const(91).eq().or()
        f.if(() => {
          f.get('depth').const(MAX_DEPTH).geU().brIf('fail')
          f.get('depth').get('c').store8(STACK)
          f.get('c').set('o')
          f.inc('depth').inc('p')
          skipWs(f, 'p', 'c')
          f.get('c').get('o').const(2).add().eq()
          f.if(() => { f.get('depth').const(1).sub().set('depth').inc('p').br('after') })
          f.get('o').const(123).eq()
          f.if(() => {
            key('fail')
            skipWs(f, 'p', 'c')
          })
          f.br('value')
        })
        f.get('c').const(Q).eq()
        f.if(() => {
          f.inc('p')
          scanString(f, 'p', 'fail')
          f.globalGet(0).get('sf').const(1).and().or().globalSet(0)
          f.inc('p').br('after')
        })
        f.get('c').const(45).eq().get('c').const(48).sub().const(9).leU().or()
        f.if(() => {
          scanNumber(f, 'p', 'fail')
          f.br('after')
        })
        scanLiteral(f, 'p', 'fail')
      })
      f.loop('close', () => {
        f.get('depth').eqz()
        f.if(() => { f.get('p').ret() })
        skipWs(f, 'p', 'c')
        f.get('depth').const(1).sub().load8(STACK).set('top')
        f.get('c').const(44).eq()
        f.if(() => {
          f.inc('p')
          skipWs(f, 'p', 'c')
          f.get('top').const(123).eq()
          f.if(() => {
            key('fail')
            skipWs(f, 'p', 'c')
          })
          f.br('value')
        })
        f.get('c').get('top').const(2).add().ne().brIf('fail')
        f.get('depth').const(1).sub().set('depth').inc('p').br('close')
      })
    })
  })
  f.const(-1)
  return f
}

/**
 * scan(p, end, out, maxLines, nf): the lines of `[p, end)` (each ending with a newline) until
 * `maxLines`; returns how many. Per line at `out` (int32s): start, newline index, verdict (1: one
 * valid object, the fields below are right; 0: left to the caller; bit 1: a string held a byte >=
 * 0x80; bits 8 up: the present fields, PRESENT_SHIFT), then per wanted field: kind | flags << 8 (kind 0: absent), value start, value end. Kinds
 * and flags are FieldScanner.decode's, plus flag 4: an integer of at most 15 digits whose value is
 * in the float64s at NUMS (line * nf + field); bits 16 up: a short string's id (internString).
 */
function scanFn(nested: number): WasmFn {
  const f = SCRATCH(new WasmFn(['p', 'end', 'out', 'max', 'nf'], [I32]))
    .local('line').local('rec').local('st').local('ls').local('la').local('ks').local('klen').local('slot')
    .local('i').local('j').local('fp').local('off').local('vs').local('vflags').local('member').local('nrec').local('acc', I64).local('num', F64).local('num64', I64).local('sh').local('tries').local('ent').local('pm')
  splats(f)
  /** Runs `then` when the key `[ks, ks + klen)` is wanted field i's name. */
  const nameIs = (then: () => void): void => {
    const no = f.label('nomatch')
    const cmp = f.label('cmp')
    f.block(no, () => {
      f.get('i').const(3).shl().tee('fp').load32(NAMES).get('klen').ne().brIf(no)
      f.get('fp').load32(NAMES + 4).set('off')
      f.const(0).set('j')
      f.loop(cmp, () => {
        f.get('j').get('klen').ltU()
        f.if(() => {
          f.get('ks').get('j').add().load8().get('off').get('j').add().load8().ne().brIf(no)
          f.inc('j').br(cmp)
        })
      })
      then()
    })
  }
  f.get('nf').const(12).mul().const(12).add().set('st')
  f.block('exit', () => {
    f.loop('line', () => {
      f.get('line').get('max').geU().get('p').get('end').geU().or().brIf('exit')
      f.get('out').get('line').get('st').mul().add().set('rec')
      f.get('line').get('nf').mul().const(3).shl().const(NUMS).add().set('nrec')
      f.get('p').set('ls')
      f.const(0).set('la')
      f.const(0).set('pm')
      f.const(0).set('i')
      f.loop('clear', () => {
        f.get('i').get('nf').ltU()
        f.if(() => {
          f.get('rec').get('i').const(12).mul().add().const(0).store32(12)
          f.inc('i').br('clear')
        })
      })
      f.block('defer', () => {
        skipWs(f, 'p', 'c')
        f.get('c').const(123).ne().brIf('defer')
        f.inc('p')
        skipWs(f, 'p', 'c')
        f.get('c').const(125).eq()
        f.if(() => { f.inc('p') }, () => {
          f.const(0).set('member')
          f.loop('member', () => {
            f.get('c').const(Q).ne().brIf('defer')
            f.inc('p').get('p').set('ks')
            f.block('keyed', () => {
              // The key and colon predicted at this member position, compared 16 bytes at once.
              f.block('unpredicted', () => {
                f.get('member').const(PREDICTED).geU().brIf('unpredicted')
                f.get('member').const(2).shl().tee('fp').load32(PRED_LEN).tee('klen').eqz().brIf('unpredicted')
                f.const(1).get('klen').shl().const(1).sub().tee('e')
                f.get('ks').v128load().get('member').const(4).shl().v128load(PRED_BYTES).i8x16eq().i8x16bitmask().get('e').and()
                f.ne().brIf('unpredicted')
                f.get('fp').load32(PRED_SLOT).set('slot')
                f.get('ks').get('klen').add().set('p')
                f.br('keyed')
              })
              scanString(f, 'p', 'defer')
              f.get('sf').brIf('defer')
              // The wanted field named by the key, or -1: the key table's candidate, compared byte by byte.
              f.get('p').get('ks').sub().set('klen')
              f.const(-1).set('slot')
              f.block('found', () => {
                f.get('klen').const(31).mul().get('ks').load8().const(7).mul().add()
                f.get('p').const(1).sub().load8().const(3).mul().add().const(255).and().load8(KEY_TABLE).tee('i').eqz().brIf('found')
                f.get('i').const(COLLIDE).ne()
                f.if(() => {
                  f.get('i').const(1).sub().set('i')
                  nameIs(() => { f.get('i').set('slot') })
                  f.br('found')
                })
                f.const(0).set('i')
                f.loop('names', () => {
                  f.get('i').get('nf').geU().brIf('found')
                  nameIs(() => { f.get('i').set('slot').br('found') })
                  f.inc('i').br('names')
                })
              })
              // Predict this key here for the next lines when `key":` fits in 16 bytes.
              f.get('member').const(PREDICTED).ltU().get('klen').const(14).leU().and().get('p').load8(1).const(58).eq().and()
              f.if(() => {
                f.get('member').const(4).shl().get('ks').v128load().v128store(PRED_BYTES)
                f.get('member').const(2).shl().tee('fp').get('klen').const(2).add().store32(PRED_LEN)
                f.get('fp').get('slot').store32(PRED_SLOT)
              })
              f.inc('p')
              skipWs(f, 'p', 'c')
              f.get('c').const(58).ne().brIf('defer')
              f.inc('p')
            })
            f.inc('member')
            skipWs(f, 'p', 'c')
            f.get('p').set('vs')
            f.const(0).set('vflags')
            f.block('value', () => {
              f.get('c').const(Q).eq()
              f.if(() => {
                f.inc('p')
                scanString(f, 'p', 'defer')
                f.get('sf').set('vflags')
                f.get('la').get('sf').const(1).and().or().set('la')
                f.inc('p').const(1).set('kind').br('value')
              })
              f.get('c').const(45).eq().get('c').const(48).sub().const(9).leU().or()
              f.if(() => {
                scanNumber(f, 'p', 'defer')
                f.get('int').set('vflags').const(2).set('kind').br('value')
              })
              f.get('c').const(123).eq().get('c').const(91).eq().or()
              f.if(() => {
                f.const(0).globalSet(0)
                // (on failure p stays at the value's start: the newline is still ahead)
                f.get('p').call(nested).tee('d').const(-1).eq().brIf('defer')
                f.get('d').set('p')
                f.get('la').globalGet(0).or().set('la')
                f.const(6).set('kind').br('value')
              })
              scanLiteral(f, 'p', 'defer')
            })
            f.get('slot').const(0).ltS().eqz()
            f.if(() => {
              // An integer of at most 15 digits: its value as a float64 too (exact), flag 4.
              f.get('kind').const(2).eq().get('int').and()
              f.if(() => {
                f.get('vs').get('vs').load8().const(45).eq().add().set('j')
                f.get('p').get('j').sub().const(16).ltU()
                f.if(() => {
                  f.i64const(0).set('acc')
                  f.loop('acc', () => {
                    f.get('acc').i64const(10).i64mul().get('j').load8().const(48).sub().i64extendI32U().i64add().set('acc')
                    f.inc('j').get('j').get('p').ltU().brIf('acc')
                  })
                  f.get('nrec').get('slot').const(3).shl().add()
                  f.get('acc').f64convertI64S().tee('num').f64neg().get('num').get('vs').load8().const(45).eq().select()
                  f.f64store()
                  f.get('vflags').const(4).or().set('vflags')
                })
              })
              // A plain string of 1 to 16 bytes: its id in the string table (added when new and not full).
              f.get('kind').const(1).eq().get('vflags').eqz().and().get('p').get('vs').sub().const(3).sub().const(16).ltU().and()
              f.if(() => internString(f))
              f.get('pm').const(1).get('slot').shl().or().set('pm')
              f.get('rec').get('slot').const(12).mul().add().tee('fp')
              f.get('kind').get('vflags').const(8).shl().or().store32(12)
              f.get('fp').get('vs').store32(16)
              f.get('fp').get('p').store32(20)
            })
            skipWs(f, 'p', 'c')
            f.get('c').const(44).eq()
            f.if(() => {
              f.inc('p')
              skipWs(f, 'p', 'c')
              f.br('member')
            })
            f.get('c').const(125).ne().brIf('defer')
            f.inc('p')
          })
        })
        skipWs(f, 'p', 'c')
        f.get('c').const(NL).ne().brIf('defer')
        f.get('rec').get('ls').store32(0)
        f.get('rec').get('p').store32(4)
        f.get('rec').get('la').const(1).shl().const(1).or().get('pm').const(PRESENT_SHIFT).shl().or().store32(8)
        f.inc('p').inc('line').br('line')
      })
      // Left to the caller: find the line's newline (every scan above stops at it or before).
      f.const(NL).i8x16splat().set('v')
      f.loop('nl', () => {
        f.get('p').v128load().get('v').i8x16eq().i8x16bitmask().tee('m').eqz()
        f.if(() => { f.inc('p', 16).br('nl') })
      })
      f.get('p').get('m').ctz().add().set('p')
      f.get('rec').get('ls').store32(0)
      f.get('rec').get('p').store32(4)
      f.get('rec').const(0).store32(8)
      f.inc('p').inc('line').br('line')
    })
  })
  f.get('line')
  return f
}

let compiled: object | null | undefined

/** The compiled scanner module, or null where WebAssembly SIMD is missing. */
function scannerModule(): object | null {
  if (compiled === undefined) {
    const bytes = wasmModule({ functions: [nestedFn(), scanFn(0)], memoryPages: PAGES, globals: 1, exports: { scan: 1 } })
    // A tiny SIMD function: where it validates, ours must compile (else it is a bug: thrown).
    const probe = new WasmFn([], [I32])
    probe.const(1).i8x16splat().i8x16bitmask()
    const simd = wasmModule({ functions: [probe], memoryPages: 1, globals: 0, exports: {} })
    compiled = webAssembly !== undefined && webAssembly.validate(simd) ? new webAssembly.Module(bytes) : null
  }
  return compiled
}

/** Where a scanned line's results are in `BlockScanner.out` (int32 indexes). */
export const LINE_START = 0
export const LINE_END = 1
export const LINE_VERDICT = 2
/** The verdict's flag byte (bit 0: one valid object; bit 1: a string held a byte >= 0x80); the present-field bits lie above it. */
export const VERDICT_FLAGS = 0xff
/** The verdict's bits from this one up: bit i set when wanted field i is present (fields 0 to 23). */
export const PRESENT_SHIFT = 8
/** In a field's kind word: its value is in BlockScanner.nums. */
export const SHORT_INT = 4 << 8

/**
 * Scans blocks of whole NDJSON lines in WebAssembly for a fixed list of wanted top-level fields.
 * Copy the lines into `bytes` at `inputStart` (ending with a newline, at most BLOCK_BYTES), call
 * scan, then read each line's record in `out` (see scanFn); offsets are into `bytes`.
 *
 * @example
 * const b = BlockScanner.create(['a'])!
 * b.bytes.set(Buffer.from('{"a":1}\n'), b.inputStart)
 * b.scan(b.inputStart, b.inputStart + 8) // 1 line; b.out[2] === 1
 */
export class BlockScanner {
  /** Int32s per line record. */
  readonly stride: number
  /** Lines one scan call records at most. */
  readonly maxLines: number
  readonly inputStart = IN
  readonly bytes: Buffer
  readonly out: Int32Array
  /** Line i's wanted field f, when its kind word has flag 4 (1024): a short integer's value at `i * fields.length + f`. */
  readonly nums: Float64Array
  /** Bytes the last load copied to `inputStart`. */
  loaded = 0
  /** The strings of the string table's ids, made on first use (see interned). */
  private readonly strings: (string | undefined)[] = new Array<string | undefined>(STRING_SLOTS + 1).fill(undefined)
  private readonly run: (p: number, end: number, out: number, max: number, nf: number) => number

  private constructor(readonly fields: readonly string[], instance: { exports: Record<string, unknown> }, strings: boolean) {
    const memory = instance.exports.memory as { buffer: ArrayBuffer }
    this.run = instance.exports.scan as BlockScanner['run']
    this.bytes = Buffer.from(memory.buffer)
    this.out = new Int32Array(memory.buffer, OUT, OUT_BYTES >> 2)
    this.nums = new Float64Array(memory.buffer, NUMS, OUT_BYTES >> 3)
    this.stride = 3 + 3 * fields.length
    this.maxLines = Math.floor(OUT_BYTES / (4 * this.stride))
    const b = this.bytes
    for (const c of '0123456789abcdefABCDEF') b[HEX_TABLE + c.charCodeAt(0)] = 1
    for (const c of '"\\/bfnrt') b[ESC_TABLE + c.charCodeAt(0)] = 1
    // Without string ids the table starts full: a string costs its hash and one probe of an empty
    // entry, not up to eight probes of a table that filled up with other strings.
    if (!strings) b.writeInt32LE(STRING_LIMIT, STRING_COUNT)
    let at = NAME_BYTES
    fields.forEach((name, i) => {
      const n = b.write(name, at, 'utf8')
      const h = keyHash(n, n > 0 ? b[at]! : Q, n > 0 ? b[at + n - 1]! : Q)
      b[KEY_TABLE + h] = b[KEY_TABLE + h] === 0 ? i + 1 : COLLIDE
      b.writeInt32LE(n, NAMES + 8 * i)
      b.writeInt32LE(at, NAMES + 8 * i + 4)
      at += n
    })
  }

  /**
   * Copies the next whole lines of `buf[start, end)` (which ends with a newline), at most
   * BLOCK_BYTES of them, to `bytes[inputStart, inputStart + loaded)` for scan; returns where the
   * rest of the range begins. A first line longer than a block is not copied (`loaded` is 0): it
   * goes to `long(buf, lineStart, newlineIndex)`.
   */
  load(buf: Buffer, start: number, end: number, long: (buf: Buffer, start: number, end: number) => void): number {
    let cut = end
    if (end - start > BLOCK_BYTES) {
      cut = buf.lastIndexOf(10, start + BLOCK_BYTES - 1) + 1
      if (cut <= start) {
        const nl = buf.indexOf(10, start)
        this.loaded = 0
        long(buf, start, nl)
        return nl + 1
      }
    }
    buf.copy(this.bytes, IN, start, cut)
    this.loaded = cut - start
    return cut
  }

  /**
   * Builds and compiles the scanner's WebAssembly module now (else the first {@link create} does,
   * once per thread): for a thread that has time before its first scan, such as a pool thread
   * waiting for its first map task.
   *
   * @example
   * BlockScanner.prepare() // a later create only instantiates
   */
  static prepare(): void {
    scannerModule()
  }

  /**
   * A scanner for `fields`, or undefined when this runtime lacks WebAssembly SIMD or the fields do
   * not fit. `strings: false` gives no string ids (kind words without bits above 16): for a caller
   * that does not use them, on input with many distinct strings.
   */
  static create(fields: readonly string[], opts: { strings?: boolean } = {}): BlockScanner | undefined {
    const bytes = fields.reduce((n, f) => n + Buffer.byteLength(f), 0)
    if (fields.length === 0 || fields.length > BLOCK_MAX_FIELDS || bytes > MAX_NAME_BYTES) return undefined
    const mod = scannerModule()
    return mod ? new BlockScanner(fields, new webAssembly!.Instance(mod, {}), opts.strings ?? true) : undefined
  }

  /**
   * The string of a field whose kind word `k` holds a string id (`k >= 65536`): made from the
   * value text `bytes[s, e)` (quotes included) the first time the id comes, else the one made then.
   */
  interned(k: number, s: number, e: number): string {
    const id = k >>> 16
    return this.strings[id] ?? (this.strings[id] = this.bytes.toString('latin1', s + 1, e - 1))
  }

  /**
   * Scans the lines in `bytes[start, end)` (the last byte a newline) until maxLines; returns how
   * many lines it recorded in `out` (line i's record at `i * stride`).
   */
  scan(start: number, end: number): number {
    return this.run(start, end, OUT, this.maxLines, this.fields.length)
  }
}
