/**
 * Versioned schema migrations, written once for both engines. Type words in capitals are
 * replaced per dialect (see `ddl`), so the two schemas cannot drift apart.
 *
 * Schema summary (ids are opaque TEXT, times are ms since the epoch):
 * - domains, dkim_keys (signing keys per domain, so every node of a cluster has them), accounts (kind, roles, quota, used bytes and the account's modseq counter),
 *   addresses (primary, alias and catch-all "@domain" rows pointing at accounts),
 *   group_members, app_passwords.
 * - mailboxes (role, uidValidity, uidNext, highest modseq), messages (one per account and
 *   message, with its blob and the parsed structure as JSON), mailbox_messages (membership:
 *   uid, modseq, flags), message_search (text for search), thread_refs (Message-ID → thread).
 * - The search index over message_search (version 2): an FTS5 trigram table kept by triggers
 *   (SQLite: message_search_fts, keyed by message_search_docs) or pg_trgm GIN indexes (PostgreSQL).
 * - blobs (reference counts; zero_since starts the garbage collector's grace period).
 * - changes (the per-account change log: every change has the account's next modseq).
 * - audit (append-only security events), meta (key/value).
 * - queue_messages, queue_recipients (the outbound queue, migration 3; see src/core/queue).
 * - Partial indexes of unseen, deleted and flagged messages (migration 6).
 * - maildrop_locks: POP3's exclusive maildrop leases (migration 7).
 */
import type { Dialect, Queryable } from '../port.js';

/** One schema step. */
export interface Migration {
  /** Strictly increasing version number. */
  version: number;
  /** Short description, stored beside the version. */
  name: string;
  /** Portable DDL; statements separated by semicolons at line ends. */
  sql: string;
  /**
   * Extra statements for SQLite only, run after `sql`, each whole (not split, so trigger
   * bodies may hold semicolons).
   */
  sqlite?: readonly string[];
  /** Extra statements for PostgreSQL only, run after `sql`, each whole (DO blocks, extensions). */
  postgres?: readonly string[];
}

/** Replaces the portable type words with the dialect's own. */
export function ddl(sql: string, dialect: Dialect): string {
  const words: Record<string, [string, string]> = {
    AUTOID: ['INTEGER PRIMARY KEY AUTOINCREMENT', 'BIGSERIAL PRIMARY KEY'],
    BIGINT: ['INTEGER', 'BIGINT'],
    BYTES: ['BLOB', 'BYTEA'],
  };
  return sql.replace(/\b(AUTOID|BIGINT|BYTES)\b/g, (w) => words[w]![dialect === 'sqlite' ? 0 : 1]);
}

