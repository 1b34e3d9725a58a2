// Key canonicalisation, value coercion, exact sums and number formatting (docs/inferno.md, Q1/Q3/Q10/Q14).

import { addExact } from '../../util/json.js'

/** A summed number: a JS number, or a bigint once an integer sum leaves the safe range (Q14). */
export type Num = number | bigint

/**
 * Text of one key part (Q10), or `undefined` when the part is missing (absent or null).
 * Strings as they are; finite numbers as JS shortest text (`1` and `1.0` both give `"1"`);
 * bigints in decimal; booleans `True`/`False` (as the original); a Date at UTC midnight as
 * `YYYY-MM-DD`, other dates as ISO text; arrays and objects as compact JSON.
 *
 * @example
 * keyText(10) // '10'
 * keyText(true) // 'True'
 * keyText({ x: 1 }) // '{"x":1}'
 */
export function keyText(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string': return v
    case 'number': return String(v)
    case 'bigint': return v.toString()
    case 'boolean': return v ? 'True' : 'False'
    case 'undefined': return undefined
    case 'object':
      if (v === null) return undefined
      if (v instanceof Date) return dateText(v)
      return JSON.stringify(v, jsonReplacer)
    default: return String(v)
  }
}

/** `YYYY-MM-DD` for a UTC-midnight date, else full ISO text. */
function dateText(d: Date): string {
  const iso = d.toISOString()
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso
}

const DAY_MS = 86_400_000
/** Days remembered by utcDay (direct-mapped by day number: a log spans few days). */
const DAY_CACHE = 512
const cachedDays = new Float64Array(DAY_CACHE).fill(NaN)
const cachedDayTexts: string[] = new Array<string>(DAY_CACHE).fill('')

/**
 * The UTC day `YYYY-MM-DD` of a time in ms: exactly `new Date(ms).toISOString().slice(0, 10)` for
 * every argument (fractions truncated as Date does, negative times, the extended years near the
 * limits; a RangeError for NaN, ±Infinity and times past ±8.64e15 ms, as toISOString), but
 * remembered per day, so a log's records cost one division and one array read each.
 *
 * @example
 * utcDay(1763596800123) // '2025-11-20'
 * utcDay(-1) // '1969-12-31'
 */
export function utcDay(ms: number): string {
  // Date's TimeClip: integers within ±8.64e15 only (-0 and fractions truncate toward zero).
  if (typeof ms !== 'number' || !(ms >= -8.64e15 && ms <= 8.64e15)) return new Date(ms).toISOString().slice(0, 10)
  const t = Math.trunc(ms)
  let day = Math.floor(t / DAY_MS)
  // The division may round up across a day's end near the limits: correct it exactly.
  const rest = t - day * DAY_MS
  if (rest < 0) day--
  else if (rest >= DAY_MS) day++
  const slot = day & (DAY_CACHE - 1)
  if (cachedDays[slot] === day) return cachedDayTexts[slot]!
  const text = new Date(day * DAY_MS).toISOString().slice(0, 10)
  cachedDays[slot] = day
  cachedDayTexts[slot] = text
  return text
}

// The miss path above run at load time on 16 days of 1970, then forgotten: V8 keeps type feedback
// for a function only from about its 8th call on, so a log's first day (always a miss) left the
// path without feedback, and every later new day then threw away the compiled code of the map
// loop it was inlined in (in each worker). Pure computation: no rule code sees these calls.
for (let d = 0; d < 16; d++) utcDay(d * DAY_MS)
cachedDays.fill(NaN)

/** JSON replacer that writes bigints as plain numbers' text (they would otherwise throw). */
export function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v
}

const FLOAT_TEXT = /^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)\s*$/i
const INT_TEXT = /^\s*[+-]?\d+\s*$/

/**
 * Coerces one value-part item before summing (section 2.5, with Q3 and Q14): numbers and bigints
 * stay; booleans become 0/1; numeric text becomes a number (integer text beyond 2^53 a bigint);
 * anything else (null, other text, arrays, objects) becomes 0.
 *
 * @example
 * coerce('3') // 3
 * coerce('x') // 0
 * coerce(true) // 1
 */
