/**
 * PostgreSQL adapters for cluster mode: the Store (metadata), the BlobStore (a blob_data table)
 * and the Bus (LISTEN/NOTIFY). Several stateless nodes share one database; each schema is one
 * installation, and its name also names the NOTIFY channel.
 *
 * Invariants: every connection of a pool has the schema first on its search_path and durable
 * commits; int8/numeric read as numbers; the listener is one unpooled connection, and after
 * it reconnects every handler is told to resync.
 */
export { PostgresStore, createPostgresStore, TransactionAborted, type PostgresStoreOptions, type CreatePostgresStoreOptions } from './store.js';
export { PostgresBlobStore, createPostgresBlobStore, type PostgresBlobStoreOptions } from './blobs.js';
export { PostgresBus, createPostgresBus, type PostgresBusOptions } from './bus.js';
export { channelName, validateSchema, type PgLog } from './connection.js';
export { numberPlaceholders } from './placeholders.js';
