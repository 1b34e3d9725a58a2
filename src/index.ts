// The public entry of the `disco-inferno` package: each layer exports its own surface.
export { DiscoError, isDiscoError } from './errors.js'
// For map functions on bytes (`mapForm: 'bytes'`): read only the fields a job needs, JSON.parse's verdicts.
export { FieldScanner, SCAN_OK, SCAN_BAD, SCAN_UNSURE } from './util/json-fields.js'
export { BlockScanner, BLOCK_BYTES, LINE_START, LINE_END, LINE_VERDICT, PRESENT_SHIFT, SHORT_INT, VERDICT_FLAGS } from './util/json-block.js'
export * from './discodb/index.js'
export * from './ddfs/index.js'
export * from './disco/index.js'
export * from './inferno/index.js'
export * from './cluster/index.js'
export * from './analytics/index.js'
