/**
 * The background text indexer (SQLite). Deliveries store a message's search text and mark it
 * pending; this job moves pending texts into the FTS5 trigram index in batches bounded by
 * size, so each batch is one transaction and one index segment, and a delivery's commit
 * carries only its own rows. SEARCH includes pending messages as candidates (search/text.ts),
 * so results are exact whether or not the indexer has caught up. PostgreSQL maintains its
 * GIN indexes itself; there this is a no-op.
 */
import type { Context } from '../context.js';

/** Bounds of one indexing batch. */
export interface IndexBatchLimits {
  /** Most messages per batch. */
  maxMessages: number;
  /** Most characters of text per batch (bounds how long the writer is held). */
  maxChars: number;
}

const DEFAULT_LIMITS: IndexBatchLimits = { maxMessages: 200, maxChars: 2_000_000 };

/** Indexes one batch of pending texts; returns how many messages it indexed (0 = caught up). */
export async function indexPendingText(ctx: Context, limits: Partial<IndexBatchLimits> = {}): Promise<number> {
  if (ctx.store.dialect !== 'sqlite') return 0;
  const { maxMessages, maxChars } = { ...DEFAULT_LIMITS, ...limits };
  return ctx.store.write(async (q) => {
    const rows = await q.all<{ message_id: string; n: number }>(
      `SELECT p.message_id, length(s.headers) + length(s.body) AS n
       FROM message_search_pending p JOIN message_search s ON s.message_id = p.message_id LIMIT ?`,
      [maxMessages],
    );
    let chars = 0;
    let done = 0;
    for (const r of rows) {
      // Always at least one, so a single huge text still gets indexed.
      if (done > 0 && chars + Number(r.n) > maxChars) break;
      chars += Number(r.n);
      // Invariant: a pending message has no index rows (the update trigger removes them).
      await q.run('INSERT INTO message_search_docs (message_id) VALUES (?)', [r.message_id]);
      await q.run(
        `INSERT INTO message_search_fts (rowid, headers, body)
         SELECT d.doc, s.headers, s.body FROM message_search s JOIN message_search_docs d ON d.message_id = s.message_id WHERE s.message_id = ?`,
        [r.message_id],
      );
      await q.run('DELETE FROM message_search_pending WHERE message_id = ?', [r.message_id]);
      done++;
    }
    return done;
  });
}

/** Indexes until caught up or `budgetMs` has passed; returns the count. */
export async function indexAllPending(ctx: Context, budgetMs = 5_000): Promise<number> {
  const start = ctx.clock.now();
  let total = 0;
  for (;;) {
    const n = await indexPendingText(ctx);
    total += n;
    if (n === 0 || ctx.clock.now() - start > budgetMs) return total;
    // Let sessions run between batches.
    await new Promise((r) => setImmediate(r));
  }
}
