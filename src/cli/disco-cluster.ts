// The cluster verbs of `disco`: `disco worker` (a worker process of the distributed executor, until
// SIGTERM) and `disco cluster` (workers alive, tasks queued/running/failed, stream health).
import type { Command } from 'commander'
import { DiscoError } from '../errors.js'
import { listJobs } from '../disco/index.js'
import type { OpenedDiscoStores } from '../cluster/index.js'
import { transient } from '../cluster/retry.js'
import { usageError } from './common.js'

/** Test hook: a worker with this set dies (SIGKILL) when it starts that task id on a first delivery (`<id>*`: any delivery). */
export const DIE_AT_ENV = 'DISCO_WORKER_DIE_AT'

function posInt(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined
  if (!/^[1-9]\d*$/.test(s)) throw usageError(`${what}: expected a positive integer, found ${JSON.stringify(s)}`)
  return Number(s)
}

async function clusterOf(open: () => Promise<OpenedDiscoStores>, verb: string): Promise<Required<OpenedDiscoStores>> {
  const o = await open()
  if (!o.cluster) throw usageError(`disco ${verb} needs a cluster store: --store nats://host:port (or $DISCO_STORE)`)
  return o as Required<OpenedDiscoStores>
}

/** Adds `worker` and `cluster` to the `disco` program. */
export function addClusterCommands(program: Command, open: () => Promise<OpenedDiscoStores>): void {
  program.command('worker').description('run tasks of the cluster\'s jobs until SIGTERM (graceful: finishes or hands back its tasks)')
    .option('-c, --concurrency <n>', 'tasks run at once (default 1)')
    .option('--ack-wait <seconds>', 'how long a silent worker keeps a task before it is redelivered (default 30)')
    .option('--max-deliver <n>', 'deliveries of a task before it fails with DISCO_TASK_LOST (default 5)')
    .option('--grace <seconds>', 'on SIGTERM, how long running tasks may finish before they are handed back (default 20)')
    .action(async (o: { concurrency?: string; ackWait?: string; maxDeliver?: string; grace?: string }) => {
      const concurrency = posInt(o.concurrency, '--concurrency') ?? 1
      const ackWait = posInt(o.ackWait, '--ack-wait')
      const maxDeliver = posInt(o.maxDeliver, '--max-deliver')
      const grace = posInt(o.grace, '--grace') ?? 20
      const { cluster, stores } = await clusterOf(open, 'worker')
      const { ClusterWorker } = await import('../cluster/executor.js')
      const dieAt = process.env[DIE_AT_ENV]
      const worker = new ClusterWorker(cluster, stores, {
        concurrency,
        ...(ackWait ? { ackWaitMs: ackWait * 1000 } : {}),
        ...(maxDeliver ? { maxDeliver } : {}),
        ...(dieAt ? { dieAt } : {}),
        log: (line) => process.stderr.write(`disco: ${line}\n`),
      })
      const stop = new Promise<void>((res) => {
        process.once('SIGTERM', () => res())
        process.once('SIGINT', () => res())
      })
      await worker.start()
      process.stdout.write(`${worker.id} ready\n`)
      await stop
      if ((await worker.stop(grace * 1000)) > 0) {
        // Handed-back tasks may still be running user code here: end the process now.
        await (await open()).close()
        process.exit(0)
      }
    })

  program.command('cluster').description('cluster status: workers alive, tasks queued/running, active jobs, stream health')
    .option('--json', 'the status as JSON')
    .action(async (o: { json?: boolean }) => {
      const { cluster, stores } = await clusterOf(open, 'cluster')
      const { queueNames } = await import('../cluster/executor.js')
      const q = queueNames(cluster)
      const now = stores.jobs.now()
      const workers = (await stores.jobs.heartbeats('worker')).filter((h) => h.alive).map((h) => {
        const d = (h.data ?? {}) as { host?: string; pid?: number; concurrency?: number; running?: string[] }
        return { id: h.id, host: d.host ?? '', pid: d.pid ?? 0, concurrency: d.concurrency ?? 0, running: d.running?.length ?? 0, heartbeatAgeMs: Math.max(0, now - h.at) }
      })
      let stream: { name: string; messages: number; replicas: number; leader?: string } | { name: string; error: string }
      let tasks = { queued: 0, running: 0, redelivered: 0 }
      try {
        const si = await transient(() => cluster.jsm.streams.info(q.stream), { what: `read stream ${q.stream}` })
        stream = { name: q.stream, messages: si.state.messages, replicas: si.config.num_replicas, ...(si.cluster?.leader ? { leader: si.cluster.leader } : {}) }
        const ci = await transient(() => cluster.jsm.consumers.info(q.stream, q.consumer), { what: `read consumer ${q.consumer}` }).catch(() => undefined)
        tasks = { queued: ci?.num_pending ?? si.state.messages, running: ci?.num_ack_pending ?? 0, redelivered: ci?.num_redelivered ?? 0 }
      } catch (e) {
        if (e instanceof DiscoError) throw e
        if (!/not found/i.test((e as Error).message)) throw new DiscoError('CLUSTER_UNAVAILABLE', `cannot read stream ${q.stream}: ${(e as Error).message}`)
        stream = { name: q.stream, error: 'not created yet (no job has run)' }
      }
      const jobs = (await listJobs(stores)).filter((j) => j.status === 'active').map((j) => ({
        name: j.name, tasks: j.tasks.map + j.tasks.reduce, done: j.tasks.done, failed: j.tasks.failed,
      }))
      const status = { workers, tasks, jobs, stream }
      if (o.json) {
        process.stdout.write(JSON.stringify(status, null, 2) + '\n')
        return
      }
      const lines = [`workers  ${workers.length} alive`]
      for (const w of workers) lines.push(`  ${w.id}  ${w.host} pid ${w.pid}  ${w.running}/${w.concurrency} running  heartbeat ${(w.heartbeatAgeMs / 1000).toFixed(1)} s ago`)
      lines.push(`tasks    ${tasks.queued} queued, ${tasks.running} running, ${tasks.redelivered} redelivered`)
      lines.push(`jobs     ${jobs.length} active`)
      for (const j of jobs) lines.push(`  ${j.name}  ${j.done}/${j.tasks} done, ${j.failed} failed attempts`)
      lines.push('error' in stream ? `stream   ${stream.name}: ${stream.error}` : `stream   ${stream.name}: ${stream.messages} messages, ${stream.replicas} replica(s)${stream.leader ? `, leader ${stream.leader}` : ''}`)
      process.stdout.write(lines.join('\n') + '\n')
    })
}
