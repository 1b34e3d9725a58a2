// Analytics on DiscoDB indexes vs DuckDB SQL over the same events (issue 14 targets):
// seeded events (default 1 M events / 100 k users / 90 days so `npm run bench` stays short; --full
// for issue 14's 10 M events / 1 M users; any size with --events), the model build
// (time, size), a 5-step funnel in each mode, a 10×10 weekly retention, a 90-day uniques trend and
// a 3-clause segment — each answered by the prebuilt index and by DuckDB over an in-memory table.
// DuckDB is installed into bench/data/peers by the bench (see bench/peers.ts), never a dependency.
//   node build/bench/analytics.js [--full | --events 1000000] [--shards 8] [--runs 5] [--no-duckdb] [--json]
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { mulberry32 } from '#src/util/random.js'
import { openStore, buildModel, Model, funnel, retention, trends, segmentUsers, type FunnelMode } from 'disco-inferno'
import { ensureDuckdb } from './peers.js'
import { benchArgs } from './args.js'

const DATA = fileURLToPath(new URL('../../bench/data/', import.meta.url))
const DAY = 86_400_000
const START = Date.UTC(2026, 5, 1) // a Monday
const STEPS = ['signup', 'view', 'add to cart', 'checkout', 'purchase']
const NOISE = ['search', 'click', 'share', 'login', 'view']
const COUNTRIES = ['US', 'US', 'US', 'DE', 'FI', 'GB', 'FR', 'BR', 'IN', 'JP']
const PLANS = ['free', 'free', 'free', 'pro', 'team']

const { values: opt } = benchArgs(import.meta.url, {
  options: {
    events: { type: 'string' },
    full: { type: 'boolean', default: false },
    days: { type: 'string', default: '90' },
    shards: { type: 'string', default: '8' },
    runs: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    'no-duckdb': { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
  },
})
const EVENTS = Number(opt.events ?? (opt.full ? 10_000_000 : 1_000_000))
const DAYS = Number(opt.days)
const USERS = Math.max(1, Math.round(EVENTS / 10))
const log = (s: string): void => void process.stderr.write(`bench analytics: ${s}\n`)

/** Seeded events, user by user: a signup, then sessions that walk the purchase funnel with drop-off, plus noise. */
function generate(path: string): number {
  const rnd = mulberry32(Number(opt.seed))
  const fd = openSync(path, 'w')
  let buf: string[] = []
  let n = 0
  const put = (user: string, event: string, t: number, country: string, plan: string): void => {
    buf.push(`{"user":"${user}","event":"${event}","time":${t},"props":{"country":"${country}","plan":"${plan}"}}`)
    n++
    if (buf.length >= 20000) {
      writeSync(fd, buf.join('\n') + '\n')
      buf = []
    }
  }
  const perUser = EVENTS / USERS
  for (let u = 0; u < USERS && n < EVENTS; u++) {
    const user = `u${u}`
    const country = COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!
    let plan = PLANS[Math.floor(rnd() * PLANS.length)]!
    const first = Math.floor(rnd() * DAYS)
    let t = START + first * DAY + Math.floor(rnd() * DAY)
    put(user, 'signup', t, country, plan)
    let left = Math.max(1, Math.round(-Math.log(1 - rnd()) * (perUser - 1)))
    while (left > 0 && n < EVENTS) {
      t += Math.floor(-Math.log(1 - rnd()) * 3 * DAY)
      if (t >= START + DAYS * DAY) break
      if (rnd() < 0.05) plan = 'pro'
      // A session: view → add to cart → checkout → purchase, each with drop-off; noise between.
      for (let k = 1; k < STEPS.length && left > 0; k++) {
        if (k > 1 && rnd() < 0.45) break
        if (rnd() < 0.3) { put(user, NOISE[Math.floor(rnd() * NOISE.length)]!, t, country, plan); left--; t += 30_000 }
        put(user, STEPS[k]!, t, country, plan)
        left--
        t += Math.floor(rnd() * 600_000)
      }
    }
  }
  if (buf.length) writeSync(fd, buf.join('\n') + '\n')
  closeSync(fd)
  return n
}

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y)
  return a.length % 2 ? a[a.length >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2
}

