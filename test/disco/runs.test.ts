import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AtomicWriter, LineReader, Sorter, KvMerger } from '#src/disco/runs.js'
import { isDiscoError } from 'disco-inferno'
import { rng, tempDir } from './helpers.js'

const SEED = Number(process.env.DISCO_TEST_SEED ?? 7)

test('Sorter: many spilled runs merged in rounds equal an in-memory stable sort', (t) => {
  const dir = tempDir(t)
  const r = rng(SEED)
  const pairs: [string, number][] = []
  for (let i = 0; i < 600; i++) pairs.push([`k${Math.floor(r() * 50)}${r() < 0.1 ? 'é\t"' : ''}`, i])
  for (const fold of [undefined, (_k: string, a: unknown, b: unknown) => (a as number) + (b as number)]) {
    const s = new Sorter(join(dir, 'tmp'), fold, 4) // fan-in 4: several merge rounds
    pairs.forEach(([k, v], i) => {
      s.add(k, v)
      if (i % 7 === 6) s.spill()
    })
    const out = new AtomicWriter(join(dir, fold ? 'folded.ndjson' : 'sorted.ndjson'))
    s.finish(out)
    out.commit()
    const got = readFileSync(out.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as [string, number])
    let want = [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    if (fold) {
      const m = new Map<string, number>()
      for (const [k, v] of want) m.set(k, (m.get(k) ?? 0) + v)
      want = [...m]
    }
    assert.deepEqual(got, want, `seed=${SEED} fold=${!!fold}`)
  }
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'spilled runs are removed')
})

test('LineReader reads lines longer than its buffer and a last line without newline', (t) => {
  const dir = tempDir(t)
  const long = 'x'.repeat(200_000)
  writeFileSync(join(dir, 'f'), `a\n${long}\n\nb`)
  const r = new LineReader(join(dir, 'f'))
  const lines: string[] = []
  for (let l = r.next(); l !== undefined; l = r.next()) lines.push(l)
  assert.deepEqual(lines, ['a', long, '', 'b'])
})

test('a corrupt run line is a coded error naming the file and line', (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'bad'), '["a",1]\n{oops\n')
  const m = new KvMerger([join(dir, 'bad')])
  assert.throws(() => { while (m.next()); }, (e) => isDiscoError(e, 'DISCO_BAD_RECORD') && /bad:2/.test((e as Error).message))
})