/** Every migration, oldest first. Never edit one that has shipped; add a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'foundation',
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE domains (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE UNIQUE INDEX domains_name ON domains (name) WHERE deleted_at IS NULL;
CREATE TABLE dkim_keys (
  domain_id TEXT NOT NULL REFERENCES domains (id),
  selector TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  private_key_pem TEXT NOT NULL,
  public_key_b64 TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (domain_id, selector)
);
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  domain_id TEXT NOT NULL REFERENCES domains (id),
  kind TEXT NOT NULL,
  address TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  password_hash TEXT,
  roles TEXT NOT NULL DEFAULT '',
  quota_bytes BIGINT NOT NULL DEFAULT 0,
  used_bytes BIGINT NOT NULL DEFAULT 0,
  modseq BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE INDEX accounts_domain ON accounts (domain_id);
CREATE UNIQUE INDEX accounts_address ON accounts (address) WHERE deleted_at IS NULL;
CREATE TABLE addresses (
  address TEXT PRIMARY KEY,
  domain_id TEXT NOT NULL REFERENCES domains (id),
  account_id TEXT NOT NULL REFERENCES accounts (id),
  kind TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX addresses_account ON addresses (account_id);
CREATE TABLE group_members (
  group_id TEXT NOT NULL REFERENCES accounts (id),
  member_id TEXT NOT NULL REFERENCES accounts (id),
  PRIMARY KEY (group_id, member_id)
);
CREATE TABLE app_passwords (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX app_passwords_account ON app_passwords (account_id);
CREATE TABLE mailboxes (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  name TEXT NOT NULL,
  role TEXT,
  uid_validity BIGINT NOT NULL,
  uid_next BIGINT NOT NULL DEFAULT 1,
  highest_modseq BIGINT NOT NULL DEFAULT 0,
  subscribed INTEGER NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE UNIQUE INDEX mailboxes_name ON mailboxes (account_id, name) WHERE deleted_at IS NULL;
CREATE TABLE blobs (
  id TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  refcount BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  zero_since BIGINT
);
CREATE INDEX blobs_zero ON blobs (zero_since) WHERE zero_since IS NOT NULL;
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  blob_id TEXT NOT NULL REFERENCES blobs (id),
  size BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  sent_at BIGINT,
  thread_id TEXT NOT NULL,
  parse_version INTEGER NOT NULL,
  structure TEXT NOT NULL,
  created_modseq BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE INDEX messages_account ON messages (account_id);
CREATE INDEX messages_deleted ON messages (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX messages_parse_version ON messages (parse_version);
CREATE TABLE message_search (
  message_id TEXT PRIMARY KEY REFERENCES messages (id),
  account_id TEXT NOT NULL,
  headers TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE thread_refs (
  account_id TEXT NOT NULL,
  msgid TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  PRIMARY KEY (account_id, msgid)
);
CREATE TABLE mailbox_messages (
  mailbox_id TEXT NOT NULL REFERENCES mailboxes (id),
  uid BIGINT NOT NULL,
  message_id TEXT NOT NULL REFERENCES messages (id),
  account_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  modseq BIGINT NOT NULL,
  flags TEXT NOT NULL DEFAULT '',
  saved_at BIGINT NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX mailbox_messages_message ON mailbox_messages (message_id);
CREATE INDEX mailbox_messages_modseq ON mailbox_messages (mailbox_id, modseq);
CREATE TABLE changes (
  id AUTOID,
  account_id TEXT NOT NULL,
  modseq BIGINT NOT NULL,
  type TEXT NOT NULL,
  op TEXT NOT NULL,
  object_id TEXT NOT NULL,
  mailbox_id TEXT,
  uid BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX changes_account ON changes (account_id, modseq);
CREATE INDEX changes_mailbox ON changes (mailbox_id, modseq) WHERE mailbox_id IS NOT NULL;
CREATE TABLE audit (
  id AUTOID,
  at BIGINT NOT NULL,
  event TEXT NOT NULL,
  ok INTEGER NOT NULL,
  account_id TEXT,
  actor TEXT,
  subject TEXT,
  source TEXT,
  protocol TEXT,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_account ON audit (account_id, at);
`,
  },
  {
    // The text index behind SEARCH (src/core/mail/search.ts). It narrows candidates only; the
    // exact case-insensitive substring test runs on them afterwards. Maintained by triggers
    // (SQLite) or the GIN index itself (PostgreSQL), so storing a message needs no extra code.
    version: 2,
    name: 'search index',
    sql: '',
    sqlite: [
      // message_search has a TEXT key, so its implicit rowid may change on VACUUM: the FTS
      // rows are keyed by a stable INTEGER PRIMARY KEY of their own instead.
      'CREATE TABLE message_search_docs (doc INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE)',
      "CREATE VIRTUAL TABLE message_search_fts USING fts5(headers, body, content='', contentless_delete=1, tokenize='trigram')",
      `CREATE TRIGGER message_search_fts_insert AFTER INSERT ON message_search BEGIN
  INSERT INTO message_search_docs (message_id) VALUES (new.message_id);
  INSERT INTO message_search_fts (rowid, headers, body) SELECT doc, new.headers, new.body FROM message_search_docs WHERE message_id = new.message_id;
END`,
      `CREATE TRIGGER message_search_fts_delete AFTER DELETE ON message_search BEGIN
  DELETE FROM message_search_fts WHERE rowid = (SELECT doc FROM message_search_docs WHERE message_id = old.message_id);
  DELETE FROM message_search_docs WHERE message_id = old.message_id;
END`,
      `CREATE TRIGGER message_search_fts_update AFTER UPDATE ON message_search BEGIN
  DELETE FROM message_search_fts WHERE rowid = (SELECT doc FROM message_search_docs WHERE message_id = old.message_id);
  DELETE FROM message_search_docs WHERE message_id = old.message_id;
  INSERT INTO message_search_docs (message_id) VALUES (new.message_id);
  INSERT INTO message_search_fts (rowid, headers, body) SELECT doc, new.headers, new.body FROM message_search_docs WHERE message_id = new.message_id;
END`,
      'INSERT INTO message_search_docs (message_id) SELECT message_id FROM message_search',
      `INSERT INTO message_search_fts (rowid, headers, body)
  SELECT d.doc, s.headers, s.body FROM message_search s JOIN message_search_docs d ON d.message_id = s.message_id`,
    ],
    postgres: [
      // pg_trgm is database-wide. It goes into public (not a per-node or per-test schema whose
      // DROP ... CASCADE would take every other schema's indexes with it), under an advisory
      // lock so that two schemas migrating at once do not both create it. Where the role may
      // not create extensions, an administrator runs CREATE EXTENSION pg_trgm beforehand.
      `DO $$
DECLARE trgm_schema text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('bulwark:pg_trgm'));
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
      CREATE EXTENSION pg_trgm WITH SCHEMA public;
    ELSE
      CREATE EXTENSION pg_trgm;
    END IF;
  END IF;
  SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  EXECUTE format('CREATE INDEX message_search_headers_trgm ON message_search USING gin (headers %I.gin_trgm_ops)', trgm_schema);
  EXECUTE format('CREATE INDEX message_search_body_trgm ON message_search USING gin (body %I.gin_trgm_ops)', trgm_schema);
END
$$`,
    ],
  },
  {
    // The outbound queue (src/core/queue): one row per queued message (its blob holds a
    // reference in blobs.refcount) and one per recipient with its own status. A node claims
    // a message by moving claimed_until into the future with a conditional UPDATE.
    version: 3,
    name: 'outbound queue',
    sql: `
CREATE TABLE queue_messages (
  id TEXT PRIMARY KEY,
  blob_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  mail_from TEXT NOT NULL,
  account_id TEXT,
  envid TEXT,
  ret TEXT,
  is_dsn INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  claimed_by TEXT,
  delay_notified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_messages_due ON queue_messages (next_attempt_at);
CREATE TABLE queue_recipients (
  message_id TEXT NOT NULL,
  address TEXT NOT NULL,
  domain TEXT NOT NULL,
  orcpt TEXT,
  notify TEXT,
  status TEXT NOT NULL,
  last_reply TEXT,
  remote_mta TEXT,
  last_attempt_at BIGINT,
  PRIMARY KEY (message_id, address)
);
`,
  },
  {
    // SQLite's text index is filled in the background (core/mail/search-index.ts) instead
    // of inside each delivery's transaction: a trigram index over up to 256 KiB of text per
    // message made every delivery commit several times its own size, and FTS5 builds far
    // fewer, larger segments from batches. Rows wait in message_search_pending meanwhile,
    // and SEARCH treats pending messages as candidates, so results stay exact.
    version: 4,
    name: 'background search indexing',
    sql: '',
    sqlite: [
      'CREATE TABLE message_search_pending (message_id TEXT PRIMARY KEY)',
      'DROP TRIGGER message_search_fts_insert',
      'DROP TRIGGER message_search_fts_update',
      'DROP TRIGGER message_search_fts_delete',
      `CREATE TRIGGER message_search_pending_insert AFTER INSERT ON message_search BEGIN
  INSERT OR IGNORE INTO message_search_pending (message_id) VALUES (new.message_id);
END`,
      `CREATE TRIGGER message_search_fts_update AFTER UPDATE ON message_search BEGIN
  DELETE FROM message_search_fts WHERE rowid = (SELECT doc FROM message_search_docs WHERE message_id = old.message_id);
  DELETE FROM message_search_docs WHERE message_id = old.message_id;
  INSERT OR IGNORE INTO message_search_pending (message_id) VALUES (new.message_id);
END`,
      `CREATE TRIGGER message_search_fts_delete AFTER DELETE ON message_search BEGIN
  DELETE FROM message_search_fts WHERE rowid = (SELECT doc FROM message_search_docs WHERE message_id = old.message_id);
  DELETE FROM message_search_docs WHERE message_id = old.message_id;
  DELETE FROM message_search_pending WHERE message_id = old.message_id;
END`,
    ],
  },
  {
    // Delegated senders (src/core/accounts/senders.ts): account_id may use `address` (a
    // local address of another account, e.g. a shared mailbox) as envelope sender and From;
    // target_id pins the grant to the account that owned the address when it was granted, so
    // a freed and reused address does not carry the grant over.
    // And the per-account submission counter (src/core/delivery/limits.ts): one row per
    // account per clock-hour window, so the hourly limit survives restarts and is shared by
    // every node of a cluster.
    version: 5,
    name: 'send-as grants and sending counters',
    sql: `
CREATE TABLE send_as (
  account_id TEXT NOT NULL REFERENCES accounts (id),
  address TEXT NOT NULL,
  target_id TEXT NOT NULL REFERENCES accounts (id),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, address)
);
CREATE INDEX send_as_address ON send_as (address);
CREATE TABLE send_counts (
  account_id TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  count BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, window_start)
);
`,
  },
  {
    // Partial indexes of the messages that lack \Seen or carry \Deleted or \Flagged: few in a
    // mailbox as people keep it, so UNSEEN, EXPUNGE, FLAGGED and SELECT's first unseen read
    // those rows, not the whole mailbox (10,000 messages: EXPUNGE's lookup 3.5 ms → 0.03 ms).
    // The WHERE text is the one core/mail/flags.ts systemFlagSql writes, as the planners
    // match an index by its expression.
    version: 6,
    name: 'partial indexes for unseen, deleted and flagged messages',
    sql: `
CREATE INDEX mailbox_messages_unseen ON mailbox_messages (mailbox_id, uid) WHERE flags NOT LIKE '%\\Seen%' ESCAPE '!';
CREATE INDEX mailbox_messages_deleted ON mailbox_messages (mailbox_id, uid) WHERE flags LIKE '%\\Deleted%' ESCAPE '!';
CREATE INDEX mailbox_messages_flagged ON mailbox_messages (mailbox_id, uid) WHERE flags LIKE '%\\Flagged%' ESCAPE '!';
`,
  },
  {
    // POP3's exclusive maildrop lock (RFC 1939 §4) as a lease in the store, so that it holds
    // across the nodes of a cluster (core/mail/maildrop-lock.ts).
    version: 7,
    name: 'maildrop locks',
    sql: `
CREATE TABLE maildrop_locks (
  account_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
`,
  },
];

/** Applies every migration the store has not seen, each in its own transaction. */
export async function migrate(
  store: { dialect: Dialect; write<T>(fn: (q: Queryable) => Promise<T>): Promise<T> },
  now: () => number,
): Promise<number[]> {
  await store.write((q) =>
    q.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${ddl('BIGINT', store.dialect)} NOT NULL)`,
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const did = await store.write(async (q) => {
      // The check runs inside the transaction so two nodes starting at once apply it once.
      if (store.dialect === 'postgres') await q.run('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
      const seen = await q.get('SELECT version FROM schema_migrations WHERE version = ?', [m.version]);
      if (seen) return false;
      for (const stmt of splitStatements(ddl(m.sql, store.dialect))) await q.run(stmt);
      for (const stmt of (store.dialect === 'sqlite' ? m.sqlite : m.postgres) ?? []) await q.run(stmt);
      await q.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, now()]);
      return true;
    });
    if (did) applied.push(m.version);
  }
  return applied;
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
