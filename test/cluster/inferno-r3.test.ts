// Inferno rules on a 3-server JetStream cluster (R3) with 3 `disco worker` processes: the example
// rules (IN-02 pre-processors, IN-04 two keysets, IN-06 field transforms over a date-suffixed tag,
// IN-07 chained rules) and a `sales` rule (date-suffixed source tags, transforms, pre- and
// post-processors, archiving, a relative import) give byte-identical CSV to the embedded run; their
// map and reduce run on the workers (from the job pack); kill -9 of a worker mid-map changes
// nothing; a bare import a worker lacks is DISCO_PACKAGE_MISSING naming the package.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startNatsCluster, type NatsCluster } from './servers.js'
import { Bench, DDFS, ok, stopWorker, type WorkerProcess } from './workers.js'
import { EXAMPLE_RULES_DIR } from '#src/inferno/examples/write.js'
import { PIDS_ENV, inferno, infernoAsync, pushExamples, pushSales, writeRules } from './inferno-fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'cluster-inferno-r3-'))
const b = new Bench(dir)
const embedded = join(dir, 'embedded')
const pids = join(dir, 'pids.txt')
let cluster: NatsCluster | undefined
let rules = ''
let workers: WorkerProcess[] = []

const WINDOW = ['-S', '2026-11-20', '-R', '3']
const DAYS = ['2026-11-18', '2026-11-19', '2026-11-20']

before(async () => {
  cluster = await startNatsCluster(3)
  rules = writeRules(dir)
  for (const store of [embedded, cluster.url]) {
    pushExamples(b, store, rules)
    pushSales(b, store, [...DAYS, '2026-11-10'])
  }
  workers = await Promise.all([0, 1, 2].map(() => b.worker(cluster!.url, ['--ack-wait', '3'], { [PIDS_ENV]: pids })))
})

