// JSON text with exact big integers (Q14): the one place that decides which numbers become bigints.

const BIG_MARK = '\u0000bigint:'
// A whole JSON integer token (no leading zero) of 16+ digits: not preceded by a digit, `.`, `e`/`E` or a sign of an
// exponent (so fraction and exponent digits never match), not followed by a fraction or exponent.
const BIG_TOKENS = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?[1-9]\d{15,}(?![.eE\d])/g

/**
 * The value of one JSON integer token under Q14: a number when it is a safe integer, else a
 * bigint. `text` must be a valid JSON integer (`-?(0|[1-9]\d*)`).
 *
 * @example
 * bigIntegerValue('12345678901234567890') // 12345678901234567890n
 * bigIntegerValue('42') // 42
 */
export function bigIntegerValue(text: string): number | bigint {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : BigInt(text)
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact as bigints (Q14). Only texts holding a run of
 * 16+ digits take the slower path; fraction and exponent digits never count as integers.
 *
 * @example
 * parseJson('{"n": 12345678901234567890}') // { n: 12345678901234567890n }
 * parseJson('{"x": 0.30000000000000004}') // { x: 0.30000000000000004 }
 */
export function parseJson(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text)
  let marked = false
  const src = text.replace(BIG_TOKENS, (tok) => {
    if (tok.startsWith('"')) return tok
    if (Number.isSafeInteger(Number(tok))) return tok
    marked = true
    return `"\\u0000bigint:${tok}"`
  })
  if (!marked) return JSON.parse(text)
  return JSON.parse(src, (_k, v) => (typeof v === 'string' && v.startsWith(BIG_MARK) ? BigInt(v.slice(BIG_MARK.length)) : v))
}

/**
 * Adds two numbers exactly (Q14): integer sums stay exact, switching to bigint beyond 2^53 and back
 * to a number when the sum fits again; as soon as a non-integer is involved the sum is an ordinary
 * double.
 *
 * @example
 * addExact(2 ** 53 - 1, 2) // 9007199254740993n
 * addExact(1, 0.5) // 1.5
 */
export function addExact(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b
    if (Number.isSafeInteger(s) || !Number.isInteger(a) || !Number.isInteger(b)) return s
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return s // already beyond exactness
    return BigInt(a) + BigInt(b)
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') return narrow(a + b)
  const [big, other] = typeof a === 'bigint' ? [a, b as number] : [b as bigint, a as number]
  if (Number.isSafeInteger(other)) return narrow(big + BigInt(other))
  return Number(big) + other
}

/** A bigint back to a number when it fits exactly. */
function narrow(b: bigint): number | bigint {
  const n = Number(b)
  return Number.isSafeInteger(n) ? n : b
}
