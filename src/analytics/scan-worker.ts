// A scan worker of ScanPool: opens shards from shared index bytes once and runs plain funnel scans.
import { parentPort } from 'node:worker_threads'
import { DiscoDB } from '../discodb/index.js'
import { scanPlain } from './funnel.js'
import { Part, Shard } from './model.js'
import type { ScanTask } from './pool.js'

const shards = new Map<number, Shard>()

parentPort!.on('message', (m: { seq: number; task: ScanTask }) => {
  try {
    const t = m.task
    let sh = shards.get(t.shard)
    if (!sh) {
      if (!t.part) throw new Error(`scan worker: shard ${t.shard} was never sent`)
      sh = new Shard(t.shard, [new Part(DiscoDB.loads(t.part.bytes), t.part.label, t.part.bytes)])
      shards.set(t.shard, sh)
    }
    const r = scanPlain(sh, t)
    parentPort!.postMessage({ seq: m.seq, result: r }, r.times.map((a) => a.buffer as ArrayBuffer))
  } catch (e) {
    const err = e as { code?: string; message?: string }
    parentPort!.postMessage({ seq: m.seq, error: { ...(typeof err?.code === 'string' ? { code: err.code } : {}), message: String(err?.message ?? e) } })
  }
})
