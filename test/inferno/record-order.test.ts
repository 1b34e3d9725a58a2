// mapBytes hands the lines a WebAssembly block scan cannot take whole (verdict 0: the byte path;
// non-ASCII: the UTF-8 check first) to a path outside its record loop and then resumes the loop:
// the records still reach the rule's pre-processor in line order, with the counters of the text
// path (mapBlob), for every mix of such lines inside one block and at its edges.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defineKeyset, defineRule, mapBlob, mapBytes, newJobStats, type Parts } from 'disco-inferno'
import { mulberry32 } from '#src/util/random.js'

/** The ids the pre-processor saw, in order (reset before each run). */
let seen: unknown[] = []

function note(parts: Parts): Parts {
  seen.push(parts.id)
  parts.count = 1
  return parts
}

const rule = defineRule({
  name: 'order', mapInputStream: 'json', partsPreprocess: [note], preprocessReads: ['id'],
  keysets: { k: defineKeyset({ keyParts: ['g'], valueParts: ['count', 'n'] }) },
})

/** Line kinds: plain, non-ASCII, escapes, big numbers, nesting, duplicate keys, bad JSON, bad UTF-8, CRLF, too long. */
function line(id: number, kind: number): Buffer {
  const g = `g${id % 3}`
  switch (kind) {
    case 0: return Buffer.from(JSON.stringify({ id, g, n: id }))
    case 1: return Buffer.from(JSON.stringify({ id, g: `${g}\u00e9\u{1F600}`, n: 1 }))
    case 2: return Buffer.from(`{"id":${id},"g":"${g}\\u0041\\n\\"","n":2}`)
    case 3: return Buffer.from(`{"id":${id},"g":"${g}","n":123456789012345678901234567890}`)
    case 4: return Buffer.from(`{"id":${id},"x":{"y":[1,{"z":[[[]]]}]},"g":"${g}","n":-0}`)
    case 5: return Buffer.from(`{"id":${id},"g":"a","g":"${g}","n":1e3}`)
    case 6: return Buffer.from(`{"id":${id},"g":"${g}",`)
    case 7: return Buffer.concat([Buffer.from(`{"id":${id},"g":"`), Buffer.from([0xff, 0xfe]), Buffer.from('","n":1}')])
    case 8: return Buffer.from(`{"id":${id},"g":"${g}","n":3}\r`)
    default: return Buffer.from(`{"id":${id},"g":"${g}","pad":"${'x'.repeat(300)}"}`)
  }
}

function input(seed: number, n: number): Buffer {
  const rnd = mulberry32(seed)
  const parts: Buffer[] = []
  for (let id = 0; id < n; id++) {
    // Mostly plain lines, runs of odd ones (several in a row, first and last of the input too).
    const kind = id === 0 || id === n - 1 ? 1 + Math.floor(rnd() * 9) : rnd() < 0.8 ? 0 : Math.floor(rnd() * 10)
    parts.push(line(id, kind), Buffer.from('\n'))
  }
  return Buffer.concat(parts)
}

async function viaBytes(bytes: Buffer, chunk: number, scanner?: 'js') {
  seen = []
  const stats = newJobStats()
  const tooLong: number[] = []
  const pairs: [string, unknown[]][] = []
  const chunks = function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk)
  }
  await mapBytes({ rule, params: {}, ...(scanner ? { scanner } : {}) }, chunks(), (k, v) => pairs.push([k, [...v]]), stats,
    { maxLine: 200, onTooLong: (lineNo) => tooLong.push(lineNo) })
  return { seen, pairs, tooLong, read: stats.read, map: stats.map }
}

test('mapBytes: records reach the pre-processor in line order across the lines the block loop leaves, as mapBlob and the JS scanner', async () => {
  for (const seed of [1, 2, 3]) {
    const bytes = input(seed, 3000)
    const wasm = await viaBytes(bytes, 1 << 20)
    // The text path sees the same lines (too-long ones dropped by the line reader there).
    seen = []
    const stats = newJobStats()
    const pairs: [string, unknown[]][] = []
    const text = bytes.toString('utf8').split('\n').slice(0, -1).filter((l) => Buffer.byteLength(l) <= 200)
    await mapBlob({ rule, params: {} }, text, (k, v) => pairs.push([k, [...v]]), stats)
    assert.deepEqual(wasm.seen, seen)
    assert.deepEqual(wasm.pairs, pairs)
    assert.equal(wasm.read.records, stats.read.records)
    assert.equal(wasm.read.badLines, stats.read.badLines)
    assert.equal(wasm.read.invalidUtf8Lines, stats.read.invalidUtf8Lines)
    assert.ok(wasm.read.invalidUtf8Lines > 0 && wasm.read.badLines > 0 && wasm.tooLong.length > 0)
    // Strictly increasing ids: line order.
    assert.ok(wasm.seen.every((id, i) => i === 0 || (id as number) > (wasm.seen[i - 1] as number)))
    // Other chunkings and the JS scanner: identical.
    for (const chunk of [97, 4096, 65536]) assert.deepEqual(await viaBytes(bytes, chunk), wasm)
    assert.deepEqual(await viaBytes(bytes, 5000, 'js'), wasm)
  }
})
