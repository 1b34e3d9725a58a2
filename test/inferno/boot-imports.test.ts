// What the threads of an `inferno -i` run load: a pool thread before its first map record
// (worker.ts, the embedded store factory, the job functions, the rule module) and the command's
// main thread. A loader hook records every module a thread loads; modules it never needs (DDFS
// writing and archives, the job runner in a pool thread, the map code in the main thread, the
// cluster's transport, the daemon, packages) must not be among them: each is compile time paid
// before the map starts, and the two pool threads and the main thread share the cores then.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import { LOCAL_STORE_FACTORY, openStore } from 'disco-inferno'
import { DISCO_JOB_FUNCTIONS } from '#src/inferno/keyset/job-modules.js'

const DIST = new URL('./', import.meta.resolve('#src/index.js')).href

/** Records each module URL the thread loads (after this hook is registered) on `data.port`; `data:` URLs end a list. */
const HOOKS = `let port
export function initialize(data) { port = data.port }
export async function load(url, context, next) { port.postMessage(url); return next(url, context) }`

/**
 * Starts a worker thread (with the pool's workerData) that registers HOOKS, then imports
 * disco/worker.js, the store factory (and opens `storeDir` with it) and `modules` in turn, as a
 * pool thread does up to its first map record; resolves with the `file:` URLs it loaded, in order.
 */
async function threadImports(storeDir: string, modules: readonly string[]): Promise<string[]> {
  const { port1, port2 } = new MessageChannel()
  const code = `import { register } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'
register('data:text/javascript,' + encodeURIComponent(workerData.hooks), { data: { port: workerData.port }, transferList: [workerData.port] })
await import(workerData.worker)
const factory = await import(workerData.stores.module)
await factory[workerData.stores.export](workerData.storeDir)
for (const m of workerData.modules) await import(m)
await import('data:text/javascript,export default 0') // the end of the list
parentPort.postMessage('imported')`
  const urls: string[] = []
  const ended = new Promise<void>((resolve) => port1.on('message', (url: string) => {
    if (url.startsWith('data:')) resolve()
    else urls.push(url)
  }))
  const w = new Worker(code, {
    eval: true,
    workerData: { hooks: HOOKS, port: port2, worker: `${DIST}disco/worker.js`, stores: LOCAL_STORE_FACTORY, storeDir, modules },
    transferList: [port2],
  })
  try {
    const failed = new Promise<never>((_, reject) => {
      w.once('error', reject)
      w.once('exit', (code) => reject(new Error(`the thread exited (code ${code}) before it imported everything`)))
    })
    await Promise.race([ended, failed])
    return urls.filter((u) => u.startsWith('file:'))
  } finally {
    port1.close()
    await w.terminate()
  }
}

test('a pool thread loads no module an Inferno map task does not need before its first map record', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pool-imports-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const rule = join(dir, 'clicks.mjs')
  writeFileSync(rule, [
    `import { defineRule, defineKeyset } from ${JSON.stringify(`${DIST}inferno/rules/authoring.js`)}`,
    "export const clicks = defineRule({ name: 'clicks', sourceTags: ['incoming:clicks'], keysets: { byUrl: defineKeyset({ keyParts: ['url'], valueParts: ['n'] }) } })",
    '',
  ].join('\n'))
  const loaded = await threadImports(join(dir, 'store'), [DISCO_JOB_FUNCTIONS, rule])
  const ours = loaded.filter((u) => u.startsWith(DIST)).map((u) => u.slice(DIST.length))
  // What the thread must load (else the hook saw nothing and the test proves nothing).
  for (const needed of ['disco/worker.js', 'disco/task.js', 'disco/stores.js', 'ddfs/local.js', 'inferno/keyset/disco-job-functions.js', 'inferno/keyset/blob-tasks.js']) {
    assert.ok(ours.includes(needed), `expected the thread to load ${needed}, loaded: ${ours.join(' ')}`)
  }
  assert.ok(loaded.includes(pathToFileURL(rule).href), 'the rule module')
  const unneeded = [
    /^index\.js$/, /^ddfs\/(index|chunk|tar)\.js$/, /^disco\/(index|job|plan|keyed-sums)\.js$/, /^inferno\/(index|api|runner)\.js$/,
    /^inferno\/(daemon|notify)\//, /^inferno\/results\/(processors|saved)\.js$/, /^(cluster|analytics|server|cli)\//,
  ]
  assert.deepEqual(ours.filter((m) => unneeded.some((re) => re.test(m))), [])
  assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/')), [], 'no package (commander, esbuild, NATS, …)')
})

