import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCompliance } from '#src/ddfs/compliance.js'
import { LocalBlobStore, LocalTagStore } from 'disco-inferno'

runCompliance('local', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddfs-compliance-'))
  return { tags: new LocalTagStore(dir), blobs: new LocalBlobStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) }
})
