// A binary min-heap over an array, ordered by a caller's `less`: the one heap behind every k-way
// merge (Disco's sorted runs, Inferno's result streams).

/**
 * Binary min-heap.
 *
 * @example
 * const h = new MinHeap<number>((a, b) => a < b); h.push(3); h.push(1); h.pop() // 1
 */
export class MinHeap<T> {
  private items: T[] = []

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Number of entries. */
  get size(): number {
    return this.items.length
  }

  /** The smallest entry, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0]
  }

  /** Adds an entry. */
  push(x: T): void {
    const h = this.items
    h.push(x)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  /** Removes and returns the smallest entry (undefined when empty). */
  pop(): T | undefined {
    const h = this.items
    const top = h[0]
    const last = h.pop()
    if (h.length > 0) {
      h[0] = last!
      this.down(0)
    }
    return top
  }

  /** Replaces the smallest entry by `x` (cheaper than pop + push); the heap must not be empty. */
  replaceTop(x: T): void {
    this.items[0] = x
    this.down(0)
  }

  /** Removes every entry and returns them (in heap order). */
  drain(): T[] {
    const all = this.items
    this.items = []
    return all
  }

  /** Moves the entry at `i` down to its place: smaller children move up into the hole it leaves. */
  private down(i: number): void {
    const h = this.items
    const n = h.length
    const x = h[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l
      if (!this.less(h[c]!, x)) break
      h[i] = h[c]!
      i = c
    }
    h[i] = x
  }
}
