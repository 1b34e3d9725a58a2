/**
 * The one error class of the whole product. Every failure a user can cause or meet carries a
 * stable `code` (listed in docs/errors.md); messages say what was expected versus what was found.
 *
 * @example
 * try { DiscoDB.loads(new Uint8Array(3)) } catch (e) { (e as DiscoError).code } // 'DDB_TOO_SMALL'
 */
export class DiscoError extends Error {
  /** Stable machine-readable code, e.g. `DDB_BAD_MAGIC`. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DiscoError'
    this.code = code
  }
}

/** True when `e` is a DiscoError (optionally with the given code). */
export function isDiscoError(e: unknown, code?: string): e is DiscoError {
  return e instanceof DiscoError && (code === undefined || e.code === code)
}
