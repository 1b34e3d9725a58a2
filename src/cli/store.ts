// The store options every tool shares (`--store DIR|nats://…`, `--creds`, `--tls-ca`) and the one
// opened store of a CLI process, closed when the command ends (so a cluster connection never keeps
// a finished command alive).
import type { Command } from 'commander'
import { Option } from 'commander'
import { openAnyStore, type OpenedStore, type StoreOptions } from '../cluster/index.js'
import type { Ddfs } from '../ddfs/index.js'

/** The store options as commander parses them. */
export interface StoreFlags {
  store?: string
  creds?: string
  tlsCa?: string
}

/** Adds `--store`, `--creds` and `--tls-ca` to a program. */
export function addStoreOptions(program: Command): Command {
  return program
    .addOption(new Option('--store <dir|url>', 'store directory, or nats://host:port[,host:port…] for a cluster (default $DISCO_STORE or ./.disco)'))
    .addOption(new Option('--creds <file>', 'NATS credentials file for a nats:// store'))
    .addOption(new Option('--tls-ca <file>', 'CA certificate to trust for a nats:// store (turns TLS on)'))
}

const opened = new Map<string, Promise<OpenedStore>>()

/**
 * The process's store for these flags (opened once; a cluster connects with bounded timeouts and
 * fails with one coded `CLUSTER_*` error).
 */
export async function cliStore(flags: StoreFlags): Promise<Ddfs> {
  const opts: StoreOptions = { ...(flags.creds ? { creds: flags.creds } : {}), ...(flags.tlsCa ? { tlsCa: flags.tlsCa } : {}) }
  const key = JSON.stringify([flags.store ?? process.env.DISCO_STORE ?? '', opts])
  let p = opened.get(key)
  if (!p) {
    p = openAnyStore(flags.store, opts)
    opened.set(key, p)
    p.catch(() => opened.delete(key))
  }
  return (await p).ddfs
}

/** Closes every store the process opened (call when the command is done, success or not). */
export async function closeCliStores(): Promise<void> {
  const all = [...opened.values()]
  opened.clear()
  await Promise.all(all.map((p) => p.then((s) => s.close(), () => {})))
}
