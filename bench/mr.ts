// Disco map/reduce benchmark: per-user count and sum(amount) over generated NDJSON events, run by
// the embedded engine (worker pool, combiner, 16 partitions), next to DuckDB read_ndjson GROUP BY,
// jq (slurp `group_by` on a sample, see childJq) and a plain Node loop (readline + JSON.parse + Map). Each tool
// runs in its own child process under /usr/bin/time, so peak RSS is the tool's own; every tool's
// result is digested and compared with Disco's.
//
//   node build/bench/mr.js                  # 64 MB (well under a minute)
//   node build/bench/mr.js --size 1GB       # headline figure
//   node build/bench/mr.js --size 10GB --no-jq
//   node build/bench/mr.js --json           # one JSON object per figure
//   node build/bench/mr.js --repeat 3       # tools back to back 3 times in turn; medians, ratio vs DuckDB
//   node build/bench/mr.js --form bytes     # Disco's map in bytes form (byte scanner) instead of JSON.parse per line
//   node build/bench/mr.js --form both      # both forms, side by side
//
// DuckDB (@duckdb/node-api, pinned; its native part comes from the npm registry) is installed by
// this script into bench/data/peers on first use; jq from Debian (`apt-get install -y jq` is tried
// when missing). A tool that cannot be installed is skipped with a note.
import { mulberry32 } from '#src/util/random.js'
import { ensureDuckdb, runTimedChild } from './peers.js'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { runJob, WorkerPoolExecutor } from 'disco-inferno'
import { benchArgs } from './args.js'

const HERE = fileURLToPath(import.meta.url)
const JOB = fileURLToPath(new URL('./mr-job.js', import.meta.url))
const DATA = fileURLToPath(new URL('../../bench/data/', import.meta.url))
const FILE_BYTES = 64 * 1024 * 1024
const USERS = 100_000

const { values: opt } = benchArgs(import.meta.url, {
  options: {
    size: { type: 'string', default: '64MB' },
    seed: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '16' },
    form: { type: 'string', default: 'record' },
    json: { type: 'boolean', default: false },
    'no-duckdb': { type: 'boolean', default: false },
    'no-jq': { type: 'boolean', default: false },
    'no-node': { type: 'boolean', default: false },
    'jq-lines': { type: 'string', default: '200000' },
    repeat: { type: 'string', default: '1' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
})

/** What every child prints: records, ms of the work, a digest of its sorted (user, n, sum) rows. */
interface ChildResult { records: number; groups: number; ms: number; digest: string }

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(kb|mb|gb)?$/i.exec(s.trim())
  if (!m) throw new Error(`--size: expected e.g. 64MB, 1GB, 10GB; found ${s}`)
  return Math.round(Number(m[1]) * { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'mb').toLowerCase() as 'mb'])
}

/** Digest of rows `user,n,sum` sorted by user (JS order), so all tools can be compared. */
function digest(rows: [string, number, number][]): { groups: number; records: number; digest: string } {
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const h = createHash('sha1')
  let records = 0
  for (const [u, n, s] of rows) {
    h.update(`${u},${n},${s}\n`)
    records += n
  }
  return { groups: rows.length, records, digest: h.digest('hex').slice(0, 12) }
}

const files = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort().map((f) => join(dir, f))

// ------------------------------------------------------------------------------------ children

async function childDisco(dir: string, form: 'record' | 'bytes' = 'record'): Promise<ChildResult> {
  const store = join(dir, 'store')
  rmSync(store, { recursive: true, force: true })
  const executor = new WorkerPoolExecutor()
  const t0 = performance.now()
  const job = await runJob({
    prefix: 'bench', inputs: files(dir), partitions: Number(opt.partitions),
    ...(form === 'bytes' ? { map: { module: JOB, export: 'mapBytes' }, mapForm: 'bytes' as const } : { map: { module: JOB, export: 'map' } }),
    combiner: { module: JOB, export: 'combine' }, reduce: { module: JOB, export: 'reduce' },
  }, { store, executor })
  await job.wait()
  const rows: [string, number, number][] = []
  for await (const batch of job.resultBatches()) for (const [k, v] of batch) rows.push([k, (v as number[])[0]!, (v as number[])[1]!])
  const ms = performance.now() - t0
  await executor.close()
  rmSync(store, { recursive: true, force: true })
  return { ...digest(rows), ms }
}

