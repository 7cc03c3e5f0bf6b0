/**
 * The store contract suite: core behaviour over the Store port, run against every adapter
 * (SQLite always; PostgreSQL when BULWARK_TEST_PG holds a connection string).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as accounts from '../src/core/accounts/index.js';
import { readAudit } from '../src/core/audit/index.js';
import { Authenticator } from '../src/core/auth/index.js';
import { changesSince } from '../src/core/changes.js';
import { AlreadyExists, AuthFailed, InUse, InvalidInput, NotFound, OverQuota } from '../src/core/errors.js';
import { collectGarbage } from '../src/core/gc.js';
import { createMailbox, listMailboxes } from '../src/core/mail/mailboxes.js';
import { expunge, getEmail, listMessages, setFlags } from '../src/core/mail/messages.js';
import { storeMessage } from '../src/core/mail/store.js';
import { mailboxSnapshot } from '../src/core/mail/snapshot.js';
import { reparseOutdated } from '../src/core/mail/reparse.js';
import { MIME_PARSER_VERSION } from '../src/mime/index.js';
import { migrate } from '../src/store/migrations/index.js';
import { acquireMaildropLock, MAILDROP_LEASE_MS, releaseMaildropLock, renewMaildropLock } from '../src/core/mail/maildrop-lock.js';
import { adapters, makeContext, testMessage, type TestContext } from './support/context.js';

const cli = { name: 'cli:test', protocol: 'cli' };

if (!process.env.BULWARK_TEST_PG) console.warn('BULWARK_TEST_PG not set: the store contract suite runs on SQLite only, PostgreSQL is skipped');

for (const adapter of adapters()) {
  describe(`store contract (${adapter})`, () => {
    let t: TestContext;
    beforeEach(async () => {
      t = await makeContext(adapter);
      await accounts.addDomain(t.ctx, 'example.com', cli);
    });
    afterEach(async () => {
      await t.close();
    });

    const user = (address = 'bob@example.com', extra: Partial<accounts.NewAccount> = {}) =>
      accounts.addAccount(t.ctx, { address, password: 'correct horse', ...extra }, cli);
    const blobPath = (id: string) => join(t.dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id);

    it('applies migrations once and is idempotent', async () => {
      expect(await migrate(t.ctx.store, () => 0)).toEqual([]);
    });

    describe('domains', () => {
      it('stores domains canonically (case, IDNA) and refuses duplicates', async () => {
        const d = await accounts.addDomain(t.ctx, 'Bücher.Example', cli);
        expect(d.name).toBe('xn--bcher-kva.example');
        await expect(accounts.addDomain(t.ctx, 'BÜCHER.example', cli)).rejects.toBeInstanceOf(AlreadyExists);
        await expect(accounts.addDomain(t.ctx, 'bad domain', cli)).rejects.toBeInstanceOf(InvalidInput);
        expect((await accounts.listDomains(t.ctx)).map((x) => x.name)).toEqual(['example.com', 'xn--bcher-kva.example']);
      });

      it('refuses to remove a domain that has accounts', async () => {
        await user();
        await expect(accounts.removeDomain(t.ctx, 'example.com', cli)).rejects.toBeInstanceOf(InUse);
        await accounts.removeAccount(t.ctx, 'bob@example.com', cli);
        await accounts.removeDomain(t.ctx, 'example.com', cli);
        expect(await accounts.listDomains(t.ctx)).toEqual([]);
      });
    });

    describe('accounts', () => {
      it('creates INBOX, Drafts, Sent, Junk, Trash and Archive with their roles', async () => {
        const a = await user();
        const boxes = await listMailboxes(t.ctx, a.id);
        expect(boxes.map((b) => [b.name, b.role]).sort()).toEqual(
          [['Archive', 'archive'], ['Drafts', 'drafts'], ['INBOX', 'inbox'], ['Junk', 'junk'], ['Sent', 'sent'], ['Trash', 'trash']],
        );
        for (const b of boxes) {
          expect(b.uidNext).toBe(1);
          expect(b.uidValidity).toBeGreaterThan(0);
        }
        expect(a.modseq).toBeGreaterThan(0);
        expect(a.id).not.toContain('bob');
      });

      it('canonicalises addresses and refuses duplicates and local domains it does not have', async () => {
        const a = await user('Bob.Smith@EXAMPLE.com');
        expect(a.address).toBe('bob.smith@example.com');
        await expect(user('BOB.SMITH@example.com')).rejects.toBeInstanceOf(AlreadyExists);
        await expect(user('x@elsewhere.org')).rejects.toBeInstanceOf(NotFound);
        await expect(user('not an address')).rejects.toBeInstanceOf(InvalidInput);
        await expect(user('a+b@example.com')).rejects.toBeInstanceOf(InvalidInput);
      });

      it('accepts UTF-8 local parts, compared after NFC normalisation', async () => {
        const a = await user('Jos\u00e9@example.com');
        expect(await accounts.resolveRecipient(t.ctx, 'jose\u0301@example.com')).toEqual([a.id]);
      });

      it('resolves plus addresses, aliases, catch-all and groups', async () => {
        const bob = await user();
        const carol = await user('carol@example.com');
        expect(await accounts.resolveRecipient(t.ctx, 'BOB+lists@Example.COM')).toEqual([bob.id]);
        expect(await accounts.resolveRecipient(t.ctx, 'nobody@example.com')).toEqual([]);
        await accounts.addAlias(t.ctx, 'robert@example.com', 'bob@example.com', cli);
        expect(await accounts.resolveRecipient(t.ctx, 'robert@example.com')).toEqual([bob.id]);
        await expect(accounts.addAlias(t.ctx, 'carol@example.com', 'bob@example.com', cli)).rejects.toBeInstanceOf(AlreadyExists);
        const team = await accounts.addAccount(t.ctx, { address: 'team@example.com', kind: 'group' }, cli);
        expect(team.kind).toBe('group');
        await accounts.setGroupMembers(t.ctx, 'team@example.com', { add: ['bob@example.com', 'carol@example.com'] }, cli);
        expect((await accounts.resolveRecipient(t.ctx, 'team@example.com')).sort()).toEqual([bob.id, carol.id].sort());
        await accounts.addAlias(t.ctx, '@example.com', 'carol@example.com', cli);
        expect(await accounts.resolveRecipient(t.ctx, 'anything@example.com')).toEqual([carol.id]);
        expect((await accounts.listAliases(t.ctx)).map((a) => a.address)).toEqual(['@example.com', 'robert@example.com']);
        await accounts.removeAlias(t.ctx, 'robert@example.com', cli);
        expect(await accounts.resolveRecipient(t.ctx, 'robert@example.com')).toEqual([carol.id]);
      });

      it('soft-deletes an account: it stops resolving, its address is free, its data stays until the collector runs', async () => {
        const bob = await user();
        const [stored] = await storeMessage(t.ctx, testMessage(), [{ accountId: bob.id }]);
        await accounts.removeAccount(t.ctx, 'bob@example.com', cli);
        expect(await accounts.resolveRecipient(t.ctx, 'bob@example.com')).toEqual([]);
        expect(await accounts.getAccount(t.ctx, bob.id)).toBeUndefined();
        const again = await user();
        expect(again.id).not.toBe(bob.id);
        expect(stored!.ok).toBe(true);
        // Within the retention period the collector keeps the data.
        expect((await collectGarbage(t.ctx)).accounts).toBe(0);
        t.clock.advance(t.ctx.settings.retentionMs + 1);
        const report = await collectGarbage(t.ctx);
        expect(report.accounts).toBe(1);
        expect(report.messages).toBe(1);
      });
    });

    describe('messages', () => {
      it('stores a message durably with a UID, a modseq, a thread, a change-log row and a blob reference', async () => {
        const bob = await user();
        const before = (await accounts.getAccount(t.ctx, bob.id))!.modseq;
        const raw = testMessage({ subject: 'First' });
        const [o] = await storeMessage(t.ctx, raw, [{ accountId: bob.id, flags: ['\\Seen', 'work'] }]);
        if (!o?.ok) throw new Error('store failed');
        expect(o.uid).toBe(1);
        expect(o.modseq).toBe(before + 1);
        const msgs = await listMessages(t.ctx, bob.id, o.mailboxId);
        expect(msgs).toEqual([expect.objectContaining({ uid: 1, emailId: o.emailId, modseq: o.modseq, flags: ['\\Seen', 'work'], size: raw.byteLength })]);
        const email = await getEmail(t.ctx, bob.id, o.emailId);
        expect(Buffer.from((await t.ctx.blobs.get(email.blobId))!)).toEqual(Buffer.from(raw));
        expect(existsSync(blobPath(email.blobId))).toBe(true);
        const log = await t.ctx.store.read((q) => changesSince(q, bob.id, before));
        expect(log).toContainEqual(expect.objectContaining({ modseq: o.modseq, type: 'email', op: 'create', objectId: o.emailId, uid: 1 }));
        const acc = await accounts.getAccount(t.ctx, bob.id);
        expect(acc!.usedBytes).toBe(raw.byteLength);
      });

      it('gives replies the thread of the message they reference', async () => {
        const bob = await user();
        const [a] = await storeMessage(t.ctx, testMessage({ messageId: '<root@x>' }), [{ accountId: bob.id }]);
        const [b] = await storeMessage(t.ctx, testMessage({ messageId: '<reply@x>', inReplyTo: '<root@x>' }), [{ accountId: bob.id }]);
        const [c] = await storeMessage(t.ctx, testMessage({ messageId: '<other@x>' }), [{ accountId: bob.id }]);
        if (!a?.ok || !b?.ok || !c?.ok) throw new Error('store failed');
        expect(b.threadId).toBe(a.threadId);
        expect(c.threadId).not.toBe(a.threadId);
      });

      it('delivers to several accounts at once; one over quota fails alone', async () => {
        const bob = await user();
        const carol = await user('carol@example.com', { quotaBytes: 10 });
        const out = await storeMessage(t.ctx, testMessage(), [{ accountId: bob.id }, { accountId: carol.id }]);
        expect(out[0]!.ok).toBe(true);
        expect(out[1]!.ok).toBe(false);
        expect(!out[1]!.ok && out[1]!.error).toBeInstanceOf(OverQuota);
        expect((await accounts.getAccount(t.ctx, carol.id))!.usedBytes).toBe(0);
      });

      it('keeps quota usage exact under concurrent writers', async () => {
        const raw = testMessage({ body: 'x'.repeat(1000) });
        const bob = await user('bob@example.com', { quotaBytes: raw.byteLength * 10 });
        const results = await Promise.all(Array.from({ length: 40 }, () => storeMessage(t.ctx, raw, [{ accountId: bob.id }])));
        const ok = results.filter((r) => r[0]!.ok).length;
        expect(ok).toBe(10);
        expect((await accounts.getAccount(t.ctx, bob.id))!.usedBytes).toBe(raw.byteLength * 10);
      });

      it('gives concurrent deliveries distinct, gap-free UIDs and distinct modseqs', async () => {
        const bob = await user();
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => storeMessage(t.ctx, testMessage({ subject: `m${i}` }), [{ accountId: bob.id }])));
        const uids = results.map((r) => (r[0]!.ok ? r[0]!.uid : -1)).sort((a, b) => a - b);
        expect(uids).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
        const modseqs = new Set(results.map((r) => (r[0]!.ok ? r[0]!.modseq : -1)));
        expect(modseqs.size).toBe(60);
        const inbox = (await listMailboxes(t.ctx, bob.id)).find((m) => m.role === 'inbox')!;
        expect(inbox.uidNext).toBe(61);
        expect(inbox.messages).toBe(60);
        expect(inbox.highestModseq).toBe(Math.max(...modseqs));
      });

      it('changes flags with one new modseq and honours UNCHANGEDSINCE', async () => {
        const bob = await user();
        const outs = await Promise.all([1, 2, 3].map((i) => storeMessage(t.ctx, testMessage({ subject: `${i}` }), [{ accountId: bob.id }])));
        const mb = outs[0]![0]!.ok ? outs[0]![0]!.mailboxId : '';
        const r1 = await setFlags(t.ctx, bob.id, mb, [1, 2], 'add', ['\\seen', '$Label1']);
        expect(r1.changed).toEqual([{ uid: 1, flags: ['\\Seen', '$Label1'] }, { uid: 2, flags: ['\\Seen', '$Label1'] }]);
        const r2 = await setFlags(t.ctx, bob.id, mb, [1, 3], 'add', ['\\Flagged'], r1.modseq - 1);
        expect(r2.modified).toEqual([1]);
        expect(r2.changed.map((c) => c.uid)).toEqual([3]);
        expect(r2.modseq).toBeGreaterThan(r1.modseq);
        const noop = await setFlags(t.ctx, bob.id, mb, [1], 'add', ['\\Seen']);
        expect(noop.changed).toEqual([]);
        await expect(setFlags(t.ctx, bob.id, mb, [1], 'add', ['\\Bogus'])).rejects.toBeInstanceOf(InvalidInput);
      });

      it('expunges, frees quota, soft-deletes, and the collector removes the blob only after retention and grace', async () => {
        const bob = await user();
        const raw = testMessage();
        const [o] = await storeMessage(t.ctx, raw, [{ accountId: bob.id }]);
        if (!o?.ok) throw new Error('store failed');
        const email = await getEmail(t.ctx, bob.id, o.emailId);
        const r = await expunge(t.ctx, bob.id, o.mailboxId, [1, 99]);
        expect(r.expunged).toEqual([1]);
        expect((await accounts.getAccount(t.ctx, bob.id))!.usedBytes).toBe(0);
        await expect(getEmail(t.ctx, bob.id, o.emailId)).rejects.toBeInstanceOf(NotFound);
        const log = await t.ctx.store.read((q) => changesSince(q, bob.id, o.modseq));
        expect(log).toContainEqual(expect.objectContaining({ op: 'expunge', uid: 1, mailboxId: o.mailboxId }));
        expect((await collectGarbage(t.ctx)).messages).toBe(0);
        t.clock.advance(t.ctx.settings.retentionMs + 1);
        expect((await collectGarbage(t.ctx)).messages).toBe(1);
        expect(existsSync(blobPath(email.blobId))).toBe(true);
        t.clock.advance(t.ctx.settings.gcGraceMs + 1);
        const g = await collectGarbage(t.ctx);
        expect(g.blobs).toBe(1);
        expect(existsSync(blobPath(email.blobId))).toBe(false);
      });

      it('keeps a deduplicated blob while any message references it', async () => {
        const bob = await user();
        const carol = await user('carol@example.com');
        const raw = testMessage();
        const [a] = await storeMessage(t.ctx, raw, [{ accountId: bob.id }]);
        const [b] = await storeMessage(t.ctx, raw, [{ accountId: carol.id }]);
        if (!a?.ok || !b?.ok) throw new Error('store failed');
        const blobId = (await getEmail(t.ctx, bob.id, a.emailId)).blobId;
        expect((await getEmail(t.ctx, carol.id, b.emailId)).blobId).toBe(blobId);
        await expunge(t.ctx, bob.id, a.mailboxId, [a.uid]);
        t.clock.advance(t.ctx.settings.retentionMs + t.ctx.settings.gcGraceMs + 2);
        await collectGarbage(t.ctx);
        await collectGarbage(t.ctx);
        expect(existsSync(blobPath(blobId))).toBe(true);
        expect((await getEmail(t.ctx, carol.id, b.emailId)).blobId).toBe(blobId);
      });

      it('re-parses messages stored by an older parser version in the background', async () => {
        const bob = await user();
        const [o] = await storeMessage(t.ctx, testMessage({ subject: 'Reparse me' }), [{ accountId: bob.id }]);
        if (!o?.ok) throw new Error('store failed');
        await t.ctx.store.write((q) => q.run("UPDATE messages SET parse_version = 0, structure = '{}' WHERE id = ?", [o.emailId]));
        await t.ctx.store.write((q) => q.run("UPDATE message_search SET headers = '' WHERE message_id = ?", [o.emailId]));
        expect(await reparseOutdated(t.ctx)).toBe(1);
        const e = await getEmail(t.ctx, bob.id, o.emailId);
        expect(e.parseVersion).toBe(MIME_PARSER_VERSION);
        expect((e.structure as { envelope: { subject: string } }).envelope.subject).toBe('Reparse me');
        const text = await t.ctx.store.read((q) => q.get<{ headers: string }>('SELECT headers FROM message_search WHERE message_id = ?', [o.emailId]));
        expect(text!.headers).toContain('Reparse me');
        expect(await reparseOutdated(t.ctx)).toBe(0);
      });

      it('creates mailboxes with hierarchy and refuses bad names', async () => {
        const bob = await user();
        await createMailbox(t.ctx, bob.id, 'Projects/2026');
        await expect(createMailbox(t.ctx, bob.id, 'Projects/2026')).rejects.toBeInstanceOf(AlreadyExists);
        await expect(createMailbox(t.ctx, bob.id, 'a//b')).rejects.toBeInstanceOf(InvalidInput);
        await expect(createMailbox(t.ctx, bob.id, 'inbox')).rejects.toBeInstanceOf(AlreadyExists);
        expect((await listMailboxes(t.ctx, bob.id)).map((m) => m.name)).toContain('Projects/2026');
      });

      it('announces committed changes on the bus', async () => {
        const bob = await user();
        const seen: number[] = [];
        t.ctx.bus.subscribe(bob.id, (e) => e && seen.push(e.modseq));
        const [o] = await storeMessage(t.ctx, testMessage(), [{ accountId: bob.id }]);
        await new Promise((r) => setTimeout(r, adapter === 'postgres' ? 50 : 0));
        expect(o?.ok && seen).toContain(o?.ok ? o.modseq : -1);
      });
    });

    it('mailbox snapshots: a cached one brought forward by the change log equals a fresh read', async () => {
      const bob = (await user()).id;
      const inbox = (await listMailboxes(t.ctx, bob)).find((b) => b.role === 'inbox')!.id;
      const truth = async () => Uint32Array.from((await listMessages(t.ctx, bob, inbox)).map((m) => m.uid).sort((x, y) => x - y));
      for (let i = 0; i < 6; i++) await storeMessage(t.ctx, testMessage({ subject: `s${i}` }), [{ accountId: bob }]);
      const first = await mailboxSnapshot(t.ctx, bob, inbox);
      expect(first.uids).toEqual(await truth());
      // Unchanged: the very same (shared) array.
      expect((await mailboxSnapshot(t.ctx, bob, inbox)).uids).toBe(first.uids);
      // Expunges in the middle, new messages, a flag change: the cached list plus the log.
      await expunge(t.ctx, bob, inbox, [2, 5]);
      await storeMessage(t.ctx, testMessage({ subject: 'late' }), [{ accountId: bob }]);
      await setFlags(t.ctx, bob, inbox, [1], 'add', ['\\Seen']);
      const later = await mailboxSnapshot(t.ctx, bob, inbox);
      expect(later.uids).toEqual(await truth());
      expect([...later.uids]).toEqual([1, 3, 4, 6, 7]);
      expect(later.highestModseq).toBeGreaterThan(first.highestModseq);
      // The array the first caller holds is never changed.
      expect([...first.uids]).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('maildrop locks: one holder at a time, renewed by it, free again at release or when the lease runs out', async () => {
      const bob = (await user()).id;
      expect(await acquireMaildropLock(t.ctx, bob, 'node-a')).toBe(true);
      expect(await acquireMaildropLock(t.ctx, bob, 'node-b')).toBe(false);
      // Concurrent attempts: exactly one wins.
      await releaseMaildropLock(t.ctx, bob, 'node-a');
      const wins = await Promise.all(['x', 'y', 'z', 'w'].map((h) => acquireMaildropLock(t.ctx, bob, h)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const holder = ['x', 'y', 'z', 'w'][wins.indexOf(true)]!;
      // Renewal keeps it past the first lease; another holder cannot renew or release it.
      t.clock.advance(MAILDROP_LEASE_MS - 1);
      expect(await renewMaildropLock(t.ctx, bob, holder)).toBe(true);
      expect(await renewMaildropLock(t.ctx, bob, 'node-b')).toBe(false);
      await releaseMaildropLock(t.ctx, bob, 'node-b');
      t.clock.advance(MAILDROP_LEASE_MS - 1);
      expect(await acquireMaildropLock(t.ctx, bob, 'node-b')).toBe(false);
      // A holder that died: its lease runs out, and then the lock can be taken.
      t.clock.advance(1);
      expect(await acquireMaildropLock(t.ctx, bob, 'node-b')).toBe(true);
      expect(await renewMaildropLock(t.ctx, bob, holder)).toBe(false);
    });

    describe('authentication', () => {
      const sleeps: number[] = [];
      const auth = () => new Authenticator(t.ctx, { baseDelayMs: 100, maxDelayMs: 1000, maxFailuresPerIp: 5, windowMs: 60_000 }, async (ms) => void sleeps.push(ms));
      const req = (username: string, password: string, remoteAddress = '192.0.2.1') => ({ username, password, remoteAddress, protocol: 'imap', mechanism: 'PLAIN' });

      it('accepts the right password with any case of address and audits it', async () => {
        const bob = await user();
        const ok = await auth().authenticate(req('BOB@example.com', 'correct horse'));
        expect(ok).toMatchObject({ accountId: bob.id, address: 'bob@example.com', appPasswordId: null });
        const events = await readAudit(t.ctx, { event: 'auth.login' });
        expect(events).toEqual([expect.objectContaining({ ok: true, accountId: bob.id, source: '192.0.2.1', protocol: 'imap' })]);
      });

      it('refuses wrong passwords and unknown users alike, audits them, and grows the delay', async () => {
        await user();
        const a = auth();
        sleeps.length = 0;
        await expect(a.authenticate(req('bob@example.com', 'wrong'))).rejects.toBeInstanceOf(AuthFailed);
        await expect(a.authenticate(req('nobody@example.com', 'wrong'))).rejects.toBeInstanceOf(AuthFailed);
        await expect(a.authenticate(req('bob@example.com', 'wrong'))).rejects.toBeInstanceOf(AuthFailed);
        expect(sleeps.length).toBeGreaterThan(0);
        expect(sleeps[sleeps.length - 1]!).toBeGreaterThan(sleeps[0]!);
        expect((await readAudit(t.ctx, { event: 'auth.failure' })).length).toBe(3);
      });

      it('delays but never refuses the right password after many failures from other addresses', async () => {
        const bob = await user();
        const a = auth();
        for (let i = 0; i < 20; i++) {
          await expect(a.authenticate(req('bob@example.com', 'wrong', `198.51.100.${i}`))).rejects.toBeInstanceOf(AuthFailed);
        }
        sleeps.length = 0;
        const ok = await a.authenticate(req('bob@example.com', 'correct horse', '203.0.113.9'));
        expect(ok.accountId).toBe(bob.id);
        expect(sleeps[0]).toBeGreaterThan(0);
      });

      it('refuses every attempt from an address past the hard cap', async () => {
        await user();
        const a = auth();
        for (let i = 0; i < 5; i++) await expect(a.authenticate(req('bob@example.com', 'wrong'))).rejects.toBeInstanceOf(AuthFailed);
        await expect(a.authenticate(req('bob@example.com', 'correct horse'))).rejects.toBeInstanceOf(AuthFailed);
        expect((await readAudit(t.ctx, { event: 'auth.throttled' })).length).toBe(1);
      });

      it('accepts app passwords by id, and not once revoked', async () => {
        const bob = await user();
        const app = await accounts.addAppPassword(t.ctx, 'bob@example.com', 'phone', cli);
        const ok = await auth().authenticate(req('bob@example.com', app.password));
        expect(ok).toMatchObject({ accountId: bob.id, appPasswordId: app.id });
        expect((await accounts.listAppPasswords(t.ctx, 'bob@example.com'))[0]!.lastUsedAt).not.toBeNull();
        await accounts.revokeAppPassword(t.ctx, 'bob@example.com', app.id, cli);
        await expect(auth().authenticate(req('bob@example.com', app.password))).rejects.toBeInstanceOf(AuthFailed);
        const ev = (await readAudit(t.ctx)).map((e) => e.event);
        expect(ev).toContain('account.app_password.add');
        expect(ev).toContain('account.app_password.revoke');
      });

      it('refuses a removed account and group accounts', async () => {
        await user();
        await accounts.addAccount(t.ctx, { address: 'grp@example.com', kind: 'group', password: 'x' }, cli);
        await expect(auth().authenticate(req('grp@example.com', 'x'))).rejects.toBeInstanceOf(AuthFailed);
        await accounts.removeAccount(t.ctx, 'bob@example.com', cli);
        await expect(auth().authenticate(req('bob@example.com', 'correct horse'))).rejects.toBeInstanceOf(AuthFailed);
      });
    });
  });
}