export function coerce(v: unknown): Num {
  switch (typeof v) {
    case 'number': return v
    case 'bigint': return v
    case 'boolean': return v ? 1 : 0
    case 'string': {
      if (INT_TEXT.test(v)) {
        const n = Number(v)
        return Number.isSafeInteger(n) ? n : BigInt(v.trim())
      }
      if (!FLOAT_TEXT.test(v)) return 0
      const t = v.trim().toLowerCase().replace(/^\+/, '')
      if (t.endsWith('inf') || t.endsWith('infinity')) return t.startsWith('-') ? -Infinity : Infinity
      if (t.endsWith('nan')) return NaN
      return Number(t)
    }
    default: return 0
  }
}

/**
 * True when a value sums as a number: numbers, bigints, booleans and numeric text (what coerce
 * reads as a number; anything else counts as 0).
 *
 * @example
 * [isNumeric(2), isNumeric(' 3 '), isNumeric('nan'), isNumeric('abc'), isNumeric(null)] // [true, true, true, false, false]
 */
export function isNumeric(v: unknown): boolean {
  switch (typeof v) {
    case 'number': case 'bigint': case 'boolean': return true
    case 'string': return INT_TEXT.test(v) || FLOAT_TEXT.test(v)
    default: return false
  }
}

/**
 * Adds two coerced numbers exactly: integer sums stay exact (switching to bigint beyond 2^53, Q14);
 * as soon as a non-integer is involved the sum is an ordinary double (the engine's one exact sum,
 * util/json's addExact).
 *
 * @example
 * add(2 ** 53 - 1, 2) // 9007199254740993n
 * add(1, 0.5) // 1.5
 */
export const add: (a: Num, b: Num) => Num = addExact

/**
 * Element-wise sum of value lists (section 2.5): the first list sets the length, longer later lists
 * extend it, shorter ones leave the tail unchanged. Items are coerced first.
 *
 * @example
 * sumInto([1, 2], [3, 'x', 4]) // [4, 2, 4]
 */
export function sumInto(acc: Num[], values: readonly unknown[]): Num[] {
  for (let i = 0; i < values.length; i++) {
    const v = coerce(values[i])
    acc[i] = i < acc.length ? add(acc[i]!, v) : v
  }
  return acc
}

/** How result processors print non-integral numbers (Q1). */
export type FloatFormat = 'g12' | 'shortest'

/**
 * Text of a result value (Q1): integers (safe ones and bigints) in plain decimal; other numbers with
 * 12 significant digits like the original (`g12`, default: `0.1+0.2` → `0.3`) or the shortest
 * round-trip text (`shortest`); booleans `True`/`False`; null/undefined empty; objects as JSON.
 *
 * @example
 * formatValue(0.1 + 0.2) // '0.3'
 * formatValue(0.1 + 0.2, 'shortest') // '0.30000000000000004'
 * formatValue(2n ** 64n) // '18446744073709551616'
 */
export function formatValue(v: unknown, floats: FloatFormat = 'g12'): string {
  switch (typeof v) {
    case 'number':
      if (Number.isSafeInteger(v)) return String(v)
      return floats === 'shortest' ? shortest(v) : g12(v)
    case 'bigint': return v.toString()
    case 'string': return v
    case 'boolean': return v ? 'True' : 'False'
    case 'undefined': return ''
    case 'object':
      if (v === null) return ''
      if (v instanceof Date) return dateText(v)
      return JSON.stringify(v, jsonReplacer)
    default: return String(v)
  }
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'nan'
  if (v === Infinity) return 'inf'
  if (v === -Infinity) return '-inf'
  return undefined
}

function shortest(v: number): string {
  return special(v) ?? String(v)
}

/** C `%.12g`. */
function g12(v: number): string {
  const s = special(v)
  if (s !== undefined) return s
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(12)))))
  if (exp < -4 || exp >= 12) {
    const [mant, e] = v.toExponential(11).split('e') as [string, string]
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant
    const en = Number(e)
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`
  }
  const fixed = v.toFixed(Math.max(0, 11 - exp))
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed
}
