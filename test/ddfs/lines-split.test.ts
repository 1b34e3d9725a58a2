// The one line splitter (src/ddfs/lines.ts): linear however long a line is (each byte of a line
// split over many buffers is copied once, counted by the splitter), a maximum line size with a
// coded or counted outcome, and the `ddb create` reader built on it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DiscoDB, DiscoError, LineSplitter, textLines, throwTooLong, type LineSink } from 'disco-inferno'

function collect(): { lines: string[]; sink: LineSink } {
  const lines: string[] = []
  return { lines, sink: (b, s, e) => { lines.push(b.toString('latin1', s, e)) } }
}

test('a 50 MB line fed in 64 KB pieces is joined once: bytes copied equal its length', () => {
  const size = 50 * 1024 * 1024
  const piece = Buffer.alloc(64 * 1024, 0x61)
  const split = new LineSplitter(size + 10)
  let got = -1
  const sink: LineSink = (_b, s, e) => { got = e - s }
  for (let n = 0; n < size; n += piece.length) split.push(piece, sink)
  split.push(Buffer.from('\nnext'), sink)
  assert.equal(got, size)
  assert.equal(split.copied, size)
  const c = collect()
  split.end(c.sink)
  assert.deepEqual(c.lines, ['next'])
  assert.equal(split.lines, 2)
})

test('lines split anywhere come out the same; the last line needs no newline', () => {
  const text = 'alpha\n\nbeta gamma\r\nδέλτα\nend'
  const bytes = Buffer.from(text)
  for (let cut = 0; cut <= bytes.length; cut++) {
    const split = new LineSplitter(100)
    const c = collect()
    split.push(bytes.subarray(0, cut), c.sink)
    split.push(bytes.subarray(cut), c.sink)
    split.end(c.sink)
    assert.deepEqual(c.lines.map((l) => Buffer.from(l, 'latin1').toString('utf8')), text.split('\n'), `cut at ${cut}`)
  }
})

test('borrowed buffers (overwritten after each push): the same lines, pieces of 1 byte to whole lines, push and pushBlock', () => {
  const text = Buffer.from('alpha\n\nbeta gamma\r\nδέλτα\n' + 'x'.repeat(40) + '\n' + 'long-one-'.repeat(9) + '\nend')
  const want = text.toString('latin1').split('\n')
  for (const size of [1, 2, 3, 7, 16, 64]) {
    for (const block of [false, true]) {
      const split = new LineSplitter(1000, throwTooLong('x', 1000), { borrowed: true })
      const c = collect()
      const one = Buffer.alloc(size)
      for (let at = 0; at < text.length; at += size) {
        const n = text.copy(one, 0, at, at + size)
        const b = one.subarray(0, n)
        if (block) split.pushBlock(b, c.sink, (bb, s, e) => { for (let i = s; i < e;) { const nl = bb.indexOf(10, i); split.take(nl - i); c.sink(bb, i, nl); i = nl + 1 } })
        else split.push(b, c.sink)
        one.fill(0x23) // the owner reads the next bytes into the same buffer
      }
      split.end(c.sink)
      assert.deepEqual(c.lines, want, `pieces of ${size}, ${block ? 'pushBlock' : 'push'}`)
      assert.equal(split.lines, want.length)
    }
  }
})

test('a line past the maximum is reported once with its number, skipped, and reading resumes', () => {
  const seen: [number, number][] = []
  const split = new LineSplitter(10, (n, s) => { seen.push([n, s]) })
  const c = collect()
  split.push(Buffer.from('short\n0123456789ABCDEF\nok'), c.sink)
  split.push(Buffer.from('\n0123456'), c.sink)
  split.push(Buffer.from('789ABCDEFGHIJ'), c.sink)
  split.push(Buffer.from('KLMNOP\nlast'), c.sink)
  split.end(c.sink)
  assert.deepEqual(c.lines, ['short', 'ok', 'last'])
  assert.deepEqual(seen.map(([n]) => n), [2, 4])
  assert.ok(seen[1]![1] > 10)
  assert.equal(split.tooLong, 2)
  assert.equal(split.lines, 5)
  // The default is one coded error naming the input and the line.
  const strict = new LineSplitter(10, throwTooLong('blob x', 10))
  assert.throws(() => strict.push(Buffer.from('a\n0123456789ABC\n'), () => {}),
    (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_RECORD_TOO_LARGE' && /blob x: line 2 /.test(e.message))
  assert.throws(() => new LineSplitter(0), (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_BAD_OPTION')
})

test('textLines takes the bound and the handler', async () => {
  const src = async function* () { yield Buffer.from('a\n'); yield Buffer.alloc(30, 0x62); yield Buffer.from('\nc\n') }
  const skipped: number[] = []
  const out: string[] = []
  for await (const l of textLines(src(), 'x', { maxLine: 8, onTooLong: (n) => skipped.push(n) })) out.push(l)
  assert.deepEqual([out, skipped], [['a', 'c'], [2]])
  await assert.rejects(async () => { for await (const _ of textLines(src(), 'x', { maxLine: 8 })) void _ },
    (e: unknown) => e instanceof DiscoError && e.code === 'DDFS_RECORD_TOO_LARGE')
})

test('ddb create: --max-record bounds a line (DDFS_RECORD_TOO_LARGE, exit 1); long lines within it are read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-lines-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const bin = fileURLToPath(import.meta.resolve('#src/cli/ddb.js'))
  const ddb = (args: string[], input: string) => spawnSync(process.execPath, [bin, ...args], { input, cwd: dir, encoding: 'utf8' })
  const input = `a\t1\nbig\t${'v'.repeat(3000)}\nb\t2\n`
  const r = ddb(['create', 'x.ddb', '--max-record', '1KiB'], input)
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /^ddb: error DDFS_RECORD_TOO_LARGE: stdin: line 2 is longer than the maximum record size of 1024 bytes/)
  const ok = ddb(['create', 'y.ddb', '--max-record', '4KiB'], input)
  assert.equal(ok.status, 0, ok.stderr)
  const db = DiscoDB.load(join(dir, 'y.ddb'))
  assert.deepEqual([...db.keys()].map((k) => Buffer.from(k).toString()).sort(), ['a', 'b', 'big'])
  assert.equal(db.get('big')!.toStrings()[0]!.length, 3000)
})
