// What the peer-comparison benches share: installing DuckDB's Node binding into bench/data/peers
// (never a project dependency) and timing a child process with its peak RSS.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The DuckDB binding the benches use (its native part comes from the npm registry). */
export const DUCKDB_PKG = '@duckdb/node-api@1.5.6-r.1'

/** Installs DuckDB into `<dataDir>/peers` on first use; false (with a note) when it cannot be had. */
export function ensureDuckdb(dataDir: string): boolean {
  const peers = join(dataDir, 'peers')
  if (existsSync(join(peers, 'node_modules', '@duckdb', 'node-api'))) return true
  mkdirSync(peers, { recursive: true })
  if (!existsSync(join(peers, 'package.json'))) writeFileSync(join(peers, 'package.json'), '{"private":true}\n')
  process.stderr.write(`bench: installing ${DUCKDB_PKG} into ${peers} …\n`)
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--save-exact', DUCKDB_PKG], { cwd: peers, encoding: 'utf8' })
  if (r.status !== 0) process.stderr.write(`bench: DuckDB skipped, not installable (${(r.stderr || '').trim().split('\n').pop()})\n`)
  return r.status === 0
}

/** True when a `jq` binary is on the PATH. */
export function hasJq(): boolean {
  return spawnSync('jq', ['--version']).status === 0
}

/**
 * Runs `node ARGS` as a child under /usr/bin/time (peak RSS in KB, user + system CPU seconds of the
 * child and what it waited for), or plainly when that is missing; returns the child's JSON stdout,
 * its peak RSS in MB, its CPU time in ms (null when unknown) and its wall time from spawn to exit. CPU time is the figure to compare
 * on a loaded machine: wall time there mostly measures the wait for a core.
 */
export function runTimedChild<T>(kind: string, args: string[]): T & { peakRssMB: number | null; cpuMs: number | null; processMs: number } {
  const timed = existsSync('/usr/bin/time')
  const t0 = performance.now()
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'RSS_KB=%M CPU_S=%U+%S', process.execPath, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 })
  // The child's whole life, process start and module loading included (what a user of the tool waits).
  const processMs = performance.now() - t0
  if (r.status !== 0) throw new Error(`${kind} child failed: ${r.stderr}`)
  const rss = /RSS_KB=(\d+)/.exec(r.stderr)
  const cpu = /CPU_S=([\d.]+)\+([\d.]+)/.exec(r.stderr)
  return { ...(JSON.parse(r.stdout) as T), peakRssMB: rss ? Number(rss[1]) / 1024 : null, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : null, processMs }
}
