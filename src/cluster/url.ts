// The cluster store URL (no client library loaded here, so choosing a store stays cheap):
//
//   nats://[user:password@]host:port[,host:port…][?replicas=N&prefix=P&blobs=s3://bucket/prefix
//                                                 &s3-endpoint=http://host:port&creds=FILE&tls-ca=FILE&timeout=MS]
import { DiscoError } from '../errors.js'

/** Default first-connect timeout per server. */
export const CONNECT_TIMEOUT_MS = 5_000

/** What a `nats://` store URL (plus `--creds` / `--tls-ca`) says. */
export interface ClusterConfig {
  /** `host:port` of every listed server. */
  servers: string[]
  user?: string
  pass?: string
  /** NATS credentials file (`--creds`). */
  creds?: string
  /** CA certificate file to trust (`--tls-ca`); turns TLS on. */
  tlsCa?: string
  /** Replicas of every stream and bucket; default 3 on a cluster, 1 on a single server. */
  replicas?: number
  /** Name prefix of the streams and buckets (default `disco`), so stores can share a cluster. */
  prefix: string
  /** `s3://bucket[/prefix]`: keep blobs in S3 instead of the JetStream object store. */
  blobs?: string
  /** S3 endpoint (e.g. a MinIO or `s3rver` URL); default AWS. */
  s3Endpoint?: string
  /** First-connect timeout in ms. */
  connectTimeoutMs: number
}

/** True when a store value names a cluster rather than a directory. */
export function isClusterUrl(store: string): boolean {
  return /^(nats|tls):\/\//i.test(store)
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

/**
 * Parses a `nats://` store URL; `extra` carries the command-line `--creds` / `--tls-ca`.
 *
 * @example
 * parseClusterUrl('nats://u:p@127.0.0.1:4222,127.0.0.1:4223?replicas=3').servers // ['127.0.0.1:4222', '127.0.0.1:4223']
 */
export function parseClusterUrl(url: string, extra: { creds?: string, tlsCa?: string } = {}): ClusterConfig {
  const bad = (why: string): never => { throw new DiscoError('CLUSTER_BAD_URL', `expected nats://[user:password@]host:port[,host:port…][?options], found ${JSON.stringify(url)}: ${why}`) }
  const m = /^(nats|tls):\/\/([^?]*)(?:\?(.*))?$/i.exec(url)
  if (!m) return bad('not a nats:// URL')
  let hosts = m[2]!
  const cfg: ClusterConfig = { servers: [], prefix: 'disco', connectTimeoutMs: CONNECT_TIMEOUT_MS }
  const at = hosts.lastIndexOf('@')
  if (at >= 0) {
    const auth = hosts.slice(0, at)
    hosts = hosts.slice(at + 1)
    const colon = auth.indexOf(':')
    cfg.user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth)
    if (colon >= 0) cfg.pass = decodeURIComponent(auth.slice(colon + 1))
  }
  for (const h of hosts.replace(/\/+$/, '').split(',')) {
    const hm = HOST_PORT.exec(h)
    if (!hm || Number(hm[2]) < 1 || Number(hm[2]) > 65535) bad(`server ${JSON.stringify(h)} is not host:port`)
    cfg.servers.push(h)
  }
  const q = new URLSearchParams(m[3] ?? '')
  for (const [k, v] of q) {
    switch (k) {
      case 'replicas': {
        const n = Number(v)
        if (!Number.isInteger(n) || n < 1 || n > 5) bad(`replicas must be 1-5, found ${JSON.stringify(v)}`)
        cfg.replicas = n
        break
      }
      case 'prefix':
        if (!/^[A-Za-z0-9_-]{1,32}$/.test(v)) bad(`prefix must match [A-Za-z0-9_-]{1,32}, found ${JSON.stringify(v)}`)
        cfg.prefix = v
        break
      case 'blobs':
        if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,62}(\/.*)?$/.test(v)) bad(`blobs must be s3://bucket[/prefix], found ${JSON.stringify(v)}`)
        cfg.blobs = v
        break
      case 's3-endpoint': cfg.s3Endpoint = v; break
      case 'creds': cfg.creds = v; break
      case 'tls-ca': cfg.tlsCa = v; break
      case 'timeout': {
        const n = Number(v)
        if (!Number.isFinite(n) || n <= 0) bad(`timeout must be milliseconds > 0, found ${JSON.stringify(v)}`)
        cfg.connectTimeoutMs = n
        break
      }
      default: bad(`unknown option ${JSON.stringify(k)} (known: replicas, prefix, blobs, s3-endpoint, creds, tls-ca, timeout)`)
    }
  }
  if (extra.creds) cfg.creds = extra.creds
  if (extra.tlsCa) cfg.tlsCa = extra.tlsCa
  if (m[1]!.toLowerCase() === 'tls' && !cfg.tlsCa) cfg.tlsCa = ''
  return cfg
}

