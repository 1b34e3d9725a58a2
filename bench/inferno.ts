// Inferno log-rule benchmark: the demo rule `clicks.traffic` (3 keysets, one scan) over generated
// JSON click logs, side by side with DuckDB read_ndjson + GROUP BY GROUPING SETS, jq (streaming
// `reduce inputs`) and a plain Node loop (readline + JSON.parse + Map). Each tool runs in its own
// child process under /usr/bin/time, so peak RSS is the tool's own.
//
//   node build/bench/inferno.js                 # 50 MB (well under a minute)
//   node build/bench/inferno.js --size 1GB      # the headline figure
//   node build/bench/inferno.js --json          # one JSON object per figure
//   node build/bench/inferno.js --only inferno,duckdb   # a subset of the tools
//
// DuckDB (@duckdb/node-api, pinned) is installed by this script into bench/data/peers on first use;
// jq comes from the system (`apt-get install jq`); both are skipped with a note when unavailable.
import { spawnSync } from 'node:child_process'
import { ensureDuckdb, hasJq, runTimedChild } from './peers.js'
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { openStore } from 'disco-inferno'
import { clickLogLines, daysEndingAt } from '#src/inferno/examples/clicks-data.js'
import { EXAMPLE_RULES_DIR } from '#src/inferno/examples/write.js'
import { runImmediate } from '#src/cli/inferno.js'
import { parseInfernoArgs, settingsFromOptions } from '#src/cli/inferno-args.js'
import { parseSize } from '#src/cli/demo.js'

const HERE = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DATA = join(ROOT, 'bench', 'data')
const LAST_DAY = '2026-11-20'

const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '50MB' },
    days: { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
    'no-duckdb': { type: 'boolean', default: false },
    'no-jq': { type: 'boolean', default: false },
    only: { type: 'string' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
})

/** What every child prints: records read, wall ms of the work, and the by_day_event counts. */
interface ChildResult {
  records: number
  ms: number
  byDay: Record<string, number>
}

const days = daysEndingAt(LAST_DAY, Number(opt.days))
const ndjson = (dir: string) => days.map((d) => join(dir, `events-${d}.ndjson`))

// ------------------------------------------------------------------------------------ children

async function childInferno(dir: string): Promise<ChildResult> {
  const o = parseInfernoArgs(['-y', EXAMPLE_RULES_DIR, '--store', join(dir, 'store'), '-i', 'clicks.traffic', '-S', LAST_DAY, '-R', String(days.length), '--no-progress'])
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
  return { records, ms, byDay }
}

async function childDuckdb(dir: string): Promise<ChildResult> {
  const req = createRequire(join(DATA, 'peers', 'x.js'))
  const { DuckDBInstance } = (await import(pathToFileURL(req.resolve('@duckdb/node-api')).href)) as typeof import('node:module') & { DuckDBInstance: any }
  const db = await DuckDBInstance.create(':memory:')
  const con = await db.connect()
  const files = ndjson(dir).map((f) => `'${f}'`).join(', ')
  const t0 = performance.now()
  const sql = `
    WITH e AS (
      SELECT strftime(make_timestamp(ts * 1000), '%Y-%m-%d') AS day, event, country, device, referrer, amount
      FROM read_ndjson([${files}], ignore_errors = true,
        columns = {ts: 'BIGINT', event: 'VARCHAR', country: 'VARCHAR', device: 'VARCHAR', referrer: 'VARCHAR', amount: 'DOUBLE'})
      WHERE ts IS NOT NULL)
    SELECT day, event, country, device, referrer, count(*) AS n, sum(amount) AS revenue,
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

/** Generates the NDJSON files and the chunked store once per (size, days, seed). */
async function ensureData(size: number, seed: number): Promise<{ dir: string; lines: number; bytes: number }> {
  const dir = join(DATA, 'inferno', `clicks-${Math.round(size / 1e6)}mb-${days.length}d-s${seed}`)
  const marker = join(dir, 'done.json')
  if (existsSync(marker)) return { dir, ...(JSON.parse(readFileSync(marker, 'utf8')) as { lines: number; bytes: number }) }
  mkdirSync(dir, { recursive: true })
  let lines = 0
  let bytes = 0
  for (const [i, day] of days.entries()) {
    const file = ndjson(dir)[i]!
    const ws = createWriteStream(file)
    for await (const buf of clickLogLines({ seed, day, bytes: Math.floor(size / days.length) })) {
      bytes += buf.length
      for (let j = 0; j < buf.length; j++) if (buf[j] === 10) lines++
      if (!ws.write(buf)) await new Promise<void>((r) => ws.once('drain', () => r()))
    }
    await new Promise<void>((r) => ws.end(() => r()))
    await openStore(join(dir, 'store')).chunk(`incoming:clicks:${day}`, [file], { chunkSize: 16e6, level: 1 })
  }
  writeFileSync(marker, JSON.stringify({ lines, bytes }))
  return { dir, lines, bytes }
}



function runChild(kind: string, dir: string): ChildResult & { peakRssMB: number | null } {
  return runTimedChild<ChildResult>(kind, [HERE, '--child', kind, '--dir', dir, '--days', opt.days!])
}

async function main(): Promise<void> {
  if (opt.child) {
    const dir = opt.dir!
    const run = { inferno: childInferno, duckdb: childDuckdb, jq: childJq, node: childNode }[opt.child as 'inferno']
    process.stdout.write(JSON.stringify(await run(dir)))
    return
  }
  const size = parseSize(opt.size!)
  const seed = Number(opt.seed)
  const data = await ensureData(size, seed)
  const tools: [string, string][] = [['inferno', 'inferno clicks.traffic'], ['node', 'node readline+JSON.parse+Map']]
  if (!opt['no-duckdb'] && ensureDuckdb(DATA)) tools.push(['duckdb', 'duckdb read_ndjson GROUP BY GROUPING SETS'])
  if (!opt['no-jq'] && hasJq()) tools.push(['jq', 'jq -R fromjson? reduce inputs'])
  let reference: string | undefined
  for (const [kind, name] of tools) {
    if (opt.only && !opt.only.split(',').includes(kind)) continue
    const r = runChild(kind, data.dir)
    const agree = JSON.stringify(Object.entries(r.byDay).sort())
    reference ??= agree
    const fig = {
      name: `inferno-bench ${name}`,
      n: r.records,
      ms: Math.round(r.ms),
      opsPerSec: Math.round((r.records * 1000) / r.ms),
      mbPerSec: Number(((data.bytes / 1e6) / (r.ms / 1000)).toFixed(1)),
      peakRssMB: r.peakRssMB === null ? null : Math.round(r.peakRssMB),
      inputMB: Math.round(data.bytes / 1e6),
      agreesWithInferno: agree === reference,
    }
    if (opt.json) process.stdout.write(JSON.stringify(fig) + '\n')
    else {
      process.stdout.write(`${name}: ${fig.n.toLocaleString('en-US')} records of ${fig.inputMB} MB in ${(fig.ms / 1000).toFixed(1)}s = ${fig.opsPerSec.toLocaleString('en-US')} records/s (${fig.mbPerSec} MB/s), peak RSS ${fig.peakRssMB ?? '?'} MB${fig.agreesWithInferno ? '' : ' — RESULTS DIFFER'}\n`)
    }
  }
}

await main()