async function childDuckdb(dir: string): Promise<ChildResult> {
  const req = createRequire(join(DATA, 'peers', 'x.js'))
  const { DuckDBInstance } = (await import(pathToFileURL(req.resolve('@duckdb/node-api')).href)) as { DuckDBInstance: any }
  const db = await DuckDBInstance.create(':memory:')
  const con = await db.connect()
  const t0 = performance.now()
  const sql = `SELECT "user", count(*) AS n, sum(amount) AS s
    FROM read_ndjson('${join(dir, '*.ndjson')}', columns = {"user": 'VARCHAR', amount: 'BIGINT'}) GROUP BY "user"`
  const got = (await con.runAndReadAll(sql)).getRows() as [string, bigint, bigint][]
  const ms = performance.now() - t0
  return { ...digest(got.map(([u, n, s]) => [u, Number(n), Number(s)])), ms }
}

/**
 * jq 1.6's streaming `reduce inputs` rebuilds its 100k-key object per record (quadratic: 50k
 * lines did not finish in 200 s here), so jq runs the slurp form `group_by` on the first
 * `--jq-lines` lines only; its figure is rate and RSS on that sample, not compared with Disco.
 */
function childJq(dir: string): ChildResult {
  const prog = 'group_by(.user)[] | [.[0].user, length, (map(.amount) | add)]'
  const cmd = `cat ${files(dir).map((f) => `'${f}'`).join(' ')} | head -n ${Number(opt['jq-lines'])} | jq -s -c '${prog}'`
  const t0 = performance.now()
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 30 })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`jq failed: ${r.stderr}`)
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as [string, number, number])
  return { ...digest(rows), ms }
}

async function childNode(dir: string): Promise<ChildResult> {
  const t0 = performance.now()
  const m = new Map<string, [number, number]>()
  for (const f of files(dir)) {
    for await (const line of createInterface({ input: createReadStream(f, { highWaterMark: 1 << 20 }), crlfDelay: Infinity })) {
      const e = JSON.parse(line) as { user: string; amount: number }
      const a = m.get(e.user)
      if (a) { a[0]++; a[1] += e.amount } else m.set(e.user, [1, e.amount])
    }
  }
  const rows = [...m].map(([u, [n, s]]) => [u, n, s] as [string, number, number])
  return { ...digest(rows), ms: performance.now() - t0 }
}

// ------------------------------------------------------------------------------------ parent

/** mulberry32 */
const rng = mulberry32

const EVENTS = ['view', 'click', 'signup', 'purchase', 'share']

/** Writes NDJSON events in 64 MB files once per (size, seed). */
function ensureData(size: number, seed: number): { dir: string; bytes: number; lines: number } {
  const dir = join(DATA, 'mr', `events-${Math.round(size / 1048576)}mb-s${seed}`)
  const marker = join(dir, 'done.json')
  if (existsSync(marker)) return { dir, ...(JSON.parse(readFileSync(marker, 'utf8')) as { bytes: number; lines: number }) }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const r = rng(seed)
  let bytes = 0
  let lines = 0
  let ts = 1_763_596_800_000
  for (let part = 0; bytes < size; part++) {
    const fd = openSync(join(dir, `part-${String(part).padStart(4, '0')}.ndjson`), 'w')
    let inFile = 0
    let buf: string[] = []
    let bufLen = 0
    while (inFile < FILE_BYTES && bytes + inFile < size) {
      ts += Math.floor(r() * 50)
      const user = `u${Math.floor(r() ** 2 * USERS)}`
      const line = `{"ts":${ts},"user":"${user}","event":"${EVENTS[Math.floor(r() * EVENTS.length)]}","amount":${Math.floor(r() * 1000)},"page":"/p/${Math.floor(r() * 5000)}"}\n`
      buf.push(line)
      bufLen += line.length
      inFile += line.length
      lines++
      if (bufLen > 1 << 20) { writeSync(fd, buf.join('')); buf = []; bufLen = 0 }
    }
    writeSync(fd, buf.join(''))
    closeSync(fd)
    bytes += inFile
  }
  writeFileSync(marker, JSON.stringify({ bytes, lines }))
  return { dir, bytes, lines }
}


function ensureJq(): boolean {
  if (spawnSync('jq', ['--version']).status === 0) return true
  process.stderr.write('bench: installing jq with apt-get …\n')
  spawnSync('apt-get', ['install', '-y', 'jq'], { stdio: 'ignore' })
  const ok = spawnSync('jq', ['--version']).status === 0
  if (!ok) process.stderr.write('bench: jq skipped, not installable\n')
  return ok
}

function runChild(kind: string, dir: string): ChildResult & { peakRssMB: number | null; cpuMs: number | null } {
  return runTimedChild<ChildResult>(kind, [HERE, '--child', kind, '--dir', dir, '--partitions', opt.partitions!, '--jq-lines', opt['jq-lines']!])
}

