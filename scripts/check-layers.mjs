#!/usr/bin/env node
// Fails when a lower layer of src/ imports a higher one (see README "Layers"), or when files import
// each other in a cycle. Order, lowest first. Files directly in src/ (errors.ts is lowest, index.ts
// may import anything).
//
// Cycles: every relative import counts, type-only ones (`import type`) included. A type-only cycle
// costs nothing at run time, but it still means two files cannot be understood (or moved) apart;
// the cure is the same as for a value cycle: put the shared part in a third file both import.
//
// Usage: node scripts/check-layers.mjs [--root DIR]   (DIR defaults to this repository's src/)
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname, sep } from 'node:path'

const ORDER = ['errors.ts', 'util', 'discodb', 'ddfs', 'disco', 'inferno', 'cluster', 'analytics', 'server', 'cli']

function parseArgs(argv) {
  let root = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src')
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root' && argv[i + 1] !== undefined) root = resolve(argv[++i])
    else {
      console.error(`check-layers: error USAGE: unknown argument ${argv[i]} (usage: check-layers.mjs [--root DIR])`)
      process.exit(2)
    }
  }
  return root
}
const root = parseArgs(process.argv.slice(2))

/** Layer rank of a path relative to src/, or Infinity for the package entry. */
function rank(rel) {
  const first = rel.split(sep)[0]
  if (first === 'index.ts') return Infinity
  const i = ORDER.indexOf(first)
  if (i < 0) throw new Error(`src/${rel}: unknown layer "${first}" (add it to scripts/check-layers.mjs)`)
  return i
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield* walk(p)
    else if (p.endsWith('.ts')) yield p
  }
}

const problems = []
/** Relative-import graph: file (relative to root) -> the files it imports. */
const graph = new Map()
for (const file of walk(root)) {
  const rel = relative(root, file)
  const own = rank(rel)
  const text = readFileSync(file, 'utf8')
  const edges = new Set()
  graph.set(rel, edges)
  const re = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2]
    const target = relative(root, resolve(dirname(file), spec)).replace(/\.js$/, '.ts')
    if (target.startsWith('..')) { problems.push(`src/${rel} imports outside src/: ${spec}`); continue }
    const r = rank(target)
    if (r > own) problems.push(`src/${rel} (layer ${ORDER[own] ?? 'entry'}) imports higher layer: ${spec}`)
    if (target !== rel) edges.add(target)
  }
}

/**
 * Import cycles as paths `a.ts -> b.ts -> a.ts`: a depth-first search that, on meeting a file
 * still on its stack, reports the stack from that file. Every tangle of files that import each
 * other yields at least one cycle (not necessarily all of its cycles: fix one, run again). Files are
 * visited in sorted order so the report is stable.
 */
function findCycles(g) {
  const cycles = []
  const seen = new Set()
  const state = new Map() // file -> 'open' (on the stack) | 'done'
  const stack = []
  const visit = (f) => {
    state.set(f, 'open')
    stack.push(f)
    for (const t of [...(g.get(f) ?? [])].sort()) {
      if (!g.has(t)) continue
      const s = state.get(t)
      if (s === 'open') {
        const path = stack.slice(stack.indexOf(t))
        // The same cycle met from another file: rotate to its smallest member to compare.
        const k = path.indexOf([...path].sort()[0])
        const key = [...path.slice(k), ...path.slice(0, k)].join(' -> ')
        if (!seen.has(key)) { seen.add(key); cycles.push([...path, t]) }
      } else if (s === undefined) visit(t)
    }
    stack.pop()
    state.set(f, 'done')
  }
  for (const f of [...g.keys()].sort()) if (!state.has(f)) visit(f)
  return cycles
}
const slash = (f) => f.split(sep).join('/')
for (const c of findCycles(graph)) problems.push(`import cycle: ${c.map((f) => `src/${slash(f)}`).join(' -> ')}`)

if (problems.length) {
  console.error('layer check failed:\n  ' + problems.join('\n  '))
  process.exit(1)
}
console.log('layer check: ok (no upward imports, no import cycles)')
