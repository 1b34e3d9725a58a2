// Fixtures of the Inferno-on-a-cluster tests: a rules directory (the example rules plus a `sales`
// rule with date-suffixed source tags, field transforms, rule- and keyset-level pre-processors,
// post-processors, archiving and a relative import, so it travels as a job pack of two files),
// its data, and the `inferno` binary.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Bench, Run } from './workers.js'
import { DDFS, ok } from './workers.js'

export const INFERNO = fileURLToPath(import.meta.resolve('#src/cli/inferno.js'))

/** The environment variable the `sales` rule appends `<pid> <module URL>` to (once per process). */
export const PIDS_ENV = 'INFERNO_TEST_PIDS'

const SALES = `// The sales rule of the cluster tests.
import { appendFileSync } from 'node:fs'
import { defineKeyset, defineRule } from 'disco-inferno'
import { bigSale, upper } from './lib/transforms.js'

let noted = false
/** Rule-level pre-processor: drops records marked skip, counts the rest; notes where it runs. */
export function note(parts) {
  if (!noted && process.env.${PIDS_ENV}) {
    noted = true
    appendFileSync(process.env.${PIDS_ENV}, process.pid + ' ' + import.meta.url + '\\n')
  }
  if (parts.skip === true) return undefined
  parts.count = 1
  return parts
}

/** Post-processor: keeps groups of at least 3 sales. */
export function* busy(key, values) {
  if (Number(values[0]) >= 3) yield [key, values]
}

/** Post-processor that renames keys (the result is re-sorted). */
export function* tagged(key, values) {
  yield [[...key.slice(0, -1), 'z-' + key[key.length - 1]], values]
}

export const autorun = true

export const rules = [
  defineRule({
    name: 'sales',
    sourceTags: ['incoming:sales'],
    dayRange: 3,
    mapInputStream: 'json',
    archive: true,
    partitions: 3,
    timeDelta: { seconds: 1 },
    fieldTransforms: { region: upper },
    partsPreprocess: [note],
    keysets: {
      by_region: defineKeyset({ keyParts: ['region'], valueParts: ['count', 'amount'], columnMappings: { amount: 'revenue' }, partsPostprocess: [busy] }),
      by_product: defineKeyset({ keyParts: ['product', 'region'], valueParts: ['count', 'big'], partsPreprocess: [bigSale], partsPostprocess: [tagged] }),
    },
  }),
]
`

const TRANSFORMS = `// Field transforms and a keyset pre-processor, imported relatively by sales.js.
export const upper = (v) => String(v).trim().toUpperCase()
export function bigSale(parts) {
  parts.big = Number(parts.amount) >= 60 ? 1 : 0
  return parts
}
`

/** Writes the example rules and the sales rule into `<dir>/rules`; returns that directory. */
export function writeRules(dir: string): string {
  const rules = join(dir, 'rules')
  const w = spawnSync(process.execPath, [INFERNO, '--example-rules', rules], { encoding: 'utf8' })
  assert.equal(w.status, 0, w.stderr)
  mkdirSync(join(rules, 'lib'), { recursive: true })
  writeFileSync(join(rules, 'sales.js'), SALES)
  writeFileSync(join(rules, 'lib', 'transforms.js'), TRANSFORMS)
  return rules
}

/** Sales lines of one blob (deterministic; a few bad lines and skipped records). */
export function salesLines(day: string, blob: number, n = 400): string[] {
  const regions = ['eu', ' us', 'apac ', 'Latam']
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    if (i % 97 === 13) { out.push('{"not json'); continue }
    const amount = ((i * 37 + blob * 11) % 100) + (i % 4) * 0.25
    out.push(JSON.stringify({ day, region: regions[(i + blob) % 4], product: `p${(i * 7 + blob) % 9}`, amount, ...(i % 50 === 0 ? { skip: true } : {}) }))
  }
  return out
}

/** Pushes `blobs` sales blobs for each of `days` under `incoming:sales:<day>` into a store. */
export function pushSales(b: Bench, store: string, days: string[], blobs = 2): void {
  for (const day of days) {
    const files: string[] = []
    for (let k = 0; k < blobs; k++) {
      const f = join(b.dir, `sales-${day}-${k}.json`)
      writeFileSync(f, salesLines(day, k).join('\n') + '\n')
      files.push(f)
    }
    ok(b.cli(DDFS, ['--store', store, 'push', `incoming:sales:${day}`, ...files]))
  }
}

/** Loads the example rules' data (names, election) into a store. */
export function pushExamples(b: Bench, store: string, rules: string): void {
  ok(b.cli(DDFS, ['--store', store, 'chunk', 'example:chunk:users', join(rules, 'names.json')]))
  ok(b.cli(DDFS, ['--store', store, 'chunk', 'example:csv:users', join(rules, 'names.csv')]))
  ok(b.cli(DDFS, ['--store', store, 'chunk', 'gov:chunk:presidential_campaign_finance:2012-03-19', join(rules, 'election.csv')]))
}

/** Runs `inferno --store <store> -y <rules> …` to the end. */
export function inferno(b: Bench, store: string, rules: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  return b.cli(INFERNO, ['--store', store, '-y', rules, ...args], env)
}

/** Starts `inferno …` in the background; resolves with its output when it exits (bounded by the caller). */
export function infernoAsync(b: Bench, store: string, rules: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, [INFERNO, '--store', store, '-y', rules, ...args], {
    env: { ...process.env, DISCO_STORE: '', DISCO_PACK_CACHE: join(b.dir, 'packs'), ...env }, cwd: b.dir, stdio: ['ignore', 'pipe', 'pipe'],
  })
  b.children.add(child)
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  return new Promise((res) => child.once('exit', (code) => { b.children.delete(child); res({ code, out, err }) }))
}
