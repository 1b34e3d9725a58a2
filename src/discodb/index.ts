// Public surface of the discodb layer (filled in by its issue).
export {}
