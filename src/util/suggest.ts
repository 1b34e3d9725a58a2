// "Did you mean …?": the closest known name to a misspelt one.

/** Edit distance (insert, delete, substitute, swap of neighbours), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)])
  for (let j = 1; j <= t.length; j++) d[0]![j] = j
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[s.length]![t.length]!
}

/**
 * The known name closest to `name`, if it is close enough to be a typo (at most a third of its
 * letters differ, ignoring case and `_`/`-`).
 *
 * @example
 * nearestName('keyparts', ['keyParts', 'valueParts']) // 'keyParts'
 * nearestName('zzz', ['keyParts'])                    // undefined
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  const norm = (x: string) => x.replace(/[_-]/g, '')
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const dist = editDistance(norm(name), norm(k))
    if (dist < bestD) { best = k; bestD = dist }
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined
}

/** ` (did you mean X?)` or the empty string. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const n = nearestName(name, known)
  return n === undefined ? '' : ` (did you mean ${n}?)`
}
