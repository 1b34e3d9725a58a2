// Entry point of a pool worker thread: runs the task messages it is sent, one at a time, and
// forwards what the task prints (console.*) as log lines for the job's event log.
import { parentPort } from 'node:worker_threads'
import { format } from 'node:util'
import { runTask } from './task.js'
import { errorToData, type WorkerReply } from './executor.js'
import { useDdfsInputs } from './ddfs-inputs.js'
import type { TaskMessage } from './types.js'

const port = parentPort
if (!port) throw new Error('disco worker.js must run as a worker thread')
const post = (m: WorkerReply): void => port.postMessage(m)
useDdfsInputs()

let current = ''
for (const name of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[name] = (...args: unknown[]) => post({ type: 'log', message: `${current}: ${format(...args)}` })
}

port.on('message', (msg: TaskMessage) => {
  current = msg.task.id
  const hooks = {
    log: (message: string) => post({ type: 'log', message }),
    progress: (records: number) => post({ type: 'progress', records }),
  }
  runTask(msg, hooks).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'error', error: errorToData(e) }),
  )
})
