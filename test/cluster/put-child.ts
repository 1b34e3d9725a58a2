// Child process of obj-orphans.test.ts: starts an object-store put of a stream into
// `<prefix>-blobs` with the NATS client (as ObjBlobStore does) and dies by SIGKILL once at least
// two 512 KiB chunks are stored, before the object's metadata is written: an interrupted put.
import { Objm } from '@nats-io/obj'
import { openCluster } from 'disco-inferno'

const [url, name] = process.argv.slice(2) as [string, string]
// `node --test build/test/` loads every file: without arguments this is a no-op.
if (url === undefined) process.exit(0)
const conn = await openCluster(url)
const os = await new Objm(conn.js).create(conn.name('blobs'), { replicas: conn.replicas })
const chunk = new Uint8Array(512 * 1024).fill(120)
let pulls = 0
const source = new ReadableStream<Uint8Array>({
  pull(ctl) {
    // The client publishes (and awaits) each full chunk before it reads on (the stream reads one
    // ahead): by the 5th read at least two chunks are stored.
    if (++pulls === 5) {
      process.stdout.write('dying\n')
      process.kill(process.pid, 'SIGKILL')
    }
    ctl.enqueue(chunk)
  },
})
await os.put({ name, options: { max_chunk_size: 512 * 1024 } }, source)
