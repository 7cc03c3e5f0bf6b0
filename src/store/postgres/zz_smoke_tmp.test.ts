import { describe, it, expect } from 'vitest';
import { createPgTestSchema } from '/work/main/test/support/pg.js';
import { createPostgresStore, createPostgresBlobStore, createPostgresBus } from '/work/main/src/store/postgres/index.js';
import { addDomain, addAccount, listAccounts, addAlias, resolveRecipient, removeAccount } from '/work/main/src/core/accounts/index.js';
import { listMailboxes, createMailbox } from '/work/main/src/core/mail/mailboxes.js';
import { storeMessage } from '/work/main/src/core/mail/store.js';
import { listMessages, setFlags, expunge, getEmail } from '/work/main/src/core/mail/messages.js';
import { collectGarbage } from '/work/main/src/core/gc.js';
import { FakeClock } from '/work/main/src/core/clock.js';
import { silentLogger, defaultSettings, type Context } from '/work/main/src/core/context.js';

describe('core on postgres', () => {
  it('smoke', async () => {
    const t = await createPgTestSchema();
    const clock = new FakeClock();
    const store = await createPostgresStore({ url: t.url, schema: t.schema, now: () => clock.now() });
    const blobs = await createPostgresBlobStore({ url: t.url, schema: t.schema, now: () => clock.now() });
    const bus = await createPostgresBus({ url: t.url, schema: t.schema, pool: store.pool });
    const ctx: Context = { clock, store, blobs, bus, log: silentLogger, settings: defaultSettings };
    const actor = { name: 'system', protocol: 'test' };
    try {
      await addDomain(ctx, 'example.org', actor);
      const acc = await addAccount(ctx, { address: 'ann@example.org', password: 'correct horse battery' }, actor);
      await addAccount(ctx, { address: 'bob@example.org' }, actor);
      await addAlias(ctx, 'a@example.org', 'ann@example.org', actor);
      console.log(await resolveRecipient(ctx, 'a@example.org'));
      const events: unknown[] = [];
      bus.subscribe('*', (e) => events.push(e));
      const raw = Buffer.from('From: x@y.z\r\nTo: ann@example.org\r\nSubject: hi\r\nMessage-ID: <1@y>\r\n\r\nhello\r\n');
      const out = await Promise.all([1, 2, 3].map(() => storeMessage(ctx, raw, [{ accountId: acc.id }])));
      console.log(JSON.stringify(out.map((o) => o[0])));
      const mbs = await listMailboxes(ctx, acc.id);
      console.log(JSON.stringify(mbs));
      const inbox = mbs.find((m) => m.role === 'inbox')!;
      const msgs = await listMessages(ctx, acc.id, inbox.id);
      console.log(JSON.stringify(msgs));
      await createMailbox(ctx, acc.id, 'Projects');
      console.log(JSON.stringify(await setFlags(ctx, acc.id, inbox.id, [msgs[0]!.uid], 'add' as never, ['\\Seen'])));
      console.log(JSON.stringify(await expunge(ctx, acc.id, inbox.id, [msgs[0]!.uid])));
      console.log((await getEmail(ctx, acc.id, msgs[1]!.messageId ?? (msgs[1] as any).emailId)).toString().slice(0, 80));
      console.log(JSON.stringify(await listAccounts(ctx)));
      await removeAccount(ctx, 'bob@example.org', actor);
      clock.advance(100 * 86_400_000);
      console.log(JSON.stringify(await collectGarbage(ctx)));
      await new Promise((r) => setTimeout(r, 200));
      console.log('events', JSON.stringify(events));
      expect(true).toBe(true);
    } finally {
      await bus.close(); await store.close(); await blobs.close(); await t.drop();
    }
  });
});
