#!/usr/bin/env node
// Fails when a lower layer of src/ imports a higher one (see README "Layers").
// Order, lowest first. Files directly in src/ (errors.ts is lowest, index.ts may import anything).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname, sep } from 'node:path'

const ORDER = ['errors.ts', 'util', 'discodb', 'ddfs', 'disco', 'inferno', 'cluster', 'analytics', 'server', 'cli']
const root = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src')

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
for (const file of walk(root)) {
  const rel = relative(root, file)
  const own = rank(rel)
  const text = readFileSync(file, 'utf8')
  const re = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2]
    const target = relative(root, resolve(dirname(file), spec)).replace(/\.js$/, '.ts')
    if (target.startsWith('..')) { problems.push(`src/${rel} imports outside src/: ${spec}`); continue }
    const r = rank(target)
    if (r > own) problems.push(`src/${rel} (layer ${ORDER[own] ?? 'entry'}) imports higher layer: ${spec}`)
  }
}
if (problems.length) {
  console.error('layer check failed:\n  ' + problems.join('\n  '))
  process.exit(1)
}
console.log('layer check: ok')
