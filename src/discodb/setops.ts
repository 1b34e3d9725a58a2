// Set operations over ascending value-ID arrays (Uint32Array). Outputs are ascending without
// duplicates even if an input repeats an ID.

const EMPTY = new Uint32Array(0)

/** An empty ID array (shared; never written to). */
export function emptyIds(): Uint32Array {
  return EMPTY
}

/** Index of the first element >= x in a[lo..], found by galloping then binary search. */
function gallop(a: Uint32Array, x: number, lo: number): number {
  let step = 1
  let hi = lo
  while (hi < a.length && a[hi]! < x) {
    lo = hi + 1
    hi += step
    step *= 2
  }
  if (hi > a.length) hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** True when the ascending array `a` holds `x`. */
export function hasId(a: Uint32Array, x: number): boolean {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo < a.length && a[lo] === x
}

/**
 * a ∩ b; gallops through the larger array when the sizes differ a lot. With `out`, writes the
 * result there and returns its length; without, counts only.
 */
function intersectInto(a: Uint32Array, b: Uint32Array, out: Uint32Array | undefined): number {
  let n = 0
  let j = 0
  let last = -1
  const skewed = b.length > a.length * 16
  for (let i = 0; i < a.length && j < b.length; i++) {
    const x = a[i]!
    if (skewed) j = gallop(b, x, j)
    else while (j < b.length && b[j]! < x) j++
    if (j < b.length && b[j] === x && x !== last) {
      if (out !== undefined) out[n] = x
      n++
      last = x
    }
  }
  return n
}

/** a ∩ b (counts first, so the result is allocated once at its exact size). */
export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length > b.length) [a, b] = [b, a]
  if (a.length === 0) return EMPTY
  const n = intersectInto(a, b, undefined)
  if (n === 0) return EMPTY
  const out = new Uint32Array(n)
  intersectInto(a, b, out)
  return out
}

/** Merges a ∪ b into `out` (or only counts without it); returns the length. */
function unionInto(a: Uint32Array, b: Uint32Array, out: Uint32Array | undefined): number {
  let i = 0
  let j = 0
  let n = 0
  let last = -1
  while (i < a.length || j < b.length) {
    let x: number
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) x = a[i++]!
    else x = b[j++]!
    if (x !== last) {
      if (out !== undefined) out[n] = x
      n++
      last = x
    }
  }
  return n
}

/** a ∪ b (allocated once at its exact size). */
export function union(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length === 0) return dedupe(b)
  if (b.length === 0) return dedupe(a)
  const out = new Uint32Array(unionInto(a, b, undefined))
  unionInto(a, b, out)
  return out
}

/** The union of several arrays (sorts once when there are many). */
export function unionAll(lists: readonly Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY
  if (lists.length === 1) return dedupe(lists[0]!)
  if (lists.length === 2) return union(lists[0]!, lists[1]!)
  let total = 0
  for (const l of lists) total += l.length
  const all = new Uint32Array(total)
  let o = 0
  for (const l of lists) {
    all.set(l, o)
    o += l.length
  }
  all.sort()
  return dedupe(all)
}

/** An ascending array without repeats (returns the input when it has none). */
export function dedupe(a: Uint32Array): Uint32Array {
  let k = 1
  while (k < a.length && a[k] !== a[k - 1]) k++
  if (k >= a.length) return a
  const out = new Uint32Array(a.length)
  let n = 0
  for (let i = 0; i < a.length; i++) if (n === 0 || out[n - 1] !== a[i]) out[n++] = a[i]!
  return out.subarray(0, n)
}

/** Elements of `a` that satisfy `keep`. */
export function filterIds(a: Uint32Array, keep: (id: number) => boolean): Uint32Array {
  const out = new Uint32Array(a.length)
  let n = 0
  for (let i = 0; i < a.length; i++) if (keep(a[i]!)) out[n++] = a[i]!
  return out.subarray(0, n)
}

/** {1..max} \ excluded (excluded ascending). */
export function complement(excluded: Uint32Array, max: number): Uint32Array {
  const out = new Uint32Array(max)
  let n = 0
  let j = 0
  for (let id = 1; id <= max; id++) {
    while (j < excluded.length && excluded[j]! < id) j++
    if (j < excluded.length && excluded[j] === id) continue
    out[n++] = id
  }
  return out.subarray(0, n)
}
