// Writers above DDFS that store blobs first and tag them later go through Ddfs.beginWrite, so a
// GC with no grace between the two steps loses nothing; a tool whose stdout reader exits early
// ends with one coded line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  Ddfs, LocalBlobStore, LocalTagStore, PENDING_PREFIX, ddfsStore, discoEngine, findRules, openLocalStores, runRule,
  type GcReport, type TagStore,
} from 'disco-inferno'
import { D1_JSON } from '../inferno/helpers.js'
import { tempDir } from './helpers.js'

const RULES = join(dirname(fileURLToPath(import.meta.url)), '..', 'inferno', 'fixtures', 'rules')

/** The tag store, with `hook` run once just before the first write of a tag `match` accepts. */
function beforeFirstWrite(inner: TagStore, match: (name: string) => boolean, hook: () => Promise<void>): TagStore {
  let fired = false
  return {
    read: (name) => inner.read(name),
    list: (prefix) => inner.list(prefix),
    purge: (name, expected) => inner.purge(name, expected),
    async write(name, record, expected) {
      if (!fired && match(name)) {
        fired = true
        await hook()
      }
      return inner.write(name, record, expected)
    },
  }
}

test('GC with no grace between an Inferno run writing its result blob and tagging it: the results are complete', async (t) => {
  const dir = tempDir(t, 'inferno-gc')
  const tags = new LocalTagStore(dir)
  const blobs = new LocalBlobStore(dir)
  const plain = new Ddfs({ tags, blobs, dir })
  const setup = ddfsStore(plain)
  await setup.append('example:chunk:users', [await setup.putLines('users-0', D1_JSON)])
  const reports: GcReport[] = []
  const hooked = new Ddfs({
    tags: beforeFirstWrite(tags, (n) => n.startsWith('disco:results:'), async () => {
      // The result blob is stored (the only pending write), its tag not yet written.
      assert.equal((await tags.list(PENDING_PREFIX)).length, 1)
      reports.push(await plain.gc({ graceMs: 0, partialGraceMs: 0 }))
    }),
    blobs,
    dir,
  })
  const [rule] = await findRules(RULES, 'names.first_and_last')
  let out = ''
  const stores = { ...openLocalStores(dir), ddfs: hooked } // the Disco job runs on the hooked DDFS
  const res = await runRule(rule!, { store: ddfsStore(hooked, stores), engine: discoEngine({ executor: 'in-process' }), out: (s) => { out += s } })
  assert.equal(res.status, 'done', res.reason)
  assert.equal(reports.length, 1, 'the hook ran')
  assert.deepEqual(reports[0]!.blobsDeleted, [])
  assert.equal(reports[0]!.blobsPending, 1, 'GC saw the result blob as an in-flight write')
  // Every saved result is readable under the result tag: 10 first names (Homer dropped) + 4 last names.
  const saved: unknown[] = []
  for (const b of await plain.blobs(res.resultTag!)) for await (const l of plain.readLines(b)) saved.push(JSON.parse(l))
  assert.equal(saved.length, 14)
  assert.match(out, /^first,count/)
  assert.deepEqual(await tags.list(PENDING_PREFIX), [])
})

/** Runs `tool args` with stdout into `head -c 1`, which exits after one byte; returns the tool's status and stderr. */
function intoEarlyExitingReader(t: { after: (fn: () => void) => void }, tool: string, args: string[]): { status: number; stderr: string } {
  const dir = tempDir(t, 'epipe')
  const err = join(dir, 'stderr')
  const script = '"$@" 2>"$ERR" | head -c 1 >/dev/null; exit "${PIPESTATUS[0]}"'
  const r = spawnSync('bash', ['-c', script, 'bash', process.execPath, tool, ...args], {
    env: { ...process.env, ERR: err }, encoding: 'utf8', timeout: 60_000,
  })
  assert.equal(r.error, undefined)
  return { status: r.status!, stderr: readFileSync(err, 'utf8') }
}

test('a closed stdout (the pipe reader exited early) is one IO_EPIPE line and exit status 1 (ddfs, ddb)', async (t) => {
  const dir = tempDir(t, 'epipe-data')
  const store = join(dir, 'store')
  // Outputs far larger than a pipe's buffer, so the tools are still writing when `head` exits.
  const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n') + '\n'
  const input = join(dir, 'big.txt')
  writeFileSync(input, lines)
  const ddfsBin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))
  const ddbBin = fileURLToPath(import.meta.resolve('#src/cli/ddb.js'))
  const pushed = spawnSync(process.execPath, [ddfsBin, '--store', store, 'push', 'big', input], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(pushed.status, 0, pushed.stderr)
  const tsv = join(dir, 'big.tsv')
  writeFileSync(tsv, Array.from({ length: 100_000 }, (_, i) => `key${i}\tvalue ${i} ${'y'.repeat(30)}`).join('\n') + '\n')
  const db = join(dir, 'big.ddb')
  const created = spawnSync(process.execPath, [ddbBin, 'create', db, tsv], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(created.status, 0, created.stderr)
  for (const [tool, bin, args] of [['ddfs', ddfsBin, ['--store', store, 'xcat', 'big']], ['ddb', ddbBin, ['items', db]]] as const) {
    const r = intoEarlyExitingReader(t, bin, [...args])
    assert.equal(r.status, 1, `${tool}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`^${tool}: error IO_EPIPE: [^\\n]+\\n$`))
  }
})
