// Public surface of the inferno layer (filled in by its issue).
export {}
