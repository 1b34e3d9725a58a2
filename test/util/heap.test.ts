import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MinHeap } from '#src/util/heap.js'
import { mulberry32 } from '#src/util/random.js'

test('MinHeap pops in order, replaceTop keeps order, drain empties (seeded)', () => {
  for (const seed of [1, 2, 3, 42]) {
    const r = mulberry32(seed)
    const xs = Array.from({ length: 500 }, () => Math.floor(r() * 100))
    const h = new MinHeap<number>((a, b) => a < b)
    for (const x of xs) h.push(x)
    assert.equal(h.size, xs.length)
    h.replaceTop(1000) // the smallest is replaced by the largest
    const out: number[] = []
    while (h.size > 0) out.push(h.pop()!)
    const want = [...xs].sort((a, b) => a - b).slice(1).concat(1000)
    assert.deepEqual(out, want, `seed ${seed}`)
    assert.equal(h.pop(), undefined)
    h.push(5)
    h.push(3)
    assert.deepEqual(h.drain().sort(), [3, 5])
    assert.equal(h.size, 0)
  }
})
