// Public surface of the DDFS layer: the tag-addressed blob store.
export type { BlobInfo, BlobSource, BlobStore, GetOptions, PutOptions, ReplicaSet, TagEntry, TagRecord, TagState, TagStore } from './types.js'
export {
  Ddfs, openStore, formatLastModified,
  DEFAULT_STORE_DIR, DEFAULT_BLOB_GRACE_MS, DEFAULT_TOMBSTONE_GRACE_MS, DEFAULT_PARTIAL_GRACE_MS,
  MAX_ATTRS, MAX_ATTR_NAME, MAX_ATTR_VALUE,
} from './ddfs.js'
export type { DdfsWrite, ListOptions, TagObject, TokenOption, TagOptions, BlobsOptions, PushItem, ChunkInput, ChunkTagOptions, GcOptions, GcReport, FoundTag, TarPushOptions } from './ddfs.js'
export { LocalBlobStore, LocalTagStore, LOCAL_BLOB_PREFIX } from './local.js'
export type { LocalStoreOptions } from './local.js'
export { PENDING_PREFIX, DEFAULT_WRITE_LEASE_MS, writeIdOf } from './pending.js'
export { checkTagName, rawText, safeName, blobName, blobFileName, isLink, normalizeEntries, newVersion, versioned, TAG_LINK, MAX_TAG_NAME } from './names.js'
export { chunkLines, parseCompress, DEFAULT_CHUNK_INPUT, DEFAULT_CHUNK_SIZE, DEFAULT_MAX_RECORD, MIN_CHUNK_SIZE } from './chunk.js'
export type { ChunkCodec, ChunkOptions, ChunkProgress } from './chunk.js'
export { maybeGunzip, textLines, lineBatches, lineRuns, isGzip, LineSplitter, throwTooLong, DEFAULT_MAX_LINE, type LineOptions, type LineSink, type TooLongHandler } from './lines.js'
export type { LineBatch } from './lines.js'
export { tarMembers } from './tar.js'
export type { TarMember } from './tar.js'
