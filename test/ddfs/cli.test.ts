// Drives the real `ddfs` binary (dist/cli/ddfs.js) against a temporary store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { tempDir } from './helpers.js'

const bin = fileURLToPath(import.meta.resolve('#src/cli/ddfs.js'))

interface Run { code: number | null; out: string; err: string }

function setup(t: { after: (fn: () => void) => void }): { dir: string; ddfs: (args: string[], input?: string | Buffer) => Run } {
  const dir = tempDir(t, 'cli')
  const ddfs = (args: string[], input?: string | Buffer): Run => {
    const r = spawnSync(process.execPath, [bin, ...args], {
      input: input ?? '', env: { ...process.env, DISCO_STORE: join(dir, 'store') }, cwd: dir, maxBuffer: 1 << 26,
    })
    return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
  }
  return { dir, ddfs }
}

function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`)
  return r.out
}

function failsWith(r: Run, code: string): void {
  assert.notEqual(r.code, 0)
  assert.match(r.err, new RegExp(`^ddfs: error ${code}: .+\\n$`))
}

test('push, ls, blobs, cat, exists, get, stat, rm', (t) => {
  const { dir, ddfs } = setup(t)
  writeFileSync(join(dir, 'a.txt'), 'alpha\n')
  writeFileSync(join(dir, 'b.log.gz'), gzipSync('beta\n'))
  const created = ok(ddfs(['push', 'data:raw:2026-11-22', 'a.txt', 'b.log.gz'])).trim().split('\n')
  assert.equal(created.length, 2)
  assert.match(created[0]!, /^created: disco:\/\/localhost\/ddfs\/vol0\/blob\/[0-9a-f]{2}\/a_txt\$/)
  ok(ddfs(['touch', 'data:rawer', 'other']))
  assert.equal(ok(ddfs(['ls', 'data:raw'])), 'data:raw:2026-11-22\ndata:rawer\n')
  assert.deepEqual(JSON.parse(ok(ddfs(['--json', 'ls']))), ['data:raw:2026-11-22', 'data:rawer', 'other'])
  const blobs = ok(ddfs(['blobs', 'data:raw:2026-11-22'])).trim().split('\n')
  assert.equal(blobs.length, 2)
  assert.match(blobs[0]!, /a_txt\$/, 'one push appends its files in order')
  assert.equal(ok(ddfs(['cat', 'data:raw:2026-11-22'])).slice(0, 6), 'alpha\n', 'cat prints raw bytes')
  assert.equal(ok(ddfs(['xcat', 'data:raw:2026-11-22'])), 'alpha\nbeta\n', 'xcat gunzips')
  assert.equal(ok(ddfs(['exists', 'data:rawer'])), 'True\n')
  const no = ddfs(['exists', 'nope'])
  assert.deepEqual([no.code, no.out], [1, 'False\n'])
  const obj = JSON.parse(ok(ddfs(['get', 'data:raw:2026-11-22'])))
  assert.deepEqual(Object.keys(obj).sort(), ['id', 'last-modified', 'urls', 'user-data', 'version'])
  assert.match(ok(ddfs(['stat', 'data:raw:2026-11-22'])), /^data:raw:2026-11-22\tdata:raw:2026-11-22\$\S+\t\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\t2 entries\n$/)
  ok(ddfs(['rm', '-p', 'data:raw']))
  ok(ddfs(['delete', 'never-there']))
  assert.equal(ok(ddfs(['ls'])), 'other\n')
  failsWith(ddfs(['get', 'data:rawer']), 'DDFS_TAG_NOT_FOUND')
})

test('chunk files, .gz files, stdin and tags; xcat reads back; over-long lines fail cleanly', (t) => {
  const { dir, ddfs } = setup(t)
  const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, user: `u${i % 31}`, path: `/p/${(i * 7) % 113}` }))
  writeFileSync(join(dir, 'clicks.ndjson'), lines.join('\n') + '\n')
  writeFileSync(join(dir, 'more.ndjson.gz'), gzipSync(lines.slice(0, 10).join('\n') + '\n'))
  const created = ok(ddfs(['chunk', '-S', '4KB', 'incoming:clicks:2026-11-22', './clicks.ndjson'])).trim().split('\n')
  assert.ok(created.length > 3, `several chunks: ${created.length}`)
  assert.match(created[0]!, /clicks_ndjson-0\$/)
  assert.equal(ok(ddfs(['xcat', 'incoming:clicks:2026-11-22'])), lines.join('\n') + '\n')
  ok(ddfs(['chunk', '-n', '3', 'incoming:more', './more.ndjson.gz', '-'], 'from stdin\n'))
  assert.equal(ok(ddfs(['xcat', 'incoming:more'])), lines.slice(0, 10).join('\n') + '\nfrom stdin\n')
  // A bare name (no '/') is a tag whose blobs are re-chunked.
  ok(ddfs(['chunk', 'copy', 'incoming:more']))
  assert.equal(ok(ddfs(['xcat', 'copy'])), lines.slice(0, 10).join('\n') + '\nfrom stdin\n')
  // Over-long record: one coded line naming the line number, and the tag is not created.
  writeFileSync(join(dir, 'bad.txt'), `ok\n${'x'.repeat(3000)}\n`)
  const bad = ddfs(['chunk', '-Z', '1KB', 'incoming:bad', './bad.txt'])
  failsWith(bad, 'DDFS_RECORD_TOO_LARGE')
  assert.match(bad.err, /line 2/)
  assert.equal(ddfs(['exists', 'incoming:bad']).out, 'False\n')
  failsWith(ddfs(['chunk', 'x', './missing.txt']), 'IO_ENOENT')
  failsWith(ddfs(['chunk', '-S', 'lots', 'x', './bad.txt']), 'CLI_USAGE')
})

test('tag, put, urls, cp, links, find, attrs, tokens, -i and -p, gc', (t) => {
  const { dir, ddfs } = setup(t)
  writeFileSync(join(dir, 'a.txt'), 'a\n')
  const url = ok(ddfs(['push', 'src', 'a.txt'])).trim().replace('created: ', '')
  ok(ddfs(['tag', 'links', 'tag://src', 'raw://one']))
  ok(ddfs(['tag', 'links'], 'raw://r1 raw://r2\nraw://three\n'))
  assert.equal(ok(ddfs(['urls', 'links'])), 'raw://r1\traw://r2\nraw://three\ntag://src\nraw://one\n')
  assert.equal(ok(ddfs(['blobs', 'links'])), `raw://r1\traw://r2\nraw://three\n${url}\nraw://one\n`)
  assert.equal(ok(ddfs(['find', 'links'])), 'links\nlinks -> src\n')
  ok(ddfs(['put', 'links', 'tag://missing']))
  failsWith(ddfs(['blobs', 'links']), 'DDFS_TAG_NOT_FOUND')
  assert.equal(ok(ddfs(['blobs', '-i', 'links', 'src'])), `${url}\n`)
  assert.match(ddfs(['find', '-w', 'links']).err, /missing tag missing/)
  ok(ddfs(['cp', 'src', 'copy']))
  assert.deepEqual(JSON.parse(ok(ddfs(['--json', 'urls', 'copy']))), [[url]])
  assert.deepEqual(JSON.parse(ok(ddfs(['--json', 'blobs', '-p', 'co', 'sr']))), [[url], [url]])
  ok(ddfs(['setattr', 'src', 'owner', 'ops team']))
  assert.equal(ok(ddfs(['attrs', 'src'])), 'owner\tops team\n')
  assert.equal(ok(ddfs(['getattr', 'src', 'owner'])), 'ops team\n')
  ok(ddfs(['delattr', 'src', 'owner']))
  failsWith(ddfs(['getattr', 'src', 'owner']), 'DDFS_ATTR_NOT_FOUND')
  failsWith(ddfs(['setattr', 'src', 'ddfs:x', 'y']), 'DDFS_RESERVED_ATTR')
  ok(ddfs(['-t', 'sesame', 'touch', 'locked']))
  failsWith(ddfs(['get', 'locked']), 'DDFS_UNAUTHORIZED')
  assert.equal(ok(ddfs(['exists', 'locked'])), 'True\n')
  ok(ddfs(['--token', 'sesame', 'get', 'locked']))
  ok(ddfs(['-t', 'sesame', 'chtok', 'locked', 'open']))
  ok(ddfs(['-t', 'open', 'urls', 'locked']))
  failsWith(ddfs(['tag', 'bad name', 'raw://x']), 'DDFS_BAD_TAG_NAME')
  const usage = ddfs(['tag'])
  assert.equal(usage.code, 2)
  assert.match(usage.err, /^ddfs: error CLI_USAGE: missing required argument 'tag'\n/)
  // GC: the blob is referenced, so nothing goes; after deleting its tags it does.
  assert.match(ok(ddfs(['gc', '--grace', '0'])), /^deleted 0 blobs/)
  ok(ddfs(['rm', 'src', 'copy']))
  assert.match(ok(ddfs(['gc'])), /^deleted 0 blobs/, 'within the default grace period')
  const r = JSON.parse(ok(ddfs(['--json', 'gc', '--grace', '0'])))
  assert.deepEqual(r.blobsDeleted, [url])
  failsWith(ddfs(['cat', url]), 'DDFS_BLOB_NOT_FOUND')
})

test('push skips directories unless -r; a missing file is an error', (t) => {
  const { dir, ddfs } = setup(t)
  mkdirSync(join(dir, 'd', 'e'), { recursive: true })
  writeFileSync(join(dir, 'd', 'one.txt'), '1\n')
  writeFileSync(join(dir, 'd', 'e', 'two.txt'), '2\n')
  const skip = ddfs(['push', 'p', 'd'])
  assert.equal(skip.code, 0, skip.err)
  assert.match(skip.err, /skipping d/)
  ok(ddfs(['push', '-r', 'p', 'd']))
  assert.equal(ok(ddfs(['xcat', 'p'])).split('\n').filter(Boolean).sort().join(','), '1,2')
  failsWith(ddfs(['push', 'p', 'nope.txt']), 'IO_ENOENT')
})
