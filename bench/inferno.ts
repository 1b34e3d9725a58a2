// Inferno log-rule benchmark: a rule with 3 keysets, a field transform, a pre-processor and a
// post-processor (bench/data/inferno/rules/bench.js, written by this script) over generated JSON
// click logs chunked into the embedded store with `ddfs chunk`'s defaults (and once more with
// `--compress none`), side by side with DuckDB read_ndjson + GROUP BY GROUPING SETS over the plain
// files (same semantics), jq (streaming `reduce inputs`) and a plain Node loop. The rule's pre-processor
// takes the UTC day with the library's `utcDay(ts)` (exactly `new Date(ts).toISOString().slice(0, 10)`,
// remembered per day), as a rule author would. Each tool runs in its
// own child process under /usr/bin/time, so peak RSS is the tool's own. Tools run back to back,
// `--repeat` times in turn; figures are medians, ratios are against DuckDB's median.
//
//   node build/bench/inferno.js                 # 50 MB (well under a minute)
//   node build/bench/inferno.js --size 300MB    # the headline figure
//   node build/bench/inferno.js --json          # one JSON object per figure
//   node build/bench/inferno.js --only inferno,inferno-plain,duckdb --repeat 5
//   (tools: inferno, inferno-plain, inferno-slow, node, duckdb, duckdb-exact, jq; ratios are against
//   `duckdb`, DuckDB's fast read_ndjson, and, when it runs, `duckdb-exact`, which has the same
//   per-line semantics (and records) as ours: vsDuckdbExact)
//   node build/bench/inferno.js --codecs gzip,gzip:1,none   # chunk codecs to store and run
//   node build/bench/inferno.js --codecs gzip:1@8MiB,gzip:1@32MiB # … and blob sizes (MiB of lines per blob)
//   node build/bench/inferno.js --slow          # also the full-parse path (CSV must be identical)
//   node build/bench/inferno.js --no-fixed      # without the 1 MB run (`inferno-1mb`: the fixed cost of a
//                                               # run: start-up, worker threads, job store, reduce, CSV)
//   node build/bench/inferno.js --cpu-prof DIR  # V8 CPU profiles of the inferno children (workers too)
//
// DuckDB (@duckdb/node-api, pinned) is installed by this script into bench/data/peers on first use;
// jq comes from the system (`apt-get install jq`); both are skipped with a note when unavailable.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { ensureDuckdb, hasJq, runTimedChild } from './peers.js'
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { daysEndingAt } from '#src/inferno/examples/clicks-data.js'
// Everything else is imported where it is used: an `inferno` child loads what the `inferno` CLI
// loads (its CPU time and RSS are the tool's own), not the data generator, the store writer or
// the package entry.
import { RULES } from './inferno-rule.js'
import { benchArgs } from './args.js'

const HERE = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DATA = join(ROOT, 'bench', 'data')
const LAST_DAY = '2026-11-20'

