// The Disco engine's record count and progress for an Inferno job come from the map's own line
// splitter (countsNewlines): exactly the newlines of each blob, gzip or plain, whatever path each
// line takes (WebAssembly blocks, the JS scanner, bad lines, too-long lines).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { ddfsStore, findRules, jobInfo, jobTasks, openLocalStores, runRule, type RunProgress } from 'disco-inferno'

const RULES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rules')

test('Inferno on Disco: task records and progress are the blobs\' newlines (gzip and plain, bad and too-long lines)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferno-records-'))
  try {
    const stores = openLocalStores(dir)
    const store = ddfsStore(stores.ddfs, stores)
    const names = ['Simpson', 'Powell', 'Flanders', 'Términos']
    const blob = (n: number, seed: number): string => {
      const lines: string[] = []
      for (let i = 0; i < n; i++) {
        const k = (i * 7 + seed) % 97
        lines.push(k === 3 ? '{"last": "cut' : k === 5 ? `{"last":"${'x'.repeat(300)}"}` : JSON.stringify({ first: `f${i}`, last: names[k % 4] }))
      }
      return lines.join('\n')
    }
    // 12 000 and 15 000 lines (past the engine's progress step), the second gzip, the last line of each without a newline.
    const texts = [blob(12_000, 1), blob(15_000, 2)]
    await stores.ddfs.push('example:chunk:users', [
      { name: 'users-plain', data: Buffer.from(texts[0]!) },
      { name: 'users-gzip', data: gzipSync(texts[1]!) },
    ])
    const [rule] = await findRules(RULES, 'names.last_names_json')
    const seen: RunProgress[] = []
    let out = ''
    // A too-long line limit that the 300-byte lines pass over: they become bad lines.
    const res = await runRule(rule!, { store, out: (s) => { out += s }, onProgress: (p) => seen.push(p), noPurge: true, maxRecordSize: 200 })
    assert.equal(res.status, 'done', res.reason)
    const newlines = texts.reduce((n, t) => n + t.split('\n').length - 1, 0)
    const info = await jobInfo(stores, res.jobName)
    assert.equal(info.records, newlines)
    const maps = (await jobTasks(stores, res.jobName)).filter((t) => t.task.startsWith('map:')).map((t) => t.records).sort((a, b) => a - b)
    assert.deepEqual(maps, [11_999, 14_999])
    // Every line was read (the last ones too): records and bad lines add up to all lines.
    assert.equal(res.records + res.badLines, 27_000)
    assert.ok(seen.some((p) => p.stage === 'map'))
    assert.match(out, /^last,count\r\n/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
