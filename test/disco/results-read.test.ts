// Reading a job's result files: each read chunk's whole lines are decoded at once and parsed as
// slices; lines across chunk boundaries (multi-byte characters among them), empty lines and a last
// line without a newline read as before, and a bad line is DISCO_BAD_RECORD naming file and line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InProcessExecutor, LocalBlobStore, isDiscoError, jobInfo, jobResultBatches, openLocalStores, runJob } from 'disco-inferno'
import { decodePairLines } from '#src/disco/records.js'
import { collect, fn, tempDir } from './helpers.js'

test('decodePairLines: slices of one text, empty lines skipped, lines numbered, a bad line coded', () => {
  const out: [string, unknown][] = []
  assert.equal(decodePairLines('["a",1]\n\n["é",[2,{"x":null}]]\r\n["z","漢"]', 'f', 7, out), 4)
  assert.deepEqual(out, [['a', 1], ['é', [2, { x: null }]], ['z', '漢']])
  assert.equal(decodePairLines('', 'f', 1, out), 0)
  for (const bad of ['["a",1]\n[1,2]\n', '["a",1]\n{"a":1}\n', '["a",1]\n["a",1,2]\n', '["a",1]\n["a",\n']) {
    assert.throws(() => decodePairLines(bad, 'res/x', 40, []), (e) => isDiscoError(e, 'DISCO_BAD_RECORD') && /in res\/x line 41,/.test((e as Error).message), bad)
  }
})

test('result files past one read chunk read back whole (multi-byte keys across chunks); a corrupt line is DISCO_BAD_RECORD', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const ex = new InProcessExecutor()
  // ≈ 2.5 MB of results in one partition: keys of 1-, 2-, 3- and 4-byte characters, so that some
  // fall across the 1 MiB reads.
  const ref = new Map<string, number>()
  const words: string[] = []
  const chars = ['a', 'é', '漢', '😀']
  for (let i = 0; i < 70_000; i++) {
    const w = `${chars[i % 4]!.repeat(1 + (i % 5))}${i}`
    ref.set(w, (ref.get(w) ?? 0) + 1 + (i % 3))
    for (let j = 0; j < 1 + (i % 3); j++) words.push(w)
  }
  const input = join(dir, 'words.txt')
  writeFileSync(input, words.join('\n') + '\n')
  const job = await runJob({ inputs: [input], map: fn('wcMap'), reduce: fn('sumReduce'), combiner: fn('add'), partitions: 1 }, { store, executor: ex })
  const info = await job.wait()
  const expected = [...ref.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const got = await collect(jobResultBatches(store, job.name))
  assert.ok(got.length > 1, 'several batches')
  assert.deepEqual(got.flat(), expected)
  // The last line without its newline, and an empty line: the same pairs.
  const stores = openLocalStores(store)
  const [file] = await (stores.data as LocalBlobStore).filePaths([info.results![0]!])
  const text = readFileSync(file, 'utf8')
  const cut = text.indexOf('\n', 600_000) + 1
  writeFileSync(file, text.slice(0, cut) + '\n' + text.slice(cut).replace(/\n$/, ''))
  const again = (await collect(jobResultBatches(store, job.name))).flat()
  assert.deepEqual(again, expected)
  // Empty lines in front so that a 4-byte character straddles the first 1 MiB read.
  const bytes = Buffer.from(text)
  let lead = 1048574
  while (bytes[lead]! < 0xf0) lead--
  writeFileSync(file, Buffer.concat([Buffer.from('\n'.repeat(1048574 - lead)), bytes]))
  assert.deepEqual((await collect(jobResultBatches(store, job.name))).flat(), expected)
  // A corrupt line past the first chunk: coded, with its line number.
  const lines = text.split('\n')
  lines[50_000] = '["cut",'
  writeFileSync(file, lines.join('\n'))
  await assert.rejects(collect(jobResultBatches(store, job.name)), (e) => isDiscoError(e, 'DISCO_BAD_RECORD') && / line 50001,/.test((e as Error).message))
  assert.equal((await jobInfo(store, job.name)).status, 'ready')
})
