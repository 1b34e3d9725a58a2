#!/usr/bin/env node
// `analytics`: build the model from event tags and ask it questions (funnel, retention, trends,
// segment), or serve the JSON API and the dashboard. Tables by default, --json / --csv for pipes.
import { Command, Option } from 'commander'
import { resolve } from 'node:path'
import { DEFAULT_STORE_DIR, type Ddfs } from '../ddfs/index.js'
import { isClusterUrl } from '../cluster/index.js'
import {
  buildModel, Model, openAnalyticsStore, type AnalyticsStore, funnel, retention, trends, saveSegment, listSegments, segmentUsers,
  type FunnelAnswer, type RetentionAnswer, type TrendsAnswer, type SegmentDef, type Measure, type FunnelMode, type PeriodKind,
} from '../analytics/index.js'
import { createServer } from '../server/app.js'
import { productProgram, Progress, runCli, usageError, writeOut } from './common.js'
import { addStoreOptions, type StoreFlags } from './store.js'

interface Globals extends StoreFlags { model: string }
interface OutOpts { json?: boolean; csv?: boolean }

const collect = (v: string, acc: string[] = []): string[] => [...acc, v]

function out(text: string): void {
  writeOut(text.endsWith('\n') ? text : text + '\n')
}

/** The store the process opened (once), closed when the command is done unless it serves. */
let opened: Promise<AnalyticsStore> | undefined
let serving = false

