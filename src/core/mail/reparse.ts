/**
 * The background re-parse: messages are parsed once, at delivery, and stored with the
 * parser's version. When a parser fix raises MIME_PARSER_VERSION, this job re-parses stored
 * messages of older versions from their blobs, a batch at a time, so FETCH and search pick up
 * the fix without anyone re-delivering mail.
 */
import type { Context } from '../context.js';
import { MIME_PARSER_VERSION, parseMessage } from '../../mime/index.js';
import { MAX_SEARCH_CHARS } from './store.js';

/** Re-parses up to `limit` outdated messages; returns how many were updated. */
export async function reparseOutdated(ctx: Context, limit = 200): Promise<number> {
  const rows = await ctx.store.read((q) =>
    q.all<{ id: string; blob_id: string }>('SELECT id, blob_id FROM messages WHERE parse_version < ? AND deleted_at IS NULL LIMIT ?', [MIME_PARSER_VERSION, limit]),
  );
  let done = 0;
  for (const r of rows) {
    const raw = await ctx.blobs.get(r.blob_id);
    if (!raw) {
      ctx.log.error({ event: 'mail.reparse.missing_blob', emailId: r.id, blobId: r.blob_id }, 'stored message has no blob');
      continue;
    }
    const { searchText, ...structure } = parseMessage(raw);
    await ctx.store.write(async (q) => {
      await q.run('UPDATE messages SET structure = ?, parse_version = ?, sent_at = ? WHERE id = ?', [JSON.stringify(structure), MIME_PARSER_VERSION, structure.sentAt, r.id]);
      await q.run('UPDATE message_search SET headers = ?, body = ? WHERE message_id = ?', [searchText.headers.slice(0, MAX_SEARCH_CHARS), searchText.body.slice(0, MAX_SEARCH_CHARS), r.id]);
    });
    done++;
  }
  if (done > 0) ctx.log.info({ event: 'mail.reparse', count: done, version: MIME_PARSER_VERSION }, 're-parsed stored messages');
  return done;
}
