// Real servers for the cluster tests and bench/cluster.ts: `nats-server` (Debian) processes, one or
// a 3-server JetStream cluster, and `s3rver` (a devDependency), all on 127.0.0.1 with random ports
// and temp dirs, every wait bounded, every process stopped by its PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createRequire } from 'node:module'

/** How long a server may take to print its ready line. */
const START_TIMEOUT_MS = 15_000

/** One running server process. */
export interface ServerProcess {
  pid: number
  /** `nats://127.0.0.1:<port>` or `http://127.0.0.1:<port>`. */
  url: string
  port: number
  /** Everything it logged so far (stdout + stderr). */
  log(): string
  /** SIGKILL (`kill -9`); resolves once the process is gone. */
  kill9(): Promise<void>
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>
}

/** True when `nats-server` is on the PATH (CI installs it from Debian). */
export function hasNatsServer(): boolean {
  return spawnSync('nats-server', ['--version']).status === 0
}
const require_ = createRequire(import.meta.url)

/** Free TCP ports on 127.0.0.1 (bound to port 0, then released; the window is microseconds). */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = []
  const servers = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise<void>((res, rej) => { s.once('error', rej); s.listen(0, '127.0.0.1', () => res()) })
    servers.push(s)
    out.push((s.address() as { port: number }).port)
  }
  await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))))
  return out
}

/** Starts `cmd args`, resolves when `ready` matches the output (giving the port), bounded. */
function startProcess(label: string, cmd: string, args: string[], ready: RegExp, urlScheme: string, env?: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
  let text = ''
  let exited = false
  const gone = new Promise<void>((res) => child.once('exit', () => { exited = true; res() }))
  const waitGone = async (ms: number): Promise<boolean> => {
    if (exited) return true
    let timer: NodeJS.Timeout | undefined
    const t = new Promise<boolean>((res) => { timer = setTimeout(() => res(false), ms) })
    const r = await Promise.race([gone.then(() => true), t])
    clearTimeout(timer)
    return r
  }
  const signal = (sig: NodeJS.Signals): void => { try { if (!exited && child.pid) process.kill(child.pid, sig) } catch { /* already gone */ } }
  return new Promise((res, rej) => {
    const timer = setTimeout(() => { signal('SIGKILL'); rej(new Error(`${label} did not start within ${START_TIMEOUT_MS} ms:\n${text}`)) }, START_TIMEOUT_MS)
    let done = false
    const onData = (b: Buffer): void => {
      text += b.toString()
      if (text.length > 1 << 20) text = text.slice(-(1 << 19))
      const m = ready.exec(text)
      if (m && !done) {
        done = true
        clearTimeout(timer)
        const port = Number(m[1])
        res({
          pid: child.pid!,
          port,
          url: `${urlScheme}://127.0.0.1:${port}`,
          log: () => text,
          kill9: async () => { signal('SIGKILL'); await waitGone(10_000) },
          stop: async () => { signal('SIGTERM'); if (!(await waitGone(5_000))) { signal('SIGKILL'); await waitGone(10_000) } },
        })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', (e) => { clearTimeout(timer); if (!done) rej(e) })
    child.once('exit', (code) => { clearTimeout(timer); if (!done) rej(new Error(`${label} exited with ${code} before it was ready:\n${text}`)) })
  })
}

const NATS_READY = /Listening for client connections on 127\.0\.0\.1:(\d+)[\s\S]*Server is ready/

/** Options of one nats-server. */
export interface NatsOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean
  /** Extra config-file text (e.g. an `authorization { … }` block or `tls { … }`). */
  config?: string
}

/** A single nats-server (JetStream on by default) with its own temp store dir. */
export async function startNats(opts: NatsOptions = {}): Promise<ServerProcess & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-'))
  const conf = join(dir, 'server.conf')
  writeFileSync(conf, [
    'listen: "127.0.0.1:-1"',
    opts.jetstream === false ? '' : `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
    opts.config ?? '',
  ].join('\n'))
  try {
    const s = await startProcess('nats-server', 'nats-server', ['-c', conf], NATS_READY, 'nats')
    const stop = s.stop
    return { ...s, dir, stop: async () => { await stop(); rmSync(dir, { recursive: true, force: true }) } }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

/** A 3-server (by default) JetStream cluster on loopback. `url` lists every server. */
export interface NatsCluster {
  servers: ServerProcess[]
  /** `nats://127.0.0.1:a,127.0.0.1:b,127.0.0.1:c` */
  url: string
  dir: string
  stop(): Promise<void>
}

/** Starts an N-server JetStream cluster and waits until its servers report being ready. */
export async function startNatsCluster(n = 3): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-cluster-'))
  const routePorts = await freePorts(n)
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`)
  const servers: ServerProcess[] = []
  try {
    const started = routePorts.map((port, i) => {
      const conf = join(dir, `n${i + 1}.conf`)
      writeFileSync(conf, [
        'listen: "127.0.0.1:-1"',
        `server_name: n${i + 1}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, `n${i + 1}`))} }`,
        `cluster { name: disco, listen: "127.0.0.1:${port}", routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}] }`,
      ].join('\n'))
      return startProcess(`nats-server n${i + 1}`, 'nats-server', ['-c', conf], NATS_READY, 'nats')
    })
    const results = await Promise.allSettled(started)
    for (const r of results) if (r.status === 'fulfilled') servers.push(r.value)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  } catch (e) {
    await Promise.all(servers.map((s) => s.kill9()))
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  return {
    servers,
    dir,
    url: 'nats://' + servers.map((s) => `127.0.0.1:${s.port}`).join(','),
    stop: async () => { await Promise.all(servers.map((s) => s.stop())); rmSync(dir, { recursive: true, force: true }) },
  }
}

/** An `s3rver` child process on loopback with one bucket, and its temp data dir. */
export async function startS3rver(bucket = 'disco'): Promise<ServerProcess & { dir: string, bucket: string }> {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-'))
  const bin = resolve(require_.resolve('s3rver/package.json'), '..', 'bin', 's3rver.js')
  try {
    const fix = new URL('./s3rver-fix.js', import.meta.url).href
    const s = await startProcess('s3rver', process.execPath, ['--import', fix, bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--silent', '--configure-bucket', bucket], /S3rver listening on 127\.0\.0\.1:(\d+)/, 'http')
    const stop = s.stop
    return { ...s, dir, bucket, stop: async () => { await stop(); rmSync(dir, { recursive: true, force: true }) } }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}
