import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runJobStoreCompliance } from '#src/disco/compliance.js'
import { LocalJobStore } from 'disco-inferno'

runJobStoreCompliance('local', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobstore-compliance-'))
  return { store: new LocalJobStore(dir), open: async () => new LocalJobStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) }
})
