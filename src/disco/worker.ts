// Entry point of a pool worker thread: runs the task messages it is sent, one at a time, and
// forwards what the task prints (console.*) as log lines for the job's event log. The store
// factory to use comes in `workerData.stores` (a module and export), imported once. A `preload`
// message names modules to import before the tasks that need them arrive.
import { parentPort, workerData } from 'node:worker_threads'
import { format } from 'node:util'
import { runTask } from './task.js'
import { errorToData, type PoolMessage, type WorkerReply } from './executor.js'
import { loadFn, preloadModule } from './load.js'
import type { DiscoStores, StoreFactory } from './stores.js'
import type { FnRef } from './types.js'

const port = parentPort
if (!port) throw new Error('disco worker.js must run as a worker thread')
const post = (m: WorkerReply): void => port.postMessage(m)
const factoryRef = (workerData as { stores: FnRef }).stores
const opened = new Map<string, Promise<DiscoStores>>()

function storesOf(ref: string): Promise<DiscoStores> {
  let s = opened.get(ref)
  if (!s) {
    s = loadFn<StoreFactory>(factoryRef, 'store factory').then((f) => f(ref))
    s.catch(() => opened.delete(ref))
    opened.set(ref, s)
  }
  return s
}

let current = ''
for (const name of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[name] = (...args: unknown[]) => post({ type: 'log', message: `${current}: ${format(...args)}` })
}

port.on('message', (msg: PoolMessage) => {
  if (msg.kind === 'preload') {
    for (const m of msg.modules) preloadModule(m)
    return
  }
  current = msg.task.id
  const hooks = {
    log: (message: string) => post({ type: 'log', message }),
    progress: (records: number, bytes?: number) => post({ type: 'progress', records, ...(bytes ? { bytes } : {}) }),
  }
  storesOf(msg.store).then((stores) => runTask(msg, hooks, stores)).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'error', error: errorToData(e) }),
  )
})
