// mapBytes keeps its line handlers, scanners and parts builder per rule and thread and reuses them
// for the next map task (so the code compiled for them serves every task): reuse never mixes up
// rules, overlapping calls, a failed call's leftovers or counters.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defineKeyset, defineRule, mapBytes, newJobStats, type Parts } from 'disco-inferno'

const count = (parts: Parts): Parts => ({ ...parts, count: 1 })

const byA = defineRule({
  name: 'by_a', mapInputStream: 'json', partsPreprocess: [count], preprocessReads: [],
  keysets: { k: defineKeyset({ keyParts: ['a'], valueParts: ['count', 'n'] }) },
})
// Without the combiner (pairs as they come).
const byAPlain = defineRule({
  name: 'by_a_plain', mapInputStream: 'json', partsPreprocess: [count], preprocessReads: [], combiner: false,
  keysets: { k: defineKeyset({ keyParts: ['a'], valueParts: ['count', 'n'] }) },
})
// Another rule over other fields of the same lines.
const byB = defineRule({
  name: 'by_b', mapInputStream: 'json', partsPreprocess: [count], preprocessReads: [],
  keysets: { k: defineKeyset({ keyParts: ['b'], valueParts: ['count', 'm'] }) },
})

function lines(seed: number, n: number): string {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const k = (i * 31 + seed) % 101
    out.push(k === 7 ? '{"a": "cut' : k === 9 ? '{"a":"\u00e9t\u00e9","b":"x","n":2,"m":3}' : JSON.stringify({ a: `a${k % 5}`, b: `b${k % 3}`, n: k, m: seed }))
  }
  return out.join('\n') + '\n'
}

/** Chunks of `size` bytes, each after a pause (so two calls interleave). */
async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const b = Buffer.from(text)
  for (let i = 0; i < b.length; i += size) {
    await new Promise((r) => setImmediate(r))
    yield b.subarray(i, Math.min(b.length, i + size))
  }
}

async function run(rule: typeof byA, text: string, size = 4096, scanner?: 'js') {
  const pairs: [string, unknown[]][] = []
  const stats = newJobStats()
  await mapBytes({ rule, params: {}, ...(scanner ? { scanner } : {}) }, chunked(text, size), (k, v) => pairs.push([k, [...v]]), stats)
  return { pairs: pairs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)), read: stats.read, map: stats.map }
}

test('mapBytes reuse: rules, sequential and overlapping calls, scanners and a failed call give what fresh calls give', async () => {
  const texts = [lines(1, 3000), lines(2, 5000), lines(3, 200)]
  // First results of each (rule, text), each on its own.
  const first = new Map<string, Awaited<ReturnType<typeof run>>>()
  for (const [i, t] of texts.entries()) {
    first.set(`a${i}`, await run(byA, t))
    first.set(`b${i}`, await run(byB, t))
  }
  assert.equal(first.get('a0')!.read.records + first.get('a0')!.read.badLines, 3000)
  assert.ok(first.get('a0')!.read.badLines > 0)
  // Again, in another order, alternating rules and with other chunk sizes: the same.
  for (const i of [2, 0, 1]) {
    assert.deepEqual(await run(byB, texts[i]!, 777), first.get(`b${i}`))
    assert.deepEqual(await run(byA, texts[i]!, 65536), first.get(`a${i}`))
  }
  // The JS scanner only: the same results too.
  assert.deepEqual(await run(byA, texts[1]!, 1000, 'js'), first.get('a1'))
  // Two calls of one rule at once (chunks interleaving): each its own results.
  const alone = [await run(byAPlain, texts[0]!), await run(byAPlain, texts[1]!)]
  const [x, y] = await Promise.all([run(byAPlain, texts[0]!, 512), run(byAPlain, texts[1]!, 700)])
  assert.deepEqual(x, alone[0])
  assert.deepEqual(y, alone[1])
  assert.deepEqual(await run(byAPlain, texts[1]!, 300), alone[1])
  // The same with the combiner on (a cluster worker running two tasks of one rule at once): the key
  // slots a combiner sums in are shared per rule and thread, and one task never takes another's
  // (it once did: each task's sums went wrong, or drain threw a TypeError).
  for (const [sa, sb] of [[512, 700], [4096, 333], [65536, 100]] as const) {
    const [p, q, r] = await Promise.all([run(byA, texts[0]!, sa), run(byA, texts[1]!, sb), run(byA, texts[0]!, sb, 'js')])
    assert.deepEqual(p, first.get('a0'))
    assert.deepEqual(q, first.get('a1'))
    assert.deepEqual(r, first.get('a0'))
  }
  // A call that fails halfway (a too-long line with a throwing handler) leaves nothing behind.
  const long = `{"a":"${'z'.repeat(500)}"}\n`
  await assert.rejects(mapBytes({ rule: byA, params: {} }, chunked(texts[0]!.slice(0, 2000) + long + texts[0]!, 300), () => {}, newJobStats(),
    { maxLine: 100, onTooLong: () => { throw new Error('too long') } }), /too long/)
  assert.deepEqual(await run(byA, texts[0]!), first.get('a0'))
  // A call failing while another runs: the survivor's sums are whole, and the failed call's slots are free again.
  const failing = mapBytes({ rule: byA, params: {} }, chunked(texts[1]!.slice(0, 4000) + long + texts[1]!, 300), () => {}, newJobStats(),
    { maxLine: 100, onTooLong: () => { throw new Error('too long') } })
  const [survivor] = await Promise.all([run(byA, texts[1]!, 250), assert.rejects(failing, /too long/)])
  assert.deepEqual(survivor, first.get('a1'))
  assert.deepEqual(await run(byA, texts[1]!, 1000), first.get('a1'))
})