/** The first (cold: lists decoded from the index) run, then the median wall and CPU time of `runs` warm ones. */
async function timeIt<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; coldMs: number; value: T }> {
  let t0 = performance.now()
  let value = await fn()
  const coldMs = performance.now() - t0
  const ms: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < runs; i++) {
    t0 = performance.now()
    const c0 = process.cpuUsage()
    value = await fn()
    const c = process.cpuUsage(c0)
    ms.push(performance.now() - t0)
    cpu.push((c.user + c.system) / 1000)
  }
  return { ms: median(ms), cpuMs: median(cpu), coldMs, value }
}

interface Row { name: string; ms: number; cpuMs: number; coldMs: number; duckdbMs: number | null; targetMs: number | null; answer: string; duckdbAnswer: string | null }

async function main(): Promise<void> {
  const dir = join(DATA, 'analytics', `e${EVENTS}-d${DAYS}-s${opt.seed}`)
  const file = join(dir, 'events.ndjson')
  const storeDir = join(dir, `store-${opt.shards}`)
  mkdirSync(dir, { recursive: true })
  let t0 = performance.now()
  if (!existsSync(file)) {
    const n = generate(file)
    log(`generated ${n} events of ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${file}`)
  }
  if (opt.rebuild) rmSync(storeDir, { recursive: true, force: true })
  const ddfs = openStore(storeDir)
  let build: { ms: number; bytes: number; events: number; users: number } | null = null
  if (!(await ddfs.exists('analytics:bench'))) {
    t0 = performance.now()
    await ddfs.chunk('bench:events', [file], { level: 1 })
    const chunkMs = performance.now() - t0
    log(`chunked into the store in ${(chunkMs / 1000).toFixed(1)} s`)
    t0 = performance.now()
    const r = await buildModel(ddfs, { inputs: ['bench:events'], model: 'analytics:bench', shards: Number(opt.shards) })
    build = { ms: performance.now() - t0, bytes: r.bytes, events: r.events, users: r.users }
    log(`built ${r.events} events / ${r.users} users into ${r.shards} indexes, ${(r.bytes / 1048576).toFixed(1)} MiB, in ${(build.ms / 1000).toFixed(1)} s`)
  }
  t0 = performance.now()
  const model = await Model.open(ddfs, 'analytics:bench')
  const info = await model.info()
  const openMs = performance.now() - t0
  log(`opened the model (all shards loaded) in ${openMs.toFixed(0)} ms: ${info.events} events, ${info.users} users`)
  const runs = Number(opt.runs)
  const rows: Row[] = []
  const lastDay = new Date(info.lastDay! * DAY).toISOString().slice(0, 10)
  const from = new Date((info.lastDay! - 29) * DAY).toISOString().slice(0, 10)
  const ours: Record<string, () => Promise<string>> = {}
  for (const mode of ['bitdeli', 'ordered', 'strict', 'any-order'] as FunnelMode[]) {
    ours[`funnel 5 steps ${mode}${mode === 'bitdeli' ? '' : ' (7d window, 30 days)'}`] = async () => {
      const a = await funnel(model, { steps: STEPS, mode, window: '7d', ...(mode === 'bitdeli' ? {} : { from, to: lastDay }) })
      return a.results[0]!.steps.map((s) => s.users).join(' ')
    }
  }
  ours['retention 10×10 weekly'] = async () => {
    const a = await retention(model, { start: 'view', return: 'view', period: 'week', last: 10, columns: 10 })
    return a.results[0]!.rows.map((r) => r.cells[1] ?? '-').join(' ')
  }
  ours['retention bitdeli weekly matrix'] = async () => {
    const a = await retention(model, { start: 'view', return: 'purchase', mode: 'bitdeli' })
    return a.results[0]!.rows.map((r) => r.cells[0]).join(' ')
  }
  ours['trend 90-day uniques'] = async () => {
    const a = await trends(model, { measures: ['unique'], period: 'day', last: 90 })
    return String(a.results[0]!.series[0]!.values.reduce((x, y) => x + y, 0))
  }
  ours['trend 90-day totals'] = async () => {
    const a = await trends(model, { measures: ['total'], period: 'day', last: 90 })
    return String(a.results[0]!.series[0]!.values.reduce((x, y) => x + y, 0))
  }
  ours['segment 3 clauses'] = async () => String((await segmentUsers(model, { rows: ['purchase', 'country=US OR country=FI', 'NOT plan=free'] })).size)
  const results = new Map<string, { ms: number; cpuMs: number; coldMs: number; value: string }>()
  for (const [name, fn] of Object.entries(ours)) {
    results.set(name, await timeIt(runs, fn))
    log(`${name}: ${results.get(name)!.ms.toFixed(1)} ms (CPU ${results.get(name)!.cpuMs.toFixed(1)} ms, cold ${results.get(name)!.coldMs.toFixed(1)} ms)`)
  }

  // DuckDB over the same events (an in-memory table; loading it is not counted per question).
  const duck = new Map<string, { ms: number; cpuMs: number; coldMs: number; value: string }>()
  let duckLoadMs: number | null = null
  if (!opt['no-duckdb'] && ensureDuckdb(DATA)) {
    const req = createRequire(join(DATA, 'peers', 'x.js'))
    const { DuckDBInstance } = (await import(pathToFileURL(req.resolve('@duckdb/node-api')).href)) as { DuckDBInstance: any }
    const db = await DuckDBInstance.create(':memory:')
    const con = await db.connect()
    const q = async (sql: string): Promise<unknown[][]> => (await con.runAndReadAll(sql)).getRows() as unknown[][]
    t0 = performance.now()
    await q(`CREATE TABLE ev AS SELECT "user" AS u, event AS e, "time" AS t, props.country AS country, props.plan AS plan,
      CAST(floor("time" / ${DAY}) AS INTEGER) AS d FROM read_ndjson('${file}', columns = {"user": 'VARCHAR', event: 'VARCHAR', "time": 'BIGINT', props: 'STRUCT(country VARCHAR, plan VARCHAR)'})`)
    duckLoadMs = performance.now() - t0
    log(`DuckDB loaded the events in ${(duckLoadMs / 1000).toFixed(1)} s`)
    const lastD = info.lastDay!
    const lo = (lastD - 29) * DAY
    const hi = (lastD + 1) * DAY
    const W = 7 * DAY
    const sl = (s: string) => `'${s.replace(/'/g, "''")}'`
    const chain = (): string => {
      // Attempts at every step-1 event in the range; each next step the first later match within the window.
      let sql = `WITH a1 AS (SELECT u, t AS t0, t AS t FROM ev WHERE e = ${sl(STEPS[0]!)} AND t >= ${lo} AND t < ${hi})`
      for (let k = 2; k <= 5; k++) {
        sql += `, a${k} AS (SELECT a.u, a.t0, min(x.t) AS t FROM a${k - 1} a JOIN ev x ON x.u = a.u AND x.e = ${sl(STEPS[k - 1]!)} AND x.t > a.t AND x.t <= a.t0 + ${W} GROUP BY a.u, a.t0)`
      }
      return sql + ` SELECT ${[1, 2, 3, 4, 5].map((k) => `(SELECT count(DISTINCT u) FROM a${k})`).join(', ')}`
    }
    const strictSql = `WITH s AS (SELECT u, e, t, ${[1, 2, 3, 4].map((i) => `lead(e, ${i}) OVER w AS e${i}, lead(t, ${i}) OVER w AS t${i}`).join(', ')}
      FROM ev WINDOW w AS (PARTITION BY u ORDER BY t))
      SELECT ${[0, 1, 2, 3, 4].map((k) => `count(DISTINCT u) FILTER (WHERE ${[...Array(k).keys()].map((i) => `e${i + 1} = ${sl(STEPS[i + 1]!)} AND t${i + 1} <= t + ${W}`).concat(['true']).join(' AND ')})`).join(', ')}
      FROM s WHERE e = ${sl(STEPS[0]!)} AND t >= ${lo} AND t < ${hi}`
    const sqls: Record<string, string> = {
      'funnel 5 steps bitdeli': `SELECT sum(s1), sum(s1*s2), sum(s1*s2*s3), sum(s1*s2*s3*s4), sum(s1*s2*s3*s4*s5) FROM (SELECT u, ${STEPS.map((s, i) => `max(CASE WHEN e = ${sl(s)} THEN 1 ELSE 0 END) AS s${i + 1}`).join(', ')} FROM ev GROUP BY u)`,
      'funnel 5 steps ordered (7d window, 30 days)': chain(),
      'funnel 5 steps strict (7d window, 30 days)': strictSql,
      'retention 10×10 weekly': `WITH w AS (SELECT DISTINCT u, CAST(floor((d - 4) / 7) AS INTEGER) AS wk FROM ev WHERE e = 'view'),
        last AS (SELECT max(CAST(floor((d - 4) / 7) AS INTEGER)) AS m FROM ev)
        SELECT c.wk, r.wk - c.wk AS n, count(*) FROM w c JOIN w r ON c.u = r.u AND r.wk >= c.wk AND r.wk < c.wk + 10, last
        WHERE c.wk > last.m - 10 GROUP BY ALL ORDER BY 1, 2`,
      'retention bitdeli weekly matrix': `WITH w AS (SELECT DISTINCT u, e, CAST(floor((d - 4) / 7) AS INTEGER) AS wk FROM ev WHERE e IN ('view', 'purchase')),
        last AS (SELECT max(CAST(floor((d - 4) / 7) AS INTEGER)) AS m FROM ev)
        SELECT c.wk, r.wk - c.wk AS n, count(*) FROM w c JOIN w r ON c.u = r.u AND r.e = 'purchase' AND r.wk > c.wk AND r.wk <= c.wk + 10, last
        WHERE c.e = 'view' AND c.wk > last.m - 10 GROUP BY ALL`,
      'trend 90-day uniques': `SELECT sum(n) FROM (SELECT d, count(DISTINCT u) AS n FROM ev WHERE d > ${lastD - 90} GROUP BY d)`,
      'trend 90-day totals': `SELECT sum(n) FROM (SELECT d, count(*) AS n FROM ev WHERE d > ${lastD - 90} GROUP BY d)`,
      'segment 3 clauses': `SELECT count(*) FROM (SELECT u, bool_or(e = 'purchase') AS a, bool_or(country IN ('US', 'FI')) AS b, bool_or(plan = 'free') AS c FROM ev GROUP BY u) WHERE a AND b AND NOT c`,
    }
    for (const [name, sql] of Object.entries(sqls)) {
      const r = await timeIt(Math.min(runs, 3), async () => {
        const rows = await q(sql)
        return rows.length === 1 ? rows[0]!.map((v) => String(v)).join(' ') : `${rows.length} rows`
      })
      duck.set(name, r)
      log(`DuckDB ${name}: ${r.ms.toFixed(1)} ms`)
    }
  }
  for (const [name, r] of results) {
    const target = /bitdeli|trend/.test(name) ? 50 : /ordered/.test(name) ? 1000 : null
    const d = duck.get(name)
    rows.push({ name, ms: r.ms, cpuMs: r.cpuMs, coldMs: r.coldMs, duckdbMs: d?.ms ?? null, targetMs: target, answer: r.value, duckdbAnswer: d?.value ?? null })
  }
  const report = {
    name: 'analytics', n: info.events, users: info.users, days: DAYS, shards: Number(opt.shards),
    build, openMs, duckdbLoadMs: duckLoadMs,
    questions: rows.map((r) => ({ ...r, vsDuckdb: r.duckdbMs === null ? null : r.duckdbMs / r.ms, meetsTarget: r.targetMs === null ? null : r.ms < r.targetMs, tenTimesDuckdb: r.duckdbMs === null ? null : r.duckdbMs / r.ms >= 10 })),
  }
  if (opt.json) {
    process.stdout.write(JSON.stringify({ ...report, ms: rows.find((r) => r.name.includes('ordered'))?.ms ?? null, opsPerSec: null }) + '\n')
    return
  }
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(44) : c.padStart(12))).join('')
  console.log(`analytics: ${info.events} events, ${info.users} users, ${DAYS} days, ${opt.shards} shards; build ${build ? (build.ms / 1000).toFixed(1) + ' s, ' + (build.bytes / 1048576).toFixed(1) + ' MiB' : '(cached)'}; open ${openMs.toFixed(0)} ms`)
  console.log(line(['question', 'ours ms', 'CPU ms', 'cold ms', 'duckdb ms', '× duckdb', 'target']))
  for (const r of report.questions) {
    console.log(line([r.name, r.ms.toFixed(1), r.cpuMs.toFixed(1), r.coldMs.toFixed(1), r.duckdbMs === null ? '-' : r.duckdbMs.toFixed(1), r.vsDuckdb === null ? '-' : r.vsDuckdb.toFixed(1), r.targetMs === null ? '-' : `${r.meetsTarget ? 'ok' : 'MISS'} <${r.targetMs}`]))
  }
  for (const r of report.questions) if (r.duckdbAnswer !== null && r.duckdbAnswer !== r.answer && !r.duckdbAnswer.endsWith('rows')) log(`note: ${r.name}: ours ${r.answer} vs DuckDB ${r.duckdbAnswer}`)
}

await main()
