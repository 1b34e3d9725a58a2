// Bob Jenkins' "lookup2" vector hash in CMPH's flavour (spec section 4.6): the key hash of the CHD
// perfect hash, needed by both the reader (lookups) and the writer (construction).

/**
 * Hashes `key[start..end)` with `seed` and writes the three 32-bit words `[a, b, c]` into `out`.
 *
 * @example
 * const h = new Uint32Array(3); jenkinsHash(0, new TextEncoder().encode('a'), 0, 1, h) // h = [a, b, c]
 */
export function jenkinsHash(seed: number, key: Uint8Array, start: number, end: number, out: Uint32Array): void {
  let a = 0x9e3779b9 | 0
  let b = a
  let c = seed | 0
  let p = start
  let rem = end - start
  while (rem >= 12) {
    a = (a + (key[p]! | (key[p + 1]! << 8) | (key[p + 2]! << 16) | (key[p + 3]! << 24))) | 0
    b = (b + (key[p + 4]! | (key[p + 5]! << 8) | (key[p + 6]! << 16) | (key[p + 7]! << 24))) | 0
    c = (c + (key[p + 8]! | (key[p + 9]! << 8) | (key[p + 10]! << 16) | (key[p + 11]! << 24))) | 0
    // mix(a, b, c), inlined for speed
    a = ((a - b - c) | 0) ^ (c >>> 13); b = ((b - c - a) | 0) ^ (a << 8); c = ((c - a - b) | 0) ^ (b >>> 13)
    a = ((a - b - c) | 0) ^ (c >>> 12); b = ((b - c - a) | 0) ^ (a << 16); c = ((c - a - b) | 0) ^ (b >>> 5)
    a = ((a - b - c) | 0) ^ (c >>> 3); b = ((b - c - a) | 0) ^ (a << 10); c = ((c - a - b) | 0) ^ (b >>> 15)
    p += 12
    rem -= 12
  }
  c = (c + (end - start)) | 0
  // Tail bytes: 8..10 into c at shifts 8/16/24 (its low byte holds the length), 4..7 into b, 0..3 into a.
  if (rem >= 11) c = (c + (key[p + 10]! << 24)) | 0
  if (rem >= 10) c = (c + (key[p + 9]! << 16)) | 0
  if (rem >= 9) c = (c + (key[p + 8]! << 8)) | 0
  if (rem >= 8) b = (b + (key[p + 7]! << 24)) | 0
  if (rem >= 7) b = (b + (key[p + 6]! << 16)) | 0
  if (rem >= 6) b = (b + (key[p + 5]! << 8)) | 0
  if (rem >= 5) b = (b + key[p + 4]!) | 0
  if (rem >= 4) a = (a + (key[p + 3]! << 24)) | 0
  if (rem >= 3) a = (a + (key[p + 2]! << 16)) | 0
  if (rem >= 2) a = (a + (key[p + 1]! << 8)) | 0
  if (rem >= 1) a = (a + key[p]!) | 0
  a = ((a - b - c) | 0) ^ (c >>> 13); b = ((b - c - a) | 0) ^ (a << 8); c = ((c - a - b) | 0) ^ (b >>> 13)
  a = ((a - b - c) | 0) ^ (c >>> 12); b = ((b - c - a) | 0) ^ (a << 16); c = ((c - a - b) | 0) ^ (b >>> 5)
  a = ((a - b - c) | 0) ^ (c >>> 3); b = ((b - c - a) | 0) ^ (a << 10); c = ((c - a - b) | 0) ^ (b >>> 15)
  out[0] = a
  out[1] = b
  out[2] = c
}
