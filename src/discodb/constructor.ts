// The public builder: the writer's image builder plus `finalize()`, which opens the result. Lives
// apart from writer.ts so that db.ts (DiscoDB.build) can use the writer without an import cycle.
import { DiscoDB } from './db.js'
import { type FinalizeOptions, ImageBuilder } from './writer.js'

/**
 * Incremental DiscoDB builder. Keys get their slot and values their ID on first appearance; a
 * repeated key accumulates values. Memory: keys and unique values live once in two byte buffers,
 * pairs in two u32 arrays.
 *
 * @example
 * const c = new DiscoDBConstructor()
 * c.add('pets', ['dog', 'cat']).add('empty', []).add('pets', 'fish')
 * const db = c.finalize()
 * db.get('pets')!.toStrings() // ['dog', 'cat', 'fish']
 */
export class DiscoDBConstructor extends ImageBuilder {
  /**
   * Builds the DB and opens it; the constructor cannot be used afterwards (`DDB_FINALIZED`).
   *
   * @example
   * new DiscoDBConstructor().add('a', ['x', 'y']).finalize().header.numValues // 2
   */
  finalize(options: FinalizeOptions = {}): DiscoDB {
    return DiscoDB.loads(this.finalizeBytes(options))
  }
}
