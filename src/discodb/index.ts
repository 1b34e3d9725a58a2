// Public surface of the discodb layer: the reader, the writer, the query language and their types.
export { DiscoDB, type ItemBatch, type Offsets, type QueryOptions, type ValueBatch, type ValueColumn, type ValueVisitor } from './db.js'
export { type DiscoDBHeader } from './header.js'
export { Inquiry } from './inquiry.js'
export { Q, MAX_CLAUSES, MAX_EXPANSION_WORK, type Clause, type Literal, type MetaLiteral, type NormalizeStats, type ParseOptions, type TermLiteral } from './q.js'
export { DiscoDBConstructor } from './constructor.js'
export { type BytesLike, type FinalizeOptions, type Values } from './writer.js'