const { values: opt } = benchArgs(import.meta.url, {
  options: {
    size: { type: 'string', default: '50MB' },
    days: { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
    'no-duckdb': { type: 'boolean', default: false },
    'no-jq': { type: 'boolean', default: false },
    only: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    codecs: { type: 'string', default: 'default,none' },
    slow: { type: 'boolean', default: false },
    'no-fixed': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    rule: { type: 'string' },
    store: { type: 'string' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
})

/** What every child prints: records read, wall ms of the work, the by_day_event counts, the CSV's digest. */
interface ChildResult {
  records: number
  ms: number
  byDay: Record<string, number>
  csv?: string
}

const days = daysEndingAt(LAST_DAY, Number(opt.days))
const ndjson = (dir: string) => days.map((d) => join(dir, `events-${d}.ndjson`))

// ------------------------------------------------------------------------------------ children


async function childInferno(dir: string): Promise<ChildResult> {
  const { runImmediate } = await import('#src/cli/inferno.js')
  const { parseInfernoArgs, settingsFromOptions } = await import('#src/cli/inferno-args.js')
  const o = parseInfernoArgs(['-y', join(DATA, 'inferno', 'rules'), '--store', join(dir, opt.store!), '-i', `bench.${opt.rule}`, '-S', LAST_DAY,
    '-R', String(days.length), '--no-progress'])
  const { settings } = settingsFromOptions(o, {}, [])
  let out = ''
  let err = ''
  const t0 = performance.now()
  const status = await runImmediate(settings, o, { out: (t) => (out += t), err: (t) => (err += t), tty: false })
  const ms = performance.now() - t0
  if (status !== 0) throw new Error(`inferno failed: ${err}`)
  const records = Number(/, (\d+) records,/.exec(err)?.[1] ?? 0)
  const byDay: Record<string, number> = {}
  let inBlock = false
  for (const line of out.split('\r\n')) {
    if (line === 'day,event,events,revenue') inBlock = true
    else if (inBlock && /^\d{4}-/.test(line)) {
      const [d, e, n] = line.split(',')
      byDay[`${d}|${e}`] = Number(n)
    } else inBlock = false
  }
  return { records, ms, byDay, csv: createHash('sha256').update(out).digest('hex').slice(0, 16) }
}

/**
 * DuckDB over the plain files. `exact` reads lines as text and parses each one on its own, the
 * NDJSON semantics Inferno, Node and jq share. The default (the faster, the figure the ratios
 * use) is `read_ndjson`, whose parser takes a newline for whitespace: a line cut right after
 * `"key":` takes the next line as that key's value, so both lines are dropped as one bad record
 * (one record fewer than the others on the 300 MB data set; see `exact`).
 */
async function childDuckdb(dir: string, exact = false): Promise<ChildResult> {
  const req = createRequire(join(DATA, 'peers', 'x.js'))
  const { DuckDBInstance } = (await import(pathToFileURL(req.resolve('@duckdb/node-api')).href)) as typeof import('node:module') & { DuckDBInstance: any }
  const db = await DuckDBInstance.create(':memory:')
  const con = await db.connect()
  const files = ndjson(dir).map((f) => `'${f}'`).join(', ')
  const types: [string, string][] = [['ts', 'BIGINT'], ['event', 'VARCHAR'], ['country', 'VARCHAR'], ['device', 'VARCHAR'], ['referrer', 'VARCHAR'], ['amount', 'DOUBLE']]
  const source = exact
    ? `(SELECT unnest(CASE WHEN json_valid(line) THEN json_transform(line, '${JSON.stringify(Object.fromEntries(types))}') END)
        FROM read_csv([${files}], columns = {'line': 'VARCHAR'}, header = false, delim = '\\x01', quote = '', escape = '', auto_detect = false))`
    : `read_ndjson([${files}], ignore_errors = true, columns = {${types.map(([k, t]) => `${k}: '${t}'`).join(', ')}})`
  const t0 = performance.now()
  const sql = `
    WITH e AS (
      SELECT strftime(make_timestamp(ts * 1000), '%Y-%m-%d') AS day, event, lower(country) AS country, device, referrer, amount
      FROM ${source}
      WHERE ts IS NOT NULL)
    SELECT day, event, country, device, referrer, count(*) AS n,
           CASE WHEN GROUPING(day) = 0 THEN round(coalesce(sum(amount), 0), 2) ELSE sum(amount) END AS revenue,
           count(*) FILTER (WHERE event = 'purchase') AS purchases, count(*) FILTER (WHERE event = 'signup') AS signups
    FROM e GROUP BY GROUPING SETS ((day, event), (country, device), (referrer))`
  const rows = (await con.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[]
  const ms = performance.now() - t0
  const byDay: Record<string, number> = {}
  let records = 0
  for (const r of rows) {
    if (r.day !== null && r.event !== null) {
      byDay[`${r.day}|${r.event}`] = Number(r.n)
      records += Number(r.n)
    }
  }
  return { records, ms, byDay }
}

function childJq(dir: string): ChildResult {
  // Streaming form: raw lines, bad JSON skipped by `fromjson?`, three group maps in one pass.
  const prog = `reduce (inputs | fromjson? | select(type == "object" and (.ts|type) == "number")) as $e ({};
    .d[(($e.ts / 1000 | floor | todate)[0:10]) + "|" + $e.event] += 1
    | .c[$e.country + "|" + $e.device] += 1
    | .r[$e.referrer] += 1)`
  const t0 = performance.now()
  const r = spawnSync('jq', ['-c', '-n', '-R', prog, ...ndjson(dir)], { encoding: 'utf8', maxBuffer: 1 << 26 })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`jq failed: ${r.stderr}`)
  const byDay = (JSON.parse(r.stdout) as { d: Record<string, number> }).d
  return { records: Object.values(byDay).reduce((a, b) => a + b, 0), ms, byDay }
}

async function childNode(dir: string): Promise<ChildResult> {
  const t0 = performance.now()
  const d = new Map<string, number>()
  const c = new Map<string, number>()
  const r = new Map<string, number>()
  let records = 0
  for (const f of ndjson(dir)) {
    for await (const line of createInterface({ input: createReadStream(f), crlfDelay: Infinity })) {
      let e: { ts?: unknown; event: string; country: string; device: string; referrer: string }
      try {
        e = JSON.parse(line)
      } catch {
        continue
      }
      if (typeof e.ts !== 'number') continue
      records++
      const dk = `${new Date(e.ts).toISOString().slice(0, 10)}|${e.event}`
      d.set(dk, (d.get(dk) ?? 0) + 1)
      const ck = `${e.country}|${e.device}`
      c.set(ck, (c.get(ck) ?? 0) + 1)
      r.set(e.referrer, (r.get(e.referrer) ?? 0) + 1)
    }
  }
  return { records, ms: performance.now() - t0, byDay: Object.fromEntries(d) }
}

// ------------------------------------------------------------------------------------ parent

/** The store directory of a chunk codec (`default`: `ddfs chunk`'s defaults; `CODEC@SIZE`: blobs of SIZE of lines). */
const storeOf = (codec: string) => `store-${codec.replace(':', '').replace('@', '-')}`

/** The `ddfs chunk` options a codec spec stands for, as a label. */
function chunkLabel(codec: string): string {
  const [c, size] = codec.split('@') as [string, string | undefined]
  return [c === 'default' ? 'ddfs chunk defaults' : `--compress ${c}`, size === undefined ? '' : ` --input-size ${size}`].join('')
}

/** `ddfs chunk` options of a codec spec: `default`, `none`, `gzip[:LEVEL]`, each with an optional `@SIZE` of lines per blob (e.g. `gzip:1@8MiB`). */
async function chunkOptions(codec: string): Promise<{ compress?: 'gzip' | 'none'; level?: number; inputSize?: number }> {
  const { parseCompress } = await import('#src/ddfs/index.js')
  const { parseSize } = await import('#src/cli/common.js')
  const [c, size] = codec.split('@') as [string, string | undefined]
  return { ...(c === 'default' ? {} : parseCompress(c)), ...(size === undefined ? {} : { inputSize: parseSize(size, '--codecs', 'MiB') }) }
}

/** Generates the NDJSON files once per (size, days, seed), and a chunked store per codec. */
async function ensureData(size: number, seed: number, codecs: string[]): Promise<{ dir: string; lines: number; bytes: number }> {
  const { openStore } = await import('#src/ddfs/index.js')
  const { clickLogLines } = await import('#src/inferno/examples/clicks-data.js')
  const dir = join(DATA, 'inferno', `clicks-${Math.round(size / 1e6)}mb-${days.length}d-s${seed}`)
  mkdirSync(join(DATA, 'inferno', 'rules'), { recursive: true })
  writeFileSync(join(DATA, 'inferno', 'rules', 'bench.js'), RULES)
  const marker = join(dir, 'done.json')
  let data: { lines: number; bytes: number }
  if (existsSync(marker)) {
    data = JSON.parse(readFileSync(marker, 'utf8')) as { lines: number; bytes: number }
  } else {
    mkdirSync(dir, { recursive: true })
    let lines = 0
    let bytes = 0
    for (const [i, day] of days.entries()) {
      const ws = createWriteStream(ndjson(dir)[i]!)
      for await (const buf of clickLogLines({ seed, day, bytes: Math.floor(size / days.length) })) {
        bytes += buf.length
        for (let j = 0; j < buf.length; j++) if (buf[j] === 10) lines++
        if (!ws.write(buf)) await new Promise<void>((r) => ws.once('drain', () => r()))
      }
      await new Promise<void>((r) => ws.end(() => r()))
    }
    data = { lines, bytes }
    writeFileSync(marker, JSON.stringify(data))
  }
  for (const codec of codecs) {
    const done = join(dir, `${storeOf(codec)}.json`)
    if (existsSync(done)) continue
    const opts = await chunkOptions(codec)
    const store = openStore(join(dir, storeOf(codec)))
    const t0 = performance.now()
    let stored = 0
    let blobs = 0
    for (const [i, day] of days.entries()) {
      const sets = await store.chunk(`incoming:clicks:${day}`, [ndjson(dir)[i]!], opts)
      blobs += sets.length
      for (const [url] of sets) for await (const b of await store.openBlob(url!)) stored += b.length
    }
    const ms = performance.now() - t0
    // What the codec costs to write: chunking time, stored size and blob count (the default is chosen on these).
    writeFileSync(done, JSON.stringify({ codec, chunkMs: Math.round(ms), storedMB: Math.round(stored / 1e6), blobs }))
  }
  return { dir, ...data }
}

type Timed = ChildResult & { peakRssMB: number | null; cpuMs: number | null; processMs: number }

function runChild(kind: string, dir: string, extra: string[] = []): Timed {
  const prof = opt['cpu-prof'] && kind === 'inferno' ? ['--cpu-prof', '--cpu-prof-dir', opt['cpu-prof']] : []
  return runTimedChild<ChildResult>(kind, [...prof, HERE, '--child', kind, '--dir', dir, '--days', opt.days!, ...extra])
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function main(): Promise<void> {
  if (opt.child) {
    const dir = opt.dir!
    const run = { inferno: childInferno, duckdb: childDuckdb, 'duckdb-exact': (d: string) => childDuckdb(d, true), jq: childJq, node: childNode }[opt.child as 'inferno']
    process.stdout.write(JSON.stringify(await run(dir)))
    return
  }
  const { parseSize } = await import('#src/cli/common.js')
  const size = parseSize(opt.size!, '--size', 'MB')
  const seed = Number(opt.seed)
  const codecs = opt.codecs!.split(',').filter(Boolean)
  const data = await ensureData(size, seed, codecs)
  // [id, child kind, label, extra child args, chunk codec, data set (default: the one of --size)]
  type Data = { dir: string; lines: number; bytes: number }
  const tools: [string, string, string, string[], string?, Data?][] = codecs.map((c) => [c === 'default' ? 'inferno' : `inferno-${c === 'none' ? 'plain' : c}`,
    'inferno', `inferno -i (chunks: ${chunkLabel(c)})`, ['--rule', 'traffic', '--store', storeOf(c)], c])
  // What a run costs besides its records: the same rule over 1 MB (process and worker start-up,
  // module loading, job store, reduce, CSV); compare its CPU with the big runs'.
  if (!opt['no-fixed'] && (!opt.only || opt.only.split(',').includes('inferno-1mb'))) {
    tools.push(['inferno-1mb', 'inferno', 'inferno -i over 1 MB (fixed cost of a run; chunks: ddfs chunk defaults)', ['--rule', 'traffic', '--store', storeOf('default')],
      'default', await ensureData(1e6, seed, ['default'])])
  }
  if (opt.slow) tools.push(['inferno-slow', 'inferno', `inferno -i full-parse path (chunks: ${codecs[0]})`, ['--rule', 'traffic_slow', '--store', storeOf(codecs[0]!)]])
  tools.push(['node', 'node', 'node readline+JSON.parse+Map', []])
  if (!opt['no-duckdb'] && ensureDuckdb(DATA)) {
    tools.push(['duckdb', 'duckdb', 'duckdb read_ndjson GROUP BY GROUPING SETS (plain files)', []])
    tools.push(['duckdb-exact', 'duckdb-exact', 'duckdb line by line (read_csv + json_transform; exact NDJSON semantics)', []])
  }
  if (!opt['no-jq'] && hasJq()) tools.push(['jq', 'jq', 'jq -R fromjson? reduce inputs', []])
  const only = opt.only?.split(',')
  const chosen = tools.filter(([id]) => !only || only.includes(id))
  const runs = new Map<string, Timed[]>()
  for (let i = 0; i < Math.max(1, Number(opt.repeat)); i++) {
    for (const [id, kind, , extra, , own] of chosen) {
      const r = runChild(kind, (own ?? data).dir, extra)
      runs.set(id, [...(runs.get(id) ?? []), r])
    }
  }
  const duck = runs.get('duckdb')
  const duckMs = duck ? median(duck.map((r) => r.ms)) : undefined
  const duckRss = duck ? median(duck.map((r) => r.peakRssMB ?? 0)) : undefined
  const duckCpu = duck && duck.every((r) => r.cpuMs !== null) ? median(duck.map((r) => r.cpuMs!)) : undefined
  // DuckDB reading line by line: the peer whose records are exactly ours (read_ndjson's differ, see childDuckdb).
  const exact = runs.get('duckdb-exact')
  const exactMs = exact ? median(exact.map((r) => r.ms)) : undefined
  const exactCpu = exact && exact.every((r) => r.cpuMs !== null) ? median(exact.map((r) => r.cpuMs!)) : undefined
  let reference: string | undefined
  let refCsv: string | undefined
  for (const [id, , name, , codec, own] of chosen) {
    const rs = runs.get(id)!
    const r = rs[0]!
    const ds = own ?? data
    const agree = JSON.stringify(Object.entries(r.byDay).sort())
    // Another data set (the 1 MB run) agrees with itself across its runs; it has no DuckDB ratio.
    const ref = own ? agree : (reference ??= agree)
    const csvRef = own ? r.csv : r.csv !== undefined ? (refCsv ??= r.csv) : undefined
    const ms = median(rs.map((x) => x.ms))
    const rss = rs.every((x) => x.peakRssMB !== null) ? median(rs.map((x) => x.peakRssMB!)) : null
    const cpu = rs.every((x) => x.cpuMs !== null) ? median(rs.map((x) => x.cpuMs!)) : null
    const processMs = median(rs.map((x) => x.processMs))
    const fig = {
      name: `inferno-bench ${name}`,
      n: r.records,
      ms: Math.round(ms),
      // The child process from spawn to exit (start-up and module loading included; `ms` is the work call's)
      processMs: Math.round(processMs),
      opsPerSec: Math.round((r.records * 1000) / ms),
      mbPerSec: Number(((ds.bytes / 1e6) / (ms / 1000)).toFixed(1)),
      peakRssMB: rss === null ? null : Math.round(rss),
      inputMB: Math.round(ds.bytes / 1e6),
      runs: rs.length,
      msEach: rs.map((x) => Math.round(x.ms)),
      vsDuckdb: duckMs === undefined || own ? null : Number((duckMs / ms).toFixed(2)),
      rssVsDuckdb: duckRss === undefined || rss === null || own ? null : Number((rss / duckRss).toFixed(2)),
      // CPU seconds of the whole child (start-up included): the fair figure on a loaded machine
      cpuMs: cpu === null ? null : Math.round(cpu),
      vsDuckdbCpu: duckCpu === undefined || cpu === null || own ? null : Number((duckCpu / cpu).toFixed(2)),
      vsDuckdbExact: exactMs === undefined || own || id === 'duckdb-exact' ? null : Number((exactMs / ms).toFixed(2)),
      vsDuckdbExactCpu: exactCpu === undefined || cpu === null || own || id === 'duckdb-exact' ? null : Number((exactCpu / cpu).toFixed(2)),
      load: Number(loadavg()[0]!.toFixed(1)),
      agreesWithFirst: rs.every((x) => JSON.stringify(Object.entries(x.byDay).sort()) === ref),
      ...(r.csv !== undefined ? { csv: r.csv, sameCsv: rs.every((x) => x.csv === csvRef) } : {}),
      ...(codec !== undefined ? { chunks: JSON.parse(readFileSync(join(ds.dir, `${storeOf(codec)}.json`), 'utf8')) as unknown } : {}),
    }
    if (opt.json) process.stdout.write(JSON.stringify(fig) + '\n')
    else {
      process.stdout.write(`${name}: ${fig.n.toLocaleString('en-US')} records of ${fig.inputMB} MB in ${(fig.ms / 1000).toFixed(1)}s (median of ${fig.runs}) = ${fig.opsPerSec.toLocaleString('en-US')} records/s (${fig.mbPerSec} MB/s), process ${(fig.processMs / 1000).toFixed(2)}s, peak RSS ${fig.peakRssMB ?? '?'} MB` +
        `${fig.vsDuckdb === null ? '' : `, ${fig.vsDuckdb}x DuckDB`}${fig.cpuMs === null ? '' : `; CPU ${(fig.cpuMs / 1000).toFixed(1)}s${fig.vsDuckdbCpu === null ? '' : ` = ${fig.vsDuckdbCpu}x DuckDB's`}`}` +
        `${fig.vsDuckdbExact === null ? '' : `; ${fig.vsDuckdbExact}x DuckDB line by line${fig.vsDuckdbExactCpu === null ? '' : ` (CPU ${fig.vsDuckdbExactCpu}x)`}`} (load ${fig.load})${fig.agreesWithFirst ? '' : ' — RESULTS DIFFER'}${'sameCsv' in fig && !fig.sameCsv ? ' — CSV DIFFERS' : ''}\n`)
    }
  }
}

await main()
