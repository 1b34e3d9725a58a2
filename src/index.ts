// The public entry of the `disco-inferno` package: each layer exports its own surface.
export { DiscoError, isDiscoError } from './errors.js'
export * from './discodb/index.js'
export * from './ddfs/index.js'
export * from './disco/index.js'
export * from './inferno/index.js'
export * from './cluster/index.js'
export * from './analytics/index.js'