async function main(): Promise<void> {
  if (opt.child) {
    const run = { disco: childDisco, 'disco-bytes': (d: string) => childDisco(d, 'bytes'), duckdb: childDuckdb, jq: childJq, node: childNode }[opt.child as 'disco']
    process.stdout.write(JSON.stringify(await run(opt.dir!)))
    return
  }
  const data = ensureData(parseSize(opt.size!), Number(opt.seed))
  const tools: [string, string][] = []
  const pool = `${cpus().length} threads, combiner, ${opt.partitions} partitions`
  if (opt.form !== 'bytes') tools.push(['disco', `disco worker pool (${pool})`])
  if (opt.form === 'bytes' || opt.form === 'both') tools.push(['disco-bytes', `disco worker pool, bytes-form map (${pool})`])
  if (!opt['no-node']) tools.push(['node', 'node readline+JSON.parse+Map'])
  if (!opt['no-duckdb'] && ensureDuckdb(DATA)) tools.push(['duckdb', 'duckdb read_ndjson GROUP BY'])
  if (!opt['no-jq'] && ensureJq()) tools.push(['jq', `jq -s group_by (first ${opt['jq-lines']} lines only)`])
  const runs = new Map<string, (ChildResult & { peakRssMB: number | null; cpuMs: number | null })[]>()
  for (let i = 0; i < Math.max(1, Number(opt.repeat)); i++) {
    for (const [kind] of tools) runs.set(kind, [...(runs.get(kind) ?? []), runChild(kind, data.dir)])
  }
  const median = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b)
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2
  }
  const duck = runs.get('duckdb')
  const duckMs = duck ? median(duck.map((x) => x.ms)) : undefined
  const duckCpu = duck && duck.every((x) => x.cpuMs !== null) ? median(duck.map((x) => x.cpuMs!)) : undefined
  let reference: string | undefined
  for (const [kind, label] of tools) {
    const rs = runs.get(kind)!
    const r = {
      ...rs[0]!, ms: median(rs.map((x) => x.ms)), peakRssMB: rs.every((x) => x.peakRssMB !== null) ? median(rs.map((x) => x.peakRssMB!)) : null,
      cpuMs: rs.every((x) => x.cpuMs !== null) ? median(rs.map((x) => x.cpuMs!)) : null,
    }
    reference ??= r.digest
    const sample = kind === 'jq'
    const fig = {
      name: `mr ${label}`, n: r.records, ms: Math.round(r.ms), opsPerSec: Math.round((r.records * 1000) / r.ms),
      mbPerSec: sample ? null : Number(((data.bytes / 1048576) / (r.ms / 1000)).toFixed(1)),
      peakRssMB: r.peakRssMB === null ? null : Math.round(r.peakRssMB), inputMB: sample ? null : Math.round(data.bytes / 1048576),
      groups: r.groups, agreesWithDisco: sample ? null : rs.every((x) => x.digest === reference),
      runs: rs.length, msEach: rs.map((x) => Math.round(x.ms)),
      vsDuckdb: sample || duckMs === undefined ? null : Number((duckMs / r.ms).toFixed(2)),
      // CPU seconds of the whole child (start-up included): the fair figure on a loaded machine
      cpuMs: r.cpuMs === null ? null : Math.round(r.cpuMs),
      vsDuckdbCpu: sample || duckCpu === undefined || r.cpuMs === null ? null : Number((duckCpu / r.cpuMs).toFixed(2)),
      load: Number(loadavg()[0]!.toFixed(1)),
    }
    if (opt.json) process.stdout.write(JSON.stringify(fig) + '\n')
    else process.stdout.write(`${label}: ${fig.n.toLocaleString('en-US')} records${sample ? '' : ` of ${fig.inputMB} MB`} in ${(fig.ms / 1000).toFixed(1)}s = ${fig.opsPerSec.toLocaleString('en-US')} records/s (${sample ? 'sample' : `${fig.mbPerSec} MB/s`}), peak RSS ${fig.peakRssMB ?? '?'} MB, ${fig.groups} groups${fig.vsDuckdb === null ? '' : `, ${fig.vsDuckdb}x DuckDB`}${fig.cpuMs === null ? '' : `; CPU ${(fig.cpuMs / 1000).toFixed(1)}s${fig.vsDuckdbCpu === null ? '' : ` = ${fig.vsDuckdbCpu}x DuckDB's`}`} (load ${fig.load})${fig.agreesWithDisco === false ? ' — RESULTS DIFFER' : ''}\n`)
  }
}

await main()
