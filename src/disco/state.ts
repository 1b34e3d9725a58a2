// Job state behind the store: one directory per job under `<store>/jobs/<name>/` holding the job
// record (`job.json`, replaced atomically), the event log (`events.ndjson`, one
// `[timestamp, host, message]` JSON array per line, appended), task outputs and results.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, openSync, readSync, closeSync, fstatSync } from 'node:fs'
import { join } from 'node:path'
import { hostname } from 'node:os'
import { DiscoError } from '../errors.js'
import { jobName } from './plan.js'
import { writeFileAtomic } from './runs.js'
import type { JobInfo } from './types.js'

const NAME_RE = /^[A-Za-z0-9_-]+@[0-9a-f]+:[0-9a-f]+:[0-9a-f]+$/

/** The directory holding all jobs of a store. */
export function jobsRoot(storeDir: string): string {
  return join(storeDir, 'jobs')
}

/** The directory of one job; DISCO_JOB_NOT_FOUND for a malformed name. */
export function jobDir(storeDir: string, name: string): string {
  if (!NAME_RE.test(name)) throw new DiscoError('DISCO_JOB_NOT_FOUND', `expected a job name like prefix@hex:hex:hex, found ${JSON.stringify(name)}`)
  return join(jobsRoot(storeDir), name)
}

/** Creates the directory of a new job with a unique `<prefix>@…` name and returns the name. */
export function createJob(storeDir: string, prefix: string): string {
  mkdirSync(jobsRoot(storeDir), { recursive: true })
  const micros = Date.now() * 1000 + Number(process.hrtime.bigint() % 1000n)
  for (let bump = 0; ; bump++) {
    const name = jobName(prefix, micros, bump)
    try {
      mkdirSync(jobDir(storeDir, name))
      return name
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
  }
}

/** Reads a job record; DISCO_JOB_NOT_FOUND when there is none. */
export function readInfo(storeDir: string, name: string): JobInfo {
  const file = join(jobDir(storeDir, name), 'job.json')
  if (!existsSync(file)) throw new DiscoError('DISCO_JOB_NOT_FOUND', `no job ${name} in ${storeDir}`)
  return JSON.parse(readFileSync(file, 'utf8')) as JobInfo
}

export function writeInfo(storeDir: string, info: JobInfo): void {
  info.updated = new Date().toISOString()
  writeFileAtomic(join(jobDir(storeDir, info.name), 'job.json'), JSON.stringify(info, null, 1))
}

/** Appends one timestamped event line. */
export function appendEvent(storeDir: string, name: string, message: string): void {
  appendFileSync(join(jobDir(storeDir, name), 'events.ndjson'), JSON.stringify([new Date().toISOString(), hostname(), message]) + '\n')
}

/** A job's events from byte `offset` on, and the offset to continue from. */
export function readEvents(storeDir: string, name: string, offset = 0): { events: [string, string, string][]; offset: number } {
  readInfo(storeDir, name)
  const file = join(jobDir(storeDir, name), 'events.ndjson')
  if (!existsSync(file)) return { events: [], offset }
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    const buf = Buffer.alloc(Math.max(0, size - offset))
    readSync(fd, buf, 0, buf.length, offset)
    const end = buf.lastIndexOf(10) + 1 // only whole lines
    const text = buf.toString('utf8', 0, end)
    const events = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as [string, string, string])
    return { events, offset: offset + end }
  } finally {
    closeSync(fd)
  }
}

/** Names of all jobs in a store (unordered). */
export function listJobNames(storeDir: string): string[] {
  const root = jobsRoot(storeDir)
  if (!existsSync(root)) return []
  return readdirSync(root).filter((n) => NAME_RE.test(n) && existsSync(join(root, n, 'job.json')))
}

/** The file whose presence asks the process running a job to kill it. */
export function killMarker(storeDir: string, name: string): string {
  return join(jobDir(storeDir, name), 'kill')
}

export function removeJob(storeDir: string, name: string): void {
  rmSync(jobDir(storeDir, name), { recursive: true, force: true })
}
