// Public surface of the inferno layer.
export * from './api.js'
