// Worker threads that share a model's per-user funnel scans across shards. The index bytes live in
// shared memory (see Model.shard), so a worker opens a shard once without copying it; each task
// sends the user numbers to scan and gets back per-step counts and times to convert.
import { Worker } from 'node:worker_threads'
import { DiscoError } from '../errors.js'

/** What a scan task asks (plain funnel: no breakdown, one-batch shard). */
export interface ScanTask {
  shard: number
  /** The shard's index bytes and label (sent once per worker and shard). */
  part?: { bytes: Uint8Array; label: string }
  /** Step names → ids. */
  names: [string, number][]
  mode: 'ordered' | 'strict' | 'any-order'
  steps: Int32Array
  need: number[]
  windowMs: number
  lo: number
  hi: number
  /** Users to scan (ascending user numbers). */
  timed: Uint32Array
}

/** A scan's partial answer: users per step and the times to convert of steps 2… (counts[k] used). */
export interface ScanResult {
  users: number[]
  times: Float64Array[]
  counts: Int32Array
}

interface Slot {
  worker: Worker
  /** Shards this worker has opened. */
  opened: Set<number>
  pending: Map<number, { resolve: (r: ScanResult) => void; reject: (e: Error) => void }>
}

/** A fixed pool of scan workers (unreferenced while idle, so they never keep a process alive). */
export class ScanPool {
  readonly #slots: Slot[] = []
  #seq = 0
  #closed = false

  constructor(readonly size: number) {}

  #slot(i: number): Slot {
    let s = this.#slots[i]
    if (!s) {
      const worker = new Worker(new URL('./scan-worker.js', import.meta.url))
      worker.unref()
      const slot: Slot = { worker, opened: new Set(), pending: new Map() }
      worker.on('message', (m: { seq: number; result?: ScanResult; error?: { code?: string; message: string } }) => {
        const p = slot.pending.get(m.seq)
        if (!p) return
        slot.pending.delete(m.seq)
        if (slot.pending.size === 0) worker.unref()
        if (m.result) p.resolve(m.result)
        else p.reject(m.error?.code ? new DiscoError(m.error.code, m.error.message) : new Error(m.error?.message ?? 'scan worker failed'))
      })
      const fail = (e: Error): void => {
        for (const p of slot.pending.values()) p.reject(e)
        slot.pending.clear()
        if (this.#slots[i] === slot) this.#slots[i] = undefined as unknown as Slot
      }
      worker.on('error', fail)
      worker.on('exit', (code) => fail(new Error(`scan worker exited with code ${code}`)))
      this.#slots[i] = s = slot
    }
    return s
  }

  /** Runs a scan on worker `i`; the part bytes go along the first time that worker sees the shard. */
  run(i: number, task: ScanTask, part: () => { bytes: Uint8Array; label: string }): Promise<ScanResult> {
    if (this.#closed) return Promise.reject(new DiscoError('ANALYTICS_BAD_PARAM', 'the model was closed'))
    const slot = this.#slot(i)
    const seq = ++this.#seq
    const msg: ScanTask = slot.opened.has(task.shard) ? task : { ...task, part: part() }
    slot.opened.add(task.shard)
    return new Promise<ScanResult>((resolve, reject) => {
      slot.pending.set(seq, { resolve, reject })
      slot.worker.ref()
      slot.worker.postMessage({ seq, task: msg })
    })
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.filter(Boolean).map((s) => s.worker.terminate()))
  }
}
