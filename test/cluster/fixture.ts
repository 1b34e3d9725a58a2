// One shared setup for the tests that run a word-count job on a 3-server R3 cluster and compare
// with the embedded run: a temp dir, a Bench of child processes, the cluster, the input files and
// the embedded answer, made in `before` and torn down (processes killed, servers stopped by PID,
// temp dir removed) in `after` of the calling test file.
import { after, before } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNatsCluster, type NatsCluster } from './servers.js'
import { Bench, wordInputs } from './workers.js'

export interface ClusterJobFixture {
  readonly dir: string
  readonly b: Bench
  /** The running cluster (set in `before`). */
  readonly cluster: NatsCluster
  /** The word-count input files. */
  readonly inputs: string[]
  /** The job's results on the embedded store, to compare with. */
  readonly expected: string
}

/** Registers before/after hooks; `embedded` computes the reference answer from the inputs. */
export function clusterJobFixture(name: string, embedded: (b: Bench, inputs: string[]) => string, servers = 3): ClusterJobFixture {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  const b = new Bench(dir)
  let cluster: NatsCluster | undefined
  let inputs: string[] = []
  let expected = ''
  before(async () => {
    cluster = await startNatsCluster(servers)
    inputs = wordInputs(dir)
    expected = embedded(b, inputs)
  })
  after(async () => {
    b.killAll()
    await cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    dir,
    b,
    get cluster () { if (cluster === undefined) throw new Error('the cluster starts in before()'); return cluster },
    get inputs () { return inputs },
    get expected () { return expected },
  }
}
