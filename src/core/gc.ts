/**
 * The garbage collector: the only code that really deletes. It removes soft-deleted
 * messages and accounts once the retention period has passed, then blobs that nothing
 * references any more and that have been unreferenced for longer than the grace period,
 * then blob files that no row knows (writes a crash interrupted before commit).
 *
 * Order matters: metadata rows go first, in transactions; files go only after the commit
 * that dropped their last reference, and only past the grace period, so an in-flight
 * delivery that found the blob present (dedup) commits its reference first.
 */
import type { Context } from './context.js';

/** What one collection removed. */
export interface GcReport {
  messages: number;
  accounts: number;
  blobs: number;
  orphanFiles: number;
}

const BATCH = 500;

/** Runs one collection pass. */
export async function collectGarbage(ctx: Context): Promise<GcReport> {
  const report: GcReport = { messages: 0, accounts: 0, blobs: 0, orphanFiles: 0 };
  const now = ctx.clock.now();
  const cutoff = now - ctx.settings.retentionMs;

  // 1. Accounts past retention: drop their mailbox contents so step 2 sees their messages.
  const accounts = await ctx.store.read((q) => q.all<{ id: string }>('SELECT id FROM accounts WHERE deleted_at IS NOT NULL AND deleted_at < ?', [cutoff]));
  for (const { id } of accounts) {
    await ctx.store.write(async (q) => {
      await q.run('DELETE FROM mailbox_messages WHERE account_id = ?', [id]);
      await q.run('UPDATE messages SET deleted_at = ? WHERE account_id = ? AND deleted_at IS NULL', [cutoff - 1, id]);
    });
  }

  // 2. Messages past retention.
  for (;;) {
    const n = await ctx.store.write(async (q) => {
      const rows = await q.all<{ id: string; blob_id: string }>('SELECT id, blob_id FROM messages WHERE deleted_at IS NOT NULL AND deleted_at < ? LIMIT ?', [cutoff, BATCH]);
      for (const r of rows) {
        // A message can be undeleted by being put back into a mailbox; never remove one in use.
        const inUse = await q.get('SELECT 1 AS x FROM mailbox_messages WHERE message_id = ?', [r.id]);
        if (inUse) {
          await q.run('UPDATE messages SET deleted_at = NULL WHERE id = ?', [r.id]);
          continue;
        }
        await q.run('DELETE FROM message_search WHERE message_id = ?', [r.id]);
        await q.run('DELETE FROM messages WHERE id = ?', [r.id]);
        await q.run('UPDATE blobs SET refcount = refcount - 1, zero_since = CASE WHEN refcount - 1 <= 0 THEN ? ELSE zero_since END WHERE id = ?', [now, r.blob_id]);
      }
      return rows.length;
    });
    report.messages += n;
    if (n < BATCH) break;
  }

  // 3. The accounts themselves, now empty.
  for (const { id } of accounts) {
    await ctx.store.write(async (q) => {
      await q.run('DELETE FROM mailboxes WHERE account_id = ?', [id]);
      await q.run('DELETE FROM thread_refs WHERE account_id = ?', [id]);
      await q.run('DELETE FROM changes WHERE account_id = ?', [id]);
      await q.run('DELETE FROM app_passwords WHERE account_id = ?', [id]);
      await q.run('DELETE FROM group_members WHERE group_id = ? OR member_id = ?', [id, id]);
      await q.run('DELETE FROM addresses WHERE account_id = ?', [id]);
      await q.run('DELETE FROM accounts WHERE id = ?', [id]);
    });
    report.accounts++;
  }

  // 4. Blobs unreferenced for longer than the grace period.
  const blobCutoff = now - ctx.settings.gcGraceMs;
  for (;;) {
    const ids = await ctx.store.write(async (q) => {
      const rows = await q.all<{ id: string }>('SELECT id FROM blobs WHERE refcount <= 0 AND zero_since IS NOT NULL AND zero_since < ? LIMIT ?', [blobCutoff, BATCH]);
      for (const r of rows) await q.run('DELETE FROM blobs WHERE id = ? AND refcount <= 0', [r.id]);
      return rows.map((r) => r.id);
    });
    for (const id of ids) if (await ctx.blobs.delete(id)) report.blobs++;
    if (ids.length < BATCH) break;
  }

  // 5. Files no row knows, older than the grace period.
  const candidates: string[] = [];
  for await (const b of ctx.blobs.list()) if (b.writtenAtMs < blobCutoff) candidates.push(b.id);
  for (let i = 0; i < candidates.length; i += BATCH) {
    const part = candidates.slice(i, i + BATCH);
    const known = new Set(
      (await ctx.store.read((q) => q.all<{ id: string }>(`SELECT id FROM blobs WHERE id IN (${part.map(() => '?').join(',')})`, part))).map((r) => r.id),
    );
    for (const id of part) if (!known.has(id) && (await ctx.blobs.delete(id))) report.orphanFiles++;
  }
  if (report.messages + report.accounts + report.blobs + report.orphanFiles > 0) ctx.log.info({ event: 'gc.done', ...report }, 'garbage collected');
  return report;
}
