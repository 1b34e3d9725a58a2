// Child process of failover.test.ts: appends `count` entries `raw://<id>-<i>` to one tag through
// the cluster store named in argv, printing "progress <i>" after each.
import { openAnyStore } from 'disco-inferno'

const [url, tag, id, count] = process.argv.slice(2) as [string, string, string, string]
// `node --test build/test/` loads every file: without arguments this is a no-op.
if (url === undefined) process.exit(0)
const s = await openAnyStore(url)
for (let i = 0; i < Number(count); i++) {
  await s.ddfs.tag(tag, [`raw://${id}-${i}`])
  process.stdout.write(`progress ${i}\n`)
}
await s.close()
