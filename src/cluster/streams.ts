// Creating the JetStream streams the cluster layer owns (idempotent, through elections).
import type { StreamConfig } from '@nats-io/jetstream'
import { DiscoError } from '../errors.js'
import type { ClusterConnection } from './connect.js'
import { transient } from './retry.js'

/**
 * Makes sure stream `cfg.name` exists: created with the connection's replica count when missing,
 * used as it is when present with the same subjects; `CLUSTER_BAD_CONFIG` when a stream of that
 * name has other subjects or retention than this layer needs (someone else's stream).
 */
export async function ensureStream(conn: ClusterConnection, cfg: Partial<StreamConfig> & { name: string, subjects: string[] }): Promise<void> {
  await transient(async () => {
    const info = await conn.jsm.streams.info(cfg.name).catch((e: Error) => {
      if (/not found/i.test(e.message)) return undefined
      throw e
    })
    if (info) {
      const same = cfg.subjects.every((s) => info.config.subjects?.includes(s)) && (cfg.retention === undefined || info.config.retention === cfg.retention)
      if (!same) {
        throw new DiscoError('CLUSTER_BAD_CONFIG', `stream ${cfg.name} exists with subjects ${JSON.stringify(info.config.subjects)} and retention ${info.config.retention}; expected ${JSON.stringify(cfg.subjects)}${cfg.retention ? ` and ${cfg.retention}` : ''} (use another ?prefix= or delete the stream)`)
      }
      return
    }
    try {
      await conn.jsm.streams.add({ num_replicas: conn.replicas, ...cfg })
    } catch (e) {
      const msg = (e as Error).message
      if (/already in use/i.test(msg)) return
      if (/replicas|peers|insufficient|overlap/i.test(msg) && !/no suitable peers/i.test(msg)) {
        throw new DiscoError('CLUSTER_BAD_CONFIG', `cannot create stream ${cfg.name}: ${msg}`, { cause: e })
      }
      throw e
    }
  }, { what: `open stream ${cfg.name}` })
}
