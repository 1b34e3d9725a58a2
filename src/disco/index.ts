// Public surface of the disco layer (filled in by its issue).
export {}