test('a thread that imports the job functions compiles the block scanner\'s WebAssembly before its first map task', { timeout: 120_000 }, async () => {
  // WebAssembly.Module counted (util/wasm-asm.ts takes the global's API when it loads).
  const code = `import { parentPort, workerData } from 'node:worker_threads'
let compiled = 0
const Counting = class extends WebAssembly.Module { constructor(bytes) { super(bytes); compiled++ } }
globalThis.WebAssembly = Object.create(WebAssembly, { Module: { value: Counting } })
await import(workerData.jobFunctions)
const before = compiled
await new Promise((resolve) => setImmediate(resolve)) // after what the module scheduled when it loaded
parentPort.postMessage({ before, after: compiled })`
  const w = new Worker(code, { eval: true, workerData: { jobFunctions: pathToFileURL(DISCO_JOB_FUNCTIONS).href } })
  try {
    const counts = await new Promise<{ before: number; after: number }>((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
      w.once('exit', (code) => reject(new Error(`the thread exited (code ${code})`)))
    })
    assert.deepEqual(counts, { before: 0, after: 1 }, 'compiled once, in the turn after the import (not while it loads)')
  } finally {
    await w.terminate()
  }
})

test('inferno -i: the main thread loads neither the map code nor DDFS writing, the daemon or the cluster transport', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'boot-imports-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const bin = fileURLToPath(new URL('cli/inferno-bin.js', DIST))
  const rules = join(dir, 'rules')
  const made = spawnSync(process.execPath, [bin, '--example-rules', rules], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(made.status, 0, made.stderr)
  await openStore(join(dir, 'store')).chunk('example:chunk:users', [join(rules, 'names.json')])
  // Registered by --import in every thread; the main thread's hooks append what it loads to `list`.
  const list = join(dir, 'loaded.txt')
  const hooks = `import { appendFileSync } from 'node:fs'
let list
export function initialize(data) { list = data.list }
export async function load(url, context, next) { if (list) appendFileSync(list, url + '\\n'); return next(url, context) }`
  writeFileSync(join(dir, 'hooks.mjs'), hooks)
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'
import { isMainThread } from 'node:worker_threads'
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { list: isMainThread ? ${JSON.stringify(list)} : undefined } })`)
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, bin, '--store', join(dir, 'store'), '-y', rules, '-i', 'names.last_names_json'], {
    encoding: 'utf8', env: { ...process.env, HOME: dir, XDG_STATE_HOME: join(dir, 'state') }, timeout: 120_000,
  })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^last,count\r\n/)
  const loaded = readFileSync(list, 'utf8').split('\n').filter((u) => u.startsWith('file:'))
  const ours = loaded.filter((u) => u.startsWith(DIST)).map((u) => u.slice(DIST.length))
  for (const needed of ['cli/inferno.js', 'inferno/runner.js', 'disco/job.js', 'ddfs/ddfs.js']) {
    assert.ok(ours.includes(needed), `expected the main thread to load ${needed}, loaded: ${ours.join(' ')}`)
  }
  const unneeded = [
    /^index\.js$/, /^ddfs\/(index|chunk|tar)\.js$/, /^disco\/(task|worker|runs|keyed-sums)\.js$/,
    /^inferno\/keyset\/(disco-job-functions|blob-tasks)\.js$/, /^inferno\/reading\/readers\.js$/, /^util\/json-(block|fields)\.js$/,
    /^inferno\/(daemon|notify)\//, /^cluster\/(connect|executor|kv-[a-z]+|obj-blobs|s3-blobs)\.js$/, /^(analytics|server)\//,
  ]
  assert.deepEqual(ours.filter((m) => unneeded.some((re) => re.test(m))), [])
  assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/') && !u.includes('/node_modules/commander/')), [], 'no package but the option parser')
})
