// Public surface of the ddfs layer (filled in by its issue).
export {}