after(async () => {
  for (const w of workers) if (w.exitCode === null) await stopWorker(w)
  b.killAll()
  await cluster?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs the same command line on the embedded store and on the cluster; both must succeed. */
function both(args: string[], dir = rules): { embedded: string; cluster: string; err: string } {
  const e = inferno(b, embedded, dir, args)
  assert.equal(e.code, 0, `embedded: ${e.err}`)
  const c = inferno(b, cluster!.url, dir, args, { [PIDS_ENV]: pids })
  assert.equal(c.code, 0, `cluster: ${c.err}`)
  return { embedded: e.out, cluster: c.out, err: c.err }
}

test('example rules on the cluster: byte-identical CSV to the embedded run', () => {
  for (const rule of ['names.last_names_json', 'names.first_and_last_names', 'names.last_names_csv', 'election.presidential_2012']) {
    const r = both(['-i', rule])
    assert.ok(r.cluster.length > 0, rule)
    assert.equal(r.cluster, r.embedded, rule)
  }
  // IN-07: the sub-rule's results (saved in the cluster's object store) feed the parent's job.
  const e = join(dir, 'chain-embedded.txt')
  const c = join(dir, 'chain-cluster.txt')
  ok(inferno(b, embedded, rules, ['-i', 'chain.count_names', '-P', `chain_output: ${e}`]))
  ok(inferno(b, cluster!.url, rules, ['-i', 'chain.count_names', '-P', `chain_output: ${c}`]))
  assert.equal(readFileSync(c, 'utf8'), readFileSync(e, 'utf8'))
})

test('built-in rules (the example modules inside the package) run on the workers as the package\'s own code', () => {
  const r = both(['-i', 'names.first_and_last_names'], EXAMPLE_RULES_DIR)
  assert.ok(r.cluster.length > 0)
  assert.equal(r.cluster, r.embedded)
})

test('a rule module with a relative import runs on the workers from its job pack; archiving gives the same tags', () => {
  rmSync(pids, { force: true })
  const r = both(['-i', 'sales.sales', ...WINDOW])
  assert.equal(r.cluster, r.embedded)
  assert.match(r.cluster, /^product,region,count,big\r\n/)
  assert.match(r.cluster, /\r\nregion,count,revenue\r\n/)
  assert.match(r.err, /sales\.sales done .*: 6 blob\(s\)/)
  // The map ran in the worker processes, importing the rule from their pack cache, not its file.
  const workerPids = new Set(workers.map((w) => String(w.pid)))
  const seen = readFileSync(pids, 'utf8').trim().split('\n').map((l) => l.split(' '))
  assert.ok(seen.length > 0)
  for (const [pid, url] of seen) {
    assert.ok(workerPids.has(pid!), `the rule ran in process ${pid}, not a worker (${[...workerPids].join(', ')})`)
    assert.ok(url!.startsWith(pathToFileURL(join(dir, 'packs')).href), url)
  }
  // Archived: the same archive tags in both stores, and nothing left to run in the window.
  const archives = (store: string) => ok(b.cli(DDFS, ['--store', store, 'ls', 'processed:'])).split('\n').filter(Boolean).sort()
  assert.deepEqual(archives(cluster!.url), archives(embedded))
  assert.equal(archives(embedded).length, 3)
  const again = inferno(b, cluster!.url, rules, ['-i', 'sales.sales', ...WINDOW])
  assert.equal(again.code, 1)
  assert.match(again.err, /sales\.sales skipped: not enough blobs/)
})

test('kill -9 of a worker mid-map of an Inferno rule: identical results', async () => {
  const days = ['2026-10-18', '2026-10-19', '2026-10-20']
  for (const store of [embedded, cluster!.url]) pushSales(b, store, days, 3)
  const want = inferno(b, embedded, rules, ['-i', 'sales.sales', '-S', '2026-10-20', '-R', '3'])
  assert.equal(want.code, 0, want.err)
  // Only the doomed worker runs first: it takes map tasks and dies (SIGKILL) as it starts map:0.
  for (const w of workers) await stopWorker(w)
  const doomed = await b.worker(cluster!.url, ['--ack-wait', '3', '--concurrency', '2'], { DISCO_WORKER_DIE_AT: 'map:0' })
  const run = infernoAsync(b, cluster!.url, rules, ['-i', 'sales.sales', '-S', '2026-10-20', '-R', '3'])
  assert.equal((await doomed.exited).signal, 'SIGKILL')
  workers = await Promise.all([0, 1, 2].map(() => b.worker(cluster!.url, ['--ack-wait', '3'])))
  const got = await run
  assert.equal(got.code, 0, got.err)
  assert.equal(got.out, want.out)
  assert.match(got.err, /sales\.sales done .*: 9 blob\(s\)/)
})

test('a bare import a worker cannot resolve: DISCO_PACKAGE_MISSING naming the package, no hang', () => {
  // The package resolves next to the rules (on the coordinator), not in a worker's pack cache.
  const rulesWithDep = join(dir, 'rules-dep')
  mkdirSync(join(rulesWithDep, 'node_modules', 'tiny-upper'), { recursive: true })
  writeFileSync(join(rulesWithDep, 'node_modules', 'tiny-upper', 'package.json'), JSON.stringify({ name: 'tiny-upper', type: 'module', main: 'index.js' }))
  writeFileSync(join(rulesWithDep, 'node_modules', 'tiny-upper', 'index.js'), 'export const up = (s) => String(s).toUpperCase()\n')
  const names = readFileSync(join(rules, 'names.js'), 'utf8')
    .replace("from 'disco-inferno/rules'", `from ${JSON.stringify(pathToFileURL(join(rules, 'node_modules', 'disco-inferno', 'dist', 'inferno', 'rules', 'authoring.js')).href)}`)
  writeFileSync(join(rulesWithDep, 'dep.js'), `import { up } from 'tiny-upper'\nexport const shout = up\n${names}`)
  const r = inferno(b, cluster!.url, rulesWithDep, ['-i', 'dep.last_names_json'])
  assert.equal(r.code, 1, r.err)
  assert.match(r.err, /^inferno: error INFERNO_JOB_FAILED: .*DISCO_PACKAGE_MISSING: .*npm package tiny-upper is not installed where disco worker \S+ runs/m)
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace')
})