/** Aligned text columns (numbers right-aligned). */
export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, [...c].length) })
  return rows.map((r) => r.map((c, i) => (/^-?[\d.,%]+$/.test(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n')
}

function csvLine(r: (string | number | null)[]): string {
  return r.map((c) => {
    const s = c === null ? '' : String(c)
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }).join(',')
}

/** Prints rows as a table, CSV, or the answer as JSON. */
function emit(o: OutOpts, answer: unknown, rows: (string | number | null)[][], tableRows?: string[][]): void {
  if (o.json) return out(JSON.stringify(answer))
  if (o.csv) return out(rows.map(csvLine).join('\n'))
  out(table(tableRows ?? rows.map((r) => r.map((c) => (c === null ? '' : String(c))))))
}

const pct = (x: number | null): string => (x === null ? '' : `${(x * 100).toFixed(1)}%`)
const side = (s: { segment: { name: string } | null }): string => s.segment?.name ?? 'all'
const num = (x: number | null): string => (x === null ? '' : String(Math.round(x)))

function funnelRows(a: FunnelAnswer, forTable: boolean): (string | number | null)[][] {
  const rows: (string | number | null)[][] = [['segment', 'group', 'step', 'event', 'users', 'conversion', 'step_conversion', 'drop_off', 'median_ms', 'mean_ms']]
  for (const s of a.results) {
    const groups = [{ value: '(all)' as string | null, steps: s.steps }, ...(s.breakdown?.groups ?? [])]
    for (const g of groups) {
      g.steps.forEach((st, k) => rows.push([
        side(s), g.value ?? 'null', k + 1, st.event, st.users,
        forTable ? pct(st.conversion) : st.conversion, forTable ? pct(st.stepConversion) : st.stepConversion, st.dropOff,
        forTable ? num(st.medianMs) : st.medianMs, forTable ? num(st.meanMs) : st.meanMs,
      ]))
    }
  }
  return rows
}

function retentionRows(a: RetentionAnswer, forTable: boolean): (string | number | null)[][] {
  const cols = a.results[0]?.rows[0]?.cells.length ?? 0
  const head = ['segment', 'cohort', 'size', ...Array.from({ length: cols }, (_, n) => (a.mode === 'bitdeli' ? `+${n + 1}` : String(n)))]
  const rows: (string | number | null)[][] = [head]
  for (const s of a.results) for (const r of s.rows) rows.push([side(s), r.label, r.size, ...(forTable ? r.rates.map(pct) : r.cells)])
  return rows
}

function trendsRows(a: TrendsAnswer): (string | number | null)[][] {
  const series = a.results.flatMap((s) => s.series.map((x) => ({ name: [side(s), x.measure, ...(x.group !== undefined ? [String(x.group)] : [])].join(':'), values: x.values })))
  const rows: (string | number | null)[][] = [['period', ...series.map((s) => s.name)]]
  a.periods.forEach((p, i) => rows.push([p.label, ...series.map((s) => s.values[i]!)]))
  return rows
}

/** Builds the `analytics` program (exported for tests). */
export function buildProgram(): Command {
  const program = productProgram(new Command('analytics'))
    .description('funnels, retention, trends and segments over DiscoDB indexes built from event tags')
  addStoreOptions(program)
  program
    .option('-m, --model <tag>', 'the model tag', 'analytics:model')
    .showHelpAfterError('(run analytics --help for the verbs and options)')
  const g = (): Globals => program.opts<Globals>()
  const store = (): Promise<AnalyticsStore> => {
    if (!opened) {
      const f = g()
      const where = f.store ?? process.env.DISCO_STORE ?? DEFAULT_STORE_DIR
      opened = openAnalyticsStore(isClusterUrl(where) ? where : resolve(where), {
        ...(f.creds ? { creds: f.creds } : {}), ...(f.tlsCa ? { tlsCa: f.tlsCa } : {}),
      })
    }
    return opened
  }
  const ddfs = async (): Promise<Ddfs> => (await store()).ddfs
  const model = async (): Promise<Model> => Model.open(await ddfs(), g().model)
  const outputs = (c: Command): Command => c.option('--json', 'the answer as one JSON object').option('--csv', 'CSV rows')
  const segs = (c: Command): Command => c.option('-s, --segment <name>', 'answer for a saved segment too (twice: two segments side by side)', collect)

  program.command('build')
    .description('run a Disco job that adds one batch of indexes (one per user shard) to the model')
    .requiredOption('-i, --input <tag>', 'a tag of NDJSON/CSV events (repeatable)', collect)
    .option('--shards <n>', 'user shards (fixed by the first build)')
    .option('--user-field <name>', 'user id field', 'user')
    .option('--event-field <name>', 'event name field', 'event')
    .option('--time-field <name>', 'timestamp field (epoch ms or YYYY-MM-DDTHH:MM:SS[.sss]Z)', 'time')
    .option('--props-field <name>', 'properties field (an object); * takes every other top-level field', 'props')
    .addOption(new Option('--format <format>', 'input format').choices(['ndjson', 'csv']).default('ndjson'))
    .option('--csv-columns <names>', 'CSV column names, comma-separated (default: the first line)')
    .option('--in-process', 'run the job in this process (no worker threads; embedded store only)')
    .option('-w, --workers <n>', 'worker threads (embedded store; default: number of cores)')
    .option('--json', 'the build report as JSON')
    .action(async (o: { input: string[]; shards?: string; userField: string; eventField: string; timeField: string; propsField: string; format: 'ndjson' | 'csv'; csvColumns?: string; inProcess?: boolean; workers?: string; json?: boolean }) => {
      let shards: number | undefined
      if (o.shards !== undefined) {
        if (!/^\d+$/.test(o.shards)) throw usageError(`--shards: expected a positive integer, found ${JSON.stringify(o.shards)}`)
        shards = Number(o.shards)
      }
      if (o.workers !== undefined && !/^[1-9]\d*$/.test(o.workers)) throw usageError(`--workers: expected a positive integer, found ${JSON.stringify(o.workers)}`)
      const s = await store()
      if (o.inProcess && s.cluster) throw usageError('--in-process: the job of a nats:// store runs on the cluster\'s workers')
      if (s.cluster && !(await s.stores.jobs.heartbeats('worker')).some((h) => h.alive)) {
        process.stderr.write('analytics: no live workers: the build waits in the queue until a `disco worker` starts\n')
      }
      const executor = o.inProcess ? 'in-process' as const : await s.executor(o.workers ? Number(o.workers) : undefined)
      const progress = new Progress('build')
      const r = await buildModel(s.ddfs, {
        inputs: o.input, model: g().model, ...(shards !== undefined ? { shards } : {}), format: o.format,
        fields: { user: o.userField, event: o.eventField, time: o.timeField, props: o.propsField },
        ...(o.csvColumns ? { csvColumns: o.csvColumns.split(',') } : {}),
        stores: s.stores, executor,
        onProgress: (p) => progress.update(p.done, p.total, `${p.phase} ${p.records} records`),
      }).finally(async () => {
        progress.done()
        if (executor !== 'in-process') await executor.close()
      })
      const bad = r.invalid.json + r.invalid.user + r.invalid.event + r.invalid.time
      if (o.json) return out(JSON.stringify(r))
      out(`${r.model}: batch ${r.batch}, ${r.events} events of ${r.users} users in ${r.shards} shard indexes (${(r.bytes / 1048576).toFixed(1)} MiB), ${bad} invalid skipped (not JSON ${r.invalid.json}, no user ${r.invalid.user}, no event ${r.invalid.event}, bad time ${r.invalid.time}); job ${r.job}`)
    })

  segs(outputs(program.command('funnel')))
    .description('a funnel over the steps (ordered by default; --mode strict | any-order | bitdeli)')
    .argument('<steps...>', 'event names, in order')
    .addOption(new Option('--mode <mode>', 'funnel mode').choices(['ordered', 'strict', 'any-order', 'bitdeli']).default('ordered'))
    .option('-w, --window <duration>', 'conversion window, e.g. 14d, 36h, 90m', '14d')
    .option('--from <day>', 'step 1 on or after this UTC day (YYYY-MM-DD)')
    .option('--to <day>', 'step 1 on or before this UTC day')
    .option('-b, --breakdown <prop>', 'group by a property of the step-1 event')
    .action(async (steps: string[], o: OutOpts & { mode: FunnelMode; window: string; from?: string; to?: string; breakdown?: string; segment?: string[] }) => {
      const a = await funnel(await model(), { steps, mode: o.mode, window: o.window, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}), ...(o.breakdown ? { breakdown: o.breakdown } : {}), ...(o.segment ? { segments: o.segment } : {}) })
      emit(o, a, funnelRows(a, false), funnelRows(a, true).map((r) => r.map((c) => (c === null ? '' : String(c)))))
    })

  segs(outputs(program.command('retention')))
    .description('cohort retention table (or Bitdeli\'s weekly matrix with --mode bitdeli)')
    .requiredOption('--start <event>', 'the cohort event')
    .option('--return <event>', 'the return event (default: the start event)')
    .addOption(new Option('--cohort <kind>', 'cohort kind').choices(['recurring', 'first-time']).default('recurring'))
    .addOption(new Option('--period <period>', 'period').choices(['day', 'week', 'month']).default('week'))
    .addOption(new Option('--mode <mode>', 'return columns').choices(['on', 'on-or-after', 'bitdeli']).default('on'))
    .option('--from <day>', 'first cohort period (holding this day)')
    .option('--to <day>', 'last cohort period (holding this day)')
    .option('--last <n>', 'the last n cohorts up to the newest data (default 10)')
    .option('--columns <n>', 'return columns 0..n-1 (default: as many as rows)')
    .action(async (o: OutOpts & { start: string; return?: string; cohort: 'recurring' | 'first-time'; period: PeriodKind; mode: 'on' | 'on-or-after' | 'bitdeli'; from?: string; to?: string; last?: string; columns?: string; segment?: string[] }) => {
      const a = await retention(await model(), {
        start: o.start, cohort: o.cohort, period: o.period, mode: o.mode,
        ...(o.return ? { return: o.return } : {}), ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}),
        ...(o.last ? { last: o.last as unknown as number } : {}), ...(o.columns ? { columns: o.columns as unknown as number } : {}), ...(o.segment ? { segments: o.segment } : {}),
      })
      emit(o, a, retentionRows(a, false), retentionRows(a, true).map((r) => r.map((c) => (c === null ? '' : String(c)))))
    })

  segs(outputs(program.command('trends')))
    .description('events over time: total, unique users, WAU, MAU')
    .option('-e, --event <name>', 'one event (default: all events)')
    .option('--measure <m>', 'total, unique, wau, mau (repeatable or comma-separated; default total,unique)', collect)
    .addOption(new Option('--period <period>', 'period').choices(['day', 'week', 'month']).default('day'))
    .option('--from <day>', 'first period (holding this day)')
    .option('--to <day>', 'last period (holding this day)')
    .option('--last <n>', 'the last n periods up to the newest data')
    .option('-b, --breakdown <prop>', 'group by a property of the events')
    .action(async (o: OutOpts & { event?: string; measure?: string[]; period: PeriodKind; from?: string; to?: string; last?: string; breakdown?: string; segment?: string[] }) => {
      const measures = o.measure?.flatMap((m) => m.split(',')) as Measure[] | undefined
      const a = await trends(await model(), {
        period: o.period, ...(o.event ? { event: o.event } : {}), ...(measures ? { measures } : {}),
        ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}), ...(o.last ? { last: o.last as unknown as number } : {}),
        ...(o.breakdown ? { breakdown: o.breakdown } : {}), ...(o.segment ? { segments: o.segment } : {}),
      })
      emit(o, a, trendsRows(a))
    })

  program.command('segment')
    .description('size of a segment (Q text, or --row lines ANDed), optionally saved; --list shows saved ones')
    .argument('[query]', "Q text, e.g. 'signup & (country=US | country=FI) & ~plan=free'")
    .option('-r, --row <row>', "a Bitdeli row, e.g. 'country=US OR country=FI' or 'NOT plan=free' (repeatable)", collect)
    .option('--save <name>', 'save it under <model>:segment:<name>')
    .option('--label <text>', 'label of the saved segment')
    .option('--list', 'list the saved segments')
    .option('--json', 'JSON output')
    .action(async (query: string | undefined, o: { row?: string[]; save?: string; label?: string; list?: boolean; json?: boolean }) => {
      const m = await model()
      if (o.list) {
        const list = await listSegments(m)
        if (o.json) return out(JSON.stringify(list))
        return out(table([['name', 'size', 'label'], ...list.map((s) => [s.name, String(s.size), s.label])]))
      }
      if ((query === undefined) === (o.row === undefined)) throw usageError('give either a query or --row lines')
      const def: SegmentDef = query !== undefined ? { q: query } : { rows: o.row! }
      if (o.save) {
        const info = await saveSegment(m, o.save, def, o.label)
        return out(o.json ? JSON.stringify(info) : `${info.name}: ${info.size} users (${info.label})`)
      }
      const { size } = await segmentUsers(m, def)
      out(o.json ? JSON.stringify({ size }) : `${size} users`)
    })

  program.command('serve')
    .description('the JSON API and the dashboard (127.0.0.1 by default)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'port (0: any free port)', '8080')
    .option('--token <token>', 'require Authorization: Bearer <token> on the API (needed off loopback)')
    .action(async (o: { host: string; port: string; token?: string }) => {
      if (!/^\d+$/.test(o.port) || Number(o.port) > 65535) throw usageError(`--port: expected 0..65535, found ${JSON.stringify(o.port)}`)
      const loopback = o.host === '127.0.0.1' || o.host === '::1' || o.host === 'localhost'
      if (!loopback && o.token === undefined) throw usageError(`--host ${o.host} is not loopback: give --token too`)
      const s = await store()
      serving = true
      const app = await createServer({ ddfs: s.ddfs, stores: s.stores, model: g().model, ...(o.token !== undefined ? { token: o.token } : {}) })
      await app.listen({ host: o.host, port: Number(o.port) })
      const addr = app.server.address()
      const port = typeof addr === 'object' && addr ? addr.port : Number(o.port)
      const host = o.host.includes(':') ? `[${o.host}]` : o.host
      out(`analytics: serving ${g().model} on http://${host}:${port}/${o.token !== undefined ? '#token=' + encodeURIComponent(o.token) : ''}`)
      const stop = (): void => { void app.close().then(() => s.close()).then(() => process.exit(0)) }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
  return program
}

await runCli('analytics', buildProgram())
if (!serving) await opened?.then((s) => s.close(), () => {})
