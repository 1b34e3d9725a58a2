// Error codes of the reader and the query language, and the API edges around them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiscoDB, DiscoError, Q } from 'disco-inferno'
import { compatDir } from './vectors.js'
import { thrownCode } from '../error-codes.js'

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(compatDir, `${name}.ddb`)))

function withTmp(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-test-'))
  try {
    f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('opening bad bytes gives the documented codes', () => {
  const good = fixture('animals')
  assert.equal(thrownCode(() => DiscoDB.loads(new Uint8Array(3))), 'DDB_TOO_SMALL')
  assert.equal(thrownCode(() => DiscoDB.loads(good.subarray(0, 71))), 'DDB_TOO_SMALL')
  assert.equal(thrownCode(() => DiscoDB.loads(new Uint8Array(72))), 'DDB_BAD_MAGIC')
  assert.equal(thrownCode(() => DiscoDB.loads(good.subarray(0, good.length - 1))), 'DDB_BAD_SIZE')
  const bad = good.slice()
  new DataView(bad.buffer).setUint32(40, 5000, true) // key2values_offs beyond the DB
  assert.equal(thrownCode(() => DiscoDB.loads(bad)), 'DDB_CORRUPT')
  const e = (() => { try { DiscoDB.loads(bad) } catch (x) { return x as DiscoError } return undefined })()
  assert.match(e!.message, /expected .*found/)
  assert.equal(thrownCode(() => DiscoDB.loads('nope' as unknown as Uint8Array)), 'DDB_BAD_ARGUMENT')
})

test('a damaged record is reported when it is read', () => {
  const bad = fixture('animals').slice()
  const db0 = DiscoDB.loads(bad)
  // Point the second key TOC entry past the end of the key records.
  new DataView(bad.buffer).setUint32(db0.header.key2valuesOffs + 8, db0.header.id2valueOffs + 1, true)
  const db = DiscoDB.loads(bad)
  assert.equal(thrownCode(() => [...db.keys()]), 'DDB_CORRUPT')
  assert.deepEqual(db.get('new york')?.toStrings(), ['dog', 'big apple'], 'undamaged records still read')
  assert.deepEqual(db.query('new york & ~empty').toStrings(), ['dog', 'big apple'])
})

test('load: files, offsets, IO errors; dumps and atomic dump', () => {
  withTmp((dir) => {
    const good = fixture('animals')
    const bundle = join(dir, 'bundle.bin')
    writeFileSync(bundle, Buffer.concat([Buffer.alloc(1000, 7), good, Buffer.from('trailing bytes')]))
    const db = DiscoDB.load(bundle, 1000)
    assert.equal(db.size, 5)
    assert.deepEqual(db.query('pets & ~aquatic').toStrings(), ['dog', 'cat', 'hamster', 'parrot'])
    assert.deepEqual(db.dumps(), good, 'dumps = exactly header.size bytes')
    assert.equal(thrownCode(() => DiscoDB.load(bundle, 999)), 'DDB_BAD_MAGIC')
    assert.equal(thrownCode(() => DiscoDB.load(bundle, -1)), 'DDB_BAD_ARGUMENT')
    assert.equal(thrownCode(() => DiscoDB.load(bundle, 1e9)), 'DDB_TOO_SMALL')
    assert.equal(thrownCode(() => DiscoDB.load(join(dir, 'missing.ddb'))), 'IO_ENOENT')
    const out = join(dir, 'copy.ddb')
    db.dump(out)
    assert.deepEqual(new Uint8Array(readFileSync(out)), good)
    assert.equal(thrownCode(() => db.dump(join(dir, 'no-such-dir', 'x.ddb'))), 'IO_ENOENT')
    // loads keeps no copy: the values are views of the given bytes.
    const mem = DiscoDB.loads(good)
    const v = mem.peek('mammals')!
    assert.equal(v.buffer, good.buffer)
  })
})

test('query syntax errors are DDB_QUERY_SYNTAX', () => {
  for (const q of ['pets &', '~', '   ', 'a + b', '()', '(a', 'a)', '((a)', '& a', '|', 'a | | b', '*', 'a (b)', 'a ~ b', '(a) b', '~()', `${'('.repeat(5000)}a${')'.repeat(5000)}`, '~'.repeat(5000) + 'a']) {
    assert.equal(thrownCode(() => Q.parse(q)), 'DDB_QUERY_SYNTAX', JSON.stringify(q.slice(0, 20)))
  }
  const db = DiscoDB.loads(fixture('animals'))
  assert.equal(thrownCode(() => db.query('pets & (')), 'DDB_QUERY_SYNTAX')
  assert.equal(thrownCode(() => db.metaquery('*')), 'DDB_QUERY_SYNTAX')
})

test('the empty query, terms with spaces, precedence, De Morgan', () => {
  assert.equal(Q.parse('').clauses.length, 0)
  assert.equal(String(Q.parse('')), '')
  assert.equal(String(Q.parse('  new york  |  aquatic ')), 'aquatic | new york')
  assert.equal(String(Q.parse('a | b & c')), '(a | b) & (a | c)')
  assert.equal(String(Q.parse('~(a | b | c)')), '(~a) & (~b) & (~c)')
  assert.equal(String(Q.parse('~(a & b & c)')), '~a | ~b | ~c')
  assert.equal(String(Q.parse('~~a')), 'a')
  assert.equal(String(Q.parse('*a | b')), 'b | +(a)')
  assert.equal(String(Q.parse('~*a')), '~+(a)')
  assert.equal(String(Q.parse('a & ~a')), '(a) & (~a)')
  assert.equal(String(Q.parse('a | ~a')), 'a | ~a')
  assert.deepEqual(Q.parse('b & ~a').toCnf(), [[[new TextEncoder().encode('a'), true]], [[new TextEncoder().encode('b'), false]]])
  const q = Q.fromCnf([[['x y', false], [new Uint8Array([0xff, 0]), true]]])
  assert.equal(Q.fromCnf(q.toCnf()).id, q.id)
  assert.equal(Q.parse(new Uint8Array([0xff, 0x20, 0x26, 0x20, 0x61])).clauses.length, 2, 'binary query text')
  assert.equal(thrownCode(() => Q.parse('*a').toCnf()), 'DDB_QUERY_RESOLVE')
  assert.equal(Q.parse('a').and(Q.parse('b')).id, Q.parse('a & b').id)
  assert.equal(Q.parse('a').or(Q.parse('b')).not().id, Q.parse('~a & ~b').id)
  assert.ok(Object.isFrozen(Q.parse('a | b')) && Object.isFrozen(Q.parse('a | b').clauses[0]))
})

test('normal forms that would explode are DDB_QUERY_TOO_LARGE', () => {
  const pairs = Array.from({ length: 17 }, (_, i) => `(a${i} | b${i})`).join(' & ')
  assert.equal(thrownCode(() => Q.parse(`~(${pairs})`)), 'DDB_QUERY_TOO_LARGE')
})

test('dereference of an empty result under negation is DDB_QUERY_RESOLVE', () => {
  const db = DiscoDB.loads(fixture('deref'))
  assert.equal(thrownCode(() => db.query('~*nokey')), 'DDB_QUERY_RESOLVE')
  assert.equal(thrownCode(() => db.query('~(*nokey | A)')), 'DDB_QUERY_RESOLVE')
  assert.deepEqual(db.query('~~*nokey').toStrings(), [])
  assert.deepEqual(db.query('*nokey | A').toStrings(), ['B', 'C'])
})

test('multisets: lookups work, queries are DDB_MULTISET_QUERY', () => {
  const db = DiscoDB.loads(fixture('multiset'))
  assert.ok(db.header.multiset)
  const [k] = db.keys()
  assert.ok(db.get(k!)!.count() > 0)
  assert.equal(thrownCode(() => db.query(Q.fromCnf([[[k!, false]]]))), 'DDB_MULTISET_QUERY')
  assert.equal(thrownCode(() => db.metaquery('a')), 'DDB_MULTISET_QUERY')
})

test('Inquiry is lazy and re-iterable; get/peek on absent and empty keys', () => {
  const db = DiscoDB.loads(fixture('animals'))
  const pets = db.get('pets')!
  assert.deepEqual(pets.toStrings(), [...pets].map((b) => new TextDecoder().decode(b)))
  assert.equal(pets.count(), 5)
  assert.equal(db.get('nokey'), undefined)
  assert.deepEqual(db.get('empty')!.toStrings(), [])
  assert.equal(db.peek('empty'), undefined)
  assert.equal(db.peek('nokey'), undefined)
  assert.equal(db.keys().count(), 5)
  assert.equal(db.values().count(), 13)
  assert.equal(db.uniqueValues().count(), 8)
  const q = db.query('pets | aquatic', { view: new Set(['whale', 'dog', 'dog']) })
  assert.deepEqual(q.toStrings(), ['dog', 'whale'])
  assert.deepEqual(q.toStrings(), ['dog', 'whale'])
  assert.equal(q.count(), 2)
  assert.deepEqual(db.query('pets', { view: [] }).toStrings(), [])
})
