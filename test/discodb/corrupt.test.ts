// Seeded corruption loop over the fixture files: flipped bytes, truncations, splices and hostile
// header values. Whatever the damage, only DiscoError with a DiscoDB code may escape: no other
// exception, no hang (the test has a timeout), no unbounded allocation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DiscoDB, DiscoError, Q } from 'disco-inferno'
import { rng } from './random.js'
import { loadVectors } from './vectors.js'

const ALLOWED = new Set(['DDB_TOO_SMALL', 'DDB_BAD_MAGIC', 'DDB_BAD_SIZE', 'DDB_CORRUPT', 'DDB_MULTISET_QUERY', 'DDB_QUERY_RESOLVE', 'DDB_QUERY_TOO_LARGE'])

type R = ReturnType<typeof rng>

/** Runs `f`; a DiscoError with an allowed code counts, anything else fails the test. */
function guard(codes: Map<string, number>, where: string, f: () => void): void {
  try {
    f()
  } catch (e) {
    if (!(e instanceof DiscoError) || !ALLOWED.has(e.code)) {
      assert.fail(`${where}: unexpected ${e instanceof Error ? `${e.name} ${(e as DiscoError).code ?? ''} ${e.message}\n${e.stack}` : String(e)}`)
    }
    codes.set(e.code, (codes.get(e.code) ?? 0) + 1)
  }
}

/** Reads as much of the DB as a user would, each part separately, with an element budget. */
function exercise(bytes: Uint8Array, r: R, codes: Map<string, number>, where: string, budget: number): void {
  let db: DiscoDB | undefined
  guard(codes, `${where} open`, () => {
    db = DiscoDB.loads(bytes)
  })
  if (db === undefined) return
  const d = db
  const keys: Uint8Array[] = []
  guard(codes, `${where} keys`, () => {
    for (const k of d.keys()) if (keys.push(k) >= budget) break
  })
  guard(codes, `${where} items`, () => {
    let n = 0
    for (const [, vs] of d.items()) {
      for (const _ of vs) if (++n >= budget) return
      if (++n >= budget) return
    }
  })
  guard(codes, `${where} values`, () => {
    let n = 0
    for (const _ of d.values()) if (++n >= budget) break
  })
  guard(codes, `${where} unique values`, () => {
    let n = 0
    for (const _ of d.uniqueValues()) if (++n >= budget) break
  })
  const probes = [...keys.slice(0, 3), ...Array.from({ length: 3 }, () => (keys.length ? keys[r.below(keys.length)]! : new Uint8Array(0))), new Uint8Array([1, 2, 3])]
  for (const k of probes) {
    guard(codes, `${where} lookup`, () => {
      d.has(k)
      d.peek(k)
      const g = d.get(k)
      if (g) for (const _ of g) { /* decode */ }
    })
  }
  const a = probes[r.below(probes.length)]!
  const b = probes[r.below(probes.length)]!
  const queries = [
    Q.fromCnf([[[a, false]], [[b, true]]]),
    Q.fromCnf([[[a, false], [b, false]]]),
    Q.fromCnf([[[a, true]]]),
    Q.fromCnf([[[a, false]]]).deref(),
    Q.fromCnf([[[b, false]]]).deref().not(),
  ]
  for (const q of queries) {
    guard(codes, `${where} query ${String(q)}`, () => {
      const res = d.query(q, r.next() < 0.3 ? { view: probes } : undefined)
      let n = 0
      for (const _ of res) if (++n >= budget) break
      res.count()
    })
  }
  guard(codes, `${where} metaquery`, () => {
    let n = 0
    for (const [, vs] of d.metaquery(queries[3]!)) {
      vs.count()
      if (++n >= 20) break
    }
  })
}

function mutate(src: Uint8Array, others: Uint8Array[], r: R): Uint8Array {
  const kind = r.below(5)
  if (kind === 0) {
    // Truncate, often inside the header or the first sections.
    const len = r.next() < 0.3 ? r.below(Math.min(src.length, 100)) : r.below(src.length)
    return src.slice(0, len)
  }
  const out = src.slice()
  if (kind === 1 || kind === 2) {
    // Flip bits; half of the flips land in the first 600 bytes (header, hash blob, TOCs).
    const n = 1 + r.below(kind === 1 ? 2 : 12)
    for (let i = 0; i < n; i++) {
      const pos = r.next() < 0.5 ? r.below(Math.min(out.length, 600)) : r.below(out.length)
      out[pos]! ^= 1 << r.below(8)
    }
    return out
  }
  if (kind === 3) {
    // Splice: overwrite a run with bytes from another fixture or another place in this one.
    const from = r.next() < 0.5 ? src : others[r.below(others.length)]!
    const len = 1 + r.below(64)
    const s = r.below(Math.max(1, from.length - len))
    const at = r.below(Math.max(1, out.length - len))
    out.set(from.subarray(s, s + len).subarray(0, Math.max(0, out.length - at)), at)
    return out
  }
  // Hostile header / TOC value: a u32 or u64 slot set to an extreme.
  const slot = r.next() < 0.6 ? 8 + 4 * r.below(16) : 72 + 4 * r.below(Math.max(1, Math.min(200, (out.length - 76) >> 2)))
  const vals = [0, 1, 0xffffffff, 0x7fffffff, out.length, out.length - 1, out.length + 1, 72, r.below(out.length)]
  const v = vals[r.below(vals.length)]!
  const view = new DataView(out.buffer)
  if (slot + 4 <= out.length) view.setUint32(slot, v >>> 0, true)
  return out
}

test('corruption loop: only DiscoDB error codes escape', { timeout: 120_000 }, () => {
  const fixtures = loadVectors().map((v) => ({ name: v.name, bytes: new Uint8Array(readFileSync(v.ddb)) }))
  const all = fixtures.map((f) => f.bytes)
  const codes = new Map<string, number>()
  let cases = 0
  const seed = Number(process.env["DDB_CORRUPTION_SEED"] ?? 20261122)
  const r = rng(seed)
  for (const f of fixtures) {
    // Many cases on small files; fewer on the large ones (each case copies the file).
    const scale = Number(process.env["DDB_CORRUPTION_SCALE"] ?? 1)
    const n = Math.round((f.bytes.length < 50_000 ? 300 : 25) * scale)
    for (let i = 0; i < n; i++) {
      const caseSeed = r.below(2 ** 31)
      const cr = rng(caseSeed)
      const bytes = mutate(f.bytes, all, cr)
      exercise(bytes, cr, codes, `${f.name} case ${i} (seed ${caseSeed})`, f.bytes.length < 50_000 ? 400 : 60)
      cases++
    }
  }
  assert.ok(cases >= 3000, `ran ${cases} cases`)
  // The loop must actually reach the checks, not only succeed.
  for (const c of ['DDB_TOO_SMALL', 'DDB_BAD_MAGIC', 'DDB_BAD_SIZE', 'DDB_CORRUPT']) assert.ok((codes.get(c) ?? 0) > 0, `${c} never raised`)
  console.log(`# corruption loop: ${cases} cases, codes ${JSON.stringify(Object.fromEntries(codes))}`)
})
