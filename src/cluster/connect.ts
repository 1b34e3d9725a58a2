// The one NATS connection behind every cluster adapter of a store (URL grammar in url.ts).
// Connection failures become one coded error: CLUSTER_UNREACHABLE, CLUSTER_AUTH, CLUSTER_TLS,
// CLUSTER_NO_JETSTREAM; every wait is bounded.
import { readFileSync } from 'node:fs'
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { DiscoError } from '../errors.js'
import { TRANSIENT_WINDOW_MS, transient } from './retry.js'
import type { ClusterConfig } from './url.js'

/** The coded error for a failed first connect. */
function connectError(cfg: ClusterConfig, e: unknown): DiscoError {
  const err = e as { name?: string, message?: string, code?: string, cause?: { code?: string, message?: string } }
  const text = `${err?.name ?? ''} ${err?.message ?? String(e)} ${err?.code ?? ''} ${err?.cause?.code ?? ''} ${err?.cause?.message ?? ''}`
  const where = cfg.servers.join(',')
  if (/authoriz|authenticat|permission/i.test(text)) return new DiscoError('CLUSTER_AUTH', `the cluster at ${where} refused the credentials (check the user/password in the URL or --creds)`, { cause: e })
  if (/certificate|CERT_|self.signed|tls|ssl/i.test(text)) return new DiscoError('CLUSTER_TLS', `TLS with the cluster at ${where} failed: ${err?.cause?.message ?? err?.message ?? String(e)} (check --tls-ca)`, { cause: e })
  return new DiscoError('CLUSTER_UNREACHABLE', `no NATS server answered at ${where} within ${cfg.connectTimeoutMs} ms (${err?.message ?? String(e)})`, { cause: e })
}

/**
 * One NATS connection with JetStream, shared by the cluster adapters of a store.
 *
 * @example
 * const c = await ClusterConnection.open(parseClusterUrl('nats://127.0.0.1:4222'))
 * await c.close()
 */
export class ClusterConnection {
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
  readonly config: ClusterConfig
  /** Replicas for new streams and buckets. */
  readonly replicas: number

  private constructor(cfg: ClusterConfig, nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager) {
    this.config = cfg
    this.nc = nc
    this.js = js
    this.jsm = jsm
    this.replicas = cfg.replicas ?? (nc.info?.cluster ? 3 : 1)
  }

  /** Connects (bounded) and checks JetStream; throws one coded `CLUSTER_*` error on failure. */
  static async open(cfg: ClusterConfig): Promise<ClusterConnection> {
    let authenticator
    if (cfg.creds) {
      let bytes: Buffer
      try { bytes = readFileSync(cfg.creds) } catch (e) {
        throw new DiscoError('CLUSTER_AUTH', `cannot read the credentials file ${cfg.creds}: ${(e as Error).message}`, { cause: e })
      }
      authenticator = credsAuthenticator(new Uint8Array(bytes))
    }
    let nc: NatsConnection
    try {
      nc = await connect({
        servers: cfg.servers,
        name: `disco-inferno pid ${process.pid}`,
        ...(cfg.user !== undefined ? { user: cfg.user, pass: cfg.pass ?? '' } : {}),
        ...(authenticator ? { authenticator } : {}),
        ...(cfg.tlsCa !== undefined ? { tls: cfg.tlsCa ? { caFile: cfg.tlsCa } : {} } : {}),
        timeout: cfg.connectTimeoutMs,
        // After the first connect, keep reconnecting (to any server of the cluster) for as long
        // as the process runs; calls in flight are retried by `transient()`.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 10_000,
      })
    } catch (e) {
      throw connectError(cfg, e)
    }
    try {
      // A lone server says in its INFO whether JetStream is on; in a cluster another server may serve it.
      if (nc.info && !nc.info.jetstream && !nc.info.cluster) throw new DiscoError('CLUSTER_NO_JETSTREAM', `the NATS server at ${cfg.servers.join(',')} has no JetStream (start nats-server with -js or a jetstream {} block)`)
      // A cluster member's JetStream API can be silent while the meta leader is re-elected (a
      // server just died): wait that out as any call does; a lone server answers at once.
      const clustered = Boolean(nc.info?.cluster)
      const jsm = await transient(() => jetstreamManager(nc, { timeout: 5_000 }), { what: 'JetStream check', windowMs: clustered ? TRANSIENT_WINDOW_MS : 10_000 })
      return new ClusterConnection(cfg, nc, jetstream(nc, { timeout: 5_000 }), jsm)
    } catch (e) {
      await nc.close().catch(() => {})
      if (e instanceof DiscoError && e.code !== 'CLUSTER_UNAVAILABLE') throw e
      // Requests that time out are a cluster without a JetStream leader, not one without JetStream.
      if (e instanceof DiscoError && nc.info?.cluster && /timeout/i.test(String((e.cause as Error | undefined)?.message))) throw e
      throw new DiscoError('CLUSTER_NO_JETSTREAM', `the NATS server at ${cfg.servers.join(',')} has no JetStream (start nats-server with -js or a jetstream {} block)`, { cause: e })
    }
  }

  /** Name of a stream or bucket under this store's prefix (`disco-tags`). */
  name(what: string): string {
    return `${this.config.prefix}-${what}`
  }

  /** Drains and closes the connection (bounded). */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return
    const t = setTimeout(() => { void this.nc.close() }, 5_000)
    try { await this.nc.drain() } catch { await this.nc.close().catch(() => {}) } finally { clearTimeout(t) }
  }
}
