// Generators of hostile JSON lines for differential tests: escapes, \u surrogates (lone ones too),
// duplicate keys, deep nesting, huge numbers, -0, exponents, whitespace everywhere, damaged bytes.

/** Field names the generated objects use most (wanted by the scanner tests). */
export const FIELDS = ['a', 'b', 'ts', 'é', 'x y', '', 'n']
const KEYS = [...FIELDS, 'zz', '__proto__', 'constructor', 'a\u0000', 'A']

export type Rnd = () => number

export const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!

/** Random JSON whitespace (mostly none). */
export function ws(r: Rnd): string {
  if (r() < 0.7) return ''
  let s = ''
  const n = 1 + Math.floor(r() * 3)
  for (let i = 0; i < n; i++) s += pick(r, [' ', '\t', '\r', '  '])
  return s
}

const CHARS = ['a', 'z', ' ', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', 'é', '€', '😀',
  '\ud800', '\udfff', '\u2028', '{', '}', '[', ']', ',', ':', '1']

/** A string literal with random escapes (\uXXXX of any unit, lone surrogates included). */
export function stringLit(r: Rnd, text?: string): string {
  const t = text ?? Array.from({ length: Math.floor(r() * 6) }, () => pick(r, CHARS)).join('')
  let s = '"'
  for (const ch of t) {
    for (let i = 0; i < ch.length; i++) {
      const u = ch.charCodeAt(i)
      const esc = r()
      if (u === 0x22) s += '\\"'
      else if (u === 0x5c) s += '\\\\'
      else if (u < 0x20 || esc < 0.2) s += '\\u' + u.toString(16).padStart(4, '0')[r() < 0.5 ? 'toUpperCase' : 'toLowerCase']()
      else if (u === 0x2f && esc < 0.5) s += '\\/'
      else if (u >= 0xd800 && u <= 0xdfff) s += '\\u' + u.toString(16) // a raw lone surrogate cannot be UTF-8
      else s += ch[i]
    }
  }
  return s + '"'
}

const NUMBERS = ['0', '-0', '1', '-1', '42', '0.5', '-0.0', '1e5', '1E+5', '1e-5', '2.5E-3', '123456789012345', '1234567890123456',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '12345678901234567890', '1e400', '-1e400',
  '0.30000000000000004', '0.12345678901234567890', '1e12345678901234567', '123456789012345678901234567890.5', '5e-324', '1.7976931348623157e308']

export function value(r: Rnd, depth: number): string {
  const k = r()
  if (k < 0.3) return stringLit(r)
  if (k < 0.55) return pick(r, NUMBERS)
  if (k < 0.65) return pick(r, ['true', 'false', 'null'])
  if (depth <= 0) return '0'
  if (k < 0.8) {
    const n = Math.floor(r() * 4)
    return '[' + ws(r) + Array.from({ length: n }, () => value(r, depth - 1)).join(ws(r) + ',' + ws(r)) + ws(r) + ']'
  }
  const n = Math.floor(r() * 4)
  return '{' + ws(r) + Array.from({ length: n }, () => `${stringLit(r, pick(r, KEYS))}${ws(r)}:${ws(r)}${value(r, depth - 1)}`).join(ws(r) + ',' + ws(r)) + ws(r) + '}'
}

/** A deep nest of arrays or objects (beyond the scanner's own depth limit sometimes). */
function deep(r: Rnd): string {
  const n = Math.floor(r() * 200)
  const obj = r() < 0.5
  return (obj ? '{"k":'.repeat(n) : '['.repeat(n)) + '1' + (obj ? '}' : ']').repeat(n)
}

/** One object line: random keys (duplicates likely), whitespace everywhere. */
export function objectLine(r: Rnd, keys: readonly string[] = KEYS): string {
  const n = Math.floor(r() * 7)
  const members: string[] = []
  for (let i = 0; i < n; i++) {
    const v = r() < 0.05 ? deep(r) : value(r, 3)
    members.push(`${ws(r)}${stringLit(r, pick(r, keys))}${ws(r)}:${ws(r)}${v}${ws(r)}`)
  }
  return ws(r) + '{' + members.join(',') + (n === 0 ? ws(r) : '') + '}' + (r() < 0.1 ? pick(r, [' ', '\t', '\u00a0', '\u000b', '\ufeff', 'x', '}', ',', '\u2028']) : '')
}

/** Damages a line's bytes: truncation, a flipped, inserted or deleted byte, invalid UTF-8. */
export function mutate(r: Rnd, bytes: Buffer): Buffer {
  const b = [...bytes]
  const n = 1 + Math.floor(r() * 2)
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (b.length + 1))
    const k = r()
    if (k < 0.25) b.length = at
    else if (k < 0.5) b.splice(at, 0, pick(r, [0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x20, 0x00, 0x0b, 0x30, 0x2d, 0x2e, 0x65, 0x80, 0xc3, 0xe2, 0xff, 0xed]))
    else if (k < 0.75) b.splice(at, 1)
    else if (at < b.length) b[at] = Math.floor(r() * 256)
  }
  return Buffer.from(b)
}

