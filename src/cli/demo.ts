#!/usr/bin/env node
// `npm run demo`: generates seeded JSON click logs, chunks them into an embedded DDFS store under
// dated tags, runs the example rule `clicks.traffic` through the `inferno -i` code path, prints the
// CSV results and the timings, then builds the analytics model of the same clicks and offers the
// dashboard (`--serve`). No server needed.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Command, InvalidArgumentError } from 'commander'
import { openStore } from '../ddfs/index.js'
import { buildModel } from '../analytics/index.js'
import { createServer } from '../server/app.js'
import { clickLogLines, daysEndingAt, PLANTED_BAD_EVERY } from '../inferno/examples/clicks-data.js'
import { EXAMPLE_RULES_DIR } from '../inferno/examples/write.js'
import { parseSize as parseSizeArg, Progress, runCli, writeOut } from './common.js'
import { runImmediate } from './inferno.js'
import { parseInfernoArgs, settingsFromOptions } from './inferno-args.js'

/** Parses `300MB`, `1GB`, `512KiB`, `100` (MB) with the shared size units. */
export function parseSize(v: string): number {
  try {
    return parseSizeArg(v, '--size', 'MB')
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message)
  }
}

function positive(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, found "${v}"`)
  return n
}

function portOf(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError(`expected a port 0..65535, found "${v}"`)
  return n
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  size: number
  days: number
  lastDay: string
  seed: number
  store?: string
  keep: boolean
  chunkMB: number
  /** Serve the analytics dashboard on the demo data at the end (until Ctrl-C) on this port. */
  serve?: number
  out?: (t: string) => void
  err?: (t: string) => void
  tty?: boolean
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`

/** Runs the demo; returns the exit status of the rule run. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const out = o.out ?? ((t: string) => void writeOut(t))
  const err = o.err ?? ((t: string) => void process.stderr.write(t))
  const tty = o.tty ?? Boolean(process.stderr.isTTY)
  const dir = o.store ?? mkdtempSync(join(tmpdir(), 'disco-inferno-demo-'))
  const days = daysEndingAt(o.lastDay, o.days)
  err(`demo: ${mb(o.size)} of JSON click logs (seed ${o.seed}) over ${o.days} day(s) ${days[days.length - 1]} … ${o.lastDay}, store ${dir}\n`)
  try {
    const ddfs = openStore(dir)
    const t0 = Date.now()
    const bar = new Progress('generate + chunk', tty)
    let lines = 0
    let bytesIn = 0
    let bytesOut = 0
    let blobs = 0
    let planted = 0
    for (const [i, day] of days.entries()) {
      const per = Math.floor(o.size / o.days)
      const before = { lines, bytesIn, bytesOut }
      const sets = await ddfs.chunk(`incoming:clicks:${day}`, [{ name: `clicks-${day}.json`, source: clickLogLines({ seed: o.seed, day, bytes: per }) }], {
        chunkSize: o.chunkMB * 1e6,
        level: 1,
        onProgress: (p) => {
          lines = before.lines + p.lines
          bytesIn = before.bytesIn + p.bytesIn
          bytesOut = before.bytesOut + p.bytesOut
          bar.update(bytesIn, o.size, `${mb(bytesIn)} · day ${i + 1}/${o.days}`)
        },
      })
      blobs += sets.length
      planted += Math.floor((lines - before.lines) / PLANTED_BAD_EVERY)
    }
    bar.done()
    const genMs = Date.now() - t0
    err(`demo: wrote ${lines.toLocaleString('en-US')} lines (${mb(bytesIn)}, ${mb(bytesOut)} gzip) into ${blobs} blob(s) under incoming:clicks:<day> in ${(genMs / 1000).toFixed(1)}s\n`)
    err(`demo: ${planted.toLocaleString('en-US')} of these lines are bad on purpose (every ${PLANTED_BAD_EVERY.toLocaleString('en-US')}th line of a day is cut in half, a truncated JSON object): the run below must count exactly them as bad lines\n`)
    err(`demo: running  inferno -y ${EXAMPLE_RULES_DIR} --store ${dir} -i clicks.traffic -S ${o.lastDay} -R ${o.days}\n`)
    const opts = parseInfernoArgs(['-y', EXAMPLE_RULES_DIR, '--store', dir, '-i', 'clicks.traffic', '-S', o.lastDay, '-R', String(o.days)])
    // The demo ignores ~/.inferno and /etc/inferno so it behaves the same everywhere.
    const { settings } = settingsFromOptions(opts, {}, [])
    const t1 = Date.now()
    const status = await runImmediate(settings, opts, { out, err, tty })
    const ruleMs = Date.now() - t1
    const rss = process.resourceUsage().maxRSS / 1024
    err(`demo: rule clicks.traffic over ${mb(bytesIn)} in ${(ruleMs / 1000).toFixed(1)}s = ${Math.round((lines * 1000) / ruleMs).toLocaleString('en-US')} records/s, ${((bytesIn / 1e6) / (ruleMs / 1000)).toFixed(1)} MB/s; peak RSS ${rss.toFixed(0)} MB; total ${((Date.now() - t0) / 1000).toFixed(1)}s\n`)
    // The same events as an analytics model: funnels, retention and trends over the clicks.
    const t2 = Date.now()
    const abar = new Progress('analytics build', tty)
    const report = await buildModel(ddfs, {
      inputs: days.map((d) => `incoming:clicks:${d}`), model: 'analytics:model',
      fields: { user: 'user', event: 'event', time: 'ts', props: '*' },
      onProgress: (p) => abar.update(p.done, p.total, `${p.phase} ${p.records} records`),
    })
    abar.done()
    err(`demo: analytics model of ${report.events.toLocaleString('en-US')} events, ${report.users.toLocaleString('en-US')} users in ${((Date.now() - t2) / 1000).toFixed(1)}s (${mb(report.bytes)} of indexes)\n`)
    if (o.store || o.keep) err(`demo: store kept at ${dir} (try: npx ddfs --store ${dir} ls incoming:clicks)\n`)
    if (o.serve === undefined) {
      err(o.store || o.keep
        ? `demo: open the dashboard on this data: npx analytics --store ${dir} serve   (then http://127.0.0.1:8080/)\n`
        : `demo: open the dashboard on this data: npm run demo -- --serve   (serves http://127.0.0.1:8080/ until Ctrl-C)\n`)
      return status
    }
    const app = await createServer({ ddfs })
    await app.listen({ host: '127.0.0.1', port: o.serve })
    const addr = app.server.address()
    err(`demo: dashboard on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : o.serve}/ (Ctrl-C to stop)\n`)
    await new Promise<void>((res) => {
      process.once('SIGINT', res)
      process.once('SIGTERM', res)
    })
    await app.close()
    return status
  } finally {
    if (!o.store && !o.keep) rmSync(dir, { recursive: true, force: true })
  }
}

/** The `demo` command line. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const p = new Command('demo')
    .description('Generate seeded JSON click logs, chunk them into an embedded DDFS store, run the example rule clicks.traffic, print CSV and timings.')
    .option('--size <size>', 'amount of generated logs (e.g. 300MB, 1GB)', parseSize, parseSize('200MB'))
    .option('--days <n>', 'number of dated tags incoming:clicks:<day>', positive, 3)
    .option('--last-day <YYYY-MM-DD>', 'newest day', '2026-11-20')
    .option('--seed <n>', 'random seed', positive, 42)
    .option('--store <dir>', 'store directory (kept); default a temporary one, removed afterwards')
    .option('--keep', 'keep the temporary store')
    .option('--chunk-mb <n>', 'chunk size in MB (compressed)', positive, 16)
    .option('--serve [port]', 'then serve the analytics dashboard on the demo data (default port 8080) until Ctrl-C')
    .action(async () => {
      const o = p.opts()
      process.exitCode = await runDemo({ size: o.size, days: o.days, lastDay: o.lastDay, seed: o.seed, store: o.store, keep: o.keep === true, chunkMB: o.chunkMb, ...(o.serve !== undefined ? { serve: o.serve === true ? 8080 : portOf(String(o.serve)) } : {}) })
    })
  // `npm run demo` with no arguments runs the demo on its defaults (the README's first command).
  await runCli('demo', p, argv, { helpWhenEmpty: false })
}

const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : ''
if (import.meta.url === invoked) await main()
