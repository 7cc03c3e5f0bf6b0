/**
 * Two nodes of a cluster (two servers on one PostgreSQL schema, blobs in PostgreSQL, the
 * LISTEN/NOTIFY bus): an IMAP session on one node sees what a session on the other does, as
 * RFC 9051 §7.5.1 and RFC 7162 ask (imapflow on both sides), and POP3's maildrop lock holds
 * across them. Runs when BULWARK_TEST_PG is set.
 */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestSchema, pgTestUrl, type PgTestSchema } from './support/pg.js';
import { startTestServer, type TestServer } from './support/server.js';
import { testMessage } from './support/context.js';
import { Pop3Client } from './fixtures/pop3/client.js';

const USER = 'carol@example.com';
const PASS = 'carol-password-1';

describe.skipIf(pgTestUrl() === undefined)('IMAP and POP3 across two cluster nodes (PostgreSQL)', () => {
  let schema: PgTestSchema;
  let nodeA: TestServer;
  let nodeB: TestServer;
  const client = (node: TestServer) =>
    new ImapFlow({ host: '127.0.0.1', port: node.ports.imap!, secure: false, auth: { user: USER, pass: PASS }, logger: false, tls: { rejectUnauthorized: false } });

  beforeAll(async () => {
    schema = await createPgTestSchema();
    const toml = `[store]\ntype = "postgres"\nurl = "${schema.url}"\nschema = "${schema.schema}"\n[blobs]\ntype = "postgres"\n[bus]\ntype = "postgres"\n`;
    nodeA = await startTestServer({ listeners: ['imap', 'pop3'], extraToml: toml });
    nodeB = await startTestServer({ listeners: ['imap', 'pop3'], extraToml: toml, domain: null });
    await nodeA.addUser(USER, PASS);
  });
  afterAll(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await schema?.drop();
  });

  it('IDLE on one node hears APPEND, flag changes and EXPUNGE made on the other', async () => {
    const a = client(nodeA);
    const b = client(nodeB);
    await a.connect();
    await b.connect();
    await a.mailboxOpen('INBOX');
    const events: string[] = [];
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve) => {
        const check = () => (events.some((e) => pattern.test(e)) ? resolve() : setTimeout(check, 20));
        check();
      });
    a.on('exists', (d: { count: number }) => events.push(`exists ${d.count}`));
    a.on('flags', (d: { uid?: number; flags: Set<string> }) => events.push(`flags ${[...d.flags].sort().join(' ')}`));
    a.on('expunge', () => events.push('expunge'));
    void a.idle();
    await new Promise((r) => setTimeout(r, 200));

    // A delivery by way of node B: node A's IDLE announces it (EXISTS) over the bus.
    const appended = await b.append('INBOX', Buffer.from(testMessage({ subject: 'From node B' })));
    expect(appended && appended.uid).toBe(1);
    await seen(/^exists 1$/);

    // A flag change on node B reaches node A's IDLE as FETCH FLAGS.
    await b.mailboxOpen('INBOX');
    await b.messageFlagsAdd({ uid: '1' }, ['\\Flagged'], { uid: true });
    await seen(/^flags .*\\Flagged/);

    // An expunge on node B: node A hears it during IDLE (expunges may be sent then).
    await b.messageDelete({ uid: '1' }, { uid: true });
    await seen(/^expunge$/);

    // And node A's own view agrees with the store after it all.
    const st = await b.status('INBOX', { messages: true, highestModseq: true });
    await a.noop();
    expect((a.mailbox as { exists: number }).exists).toBe(st.messages);
    await a.logout();
    await b.logout();
  });

  it('POP3: a session on one node keeps a session on the other out of the maildrop ([IN-USE])', async () => {
    const login = async (c: Pop3Client) => {
      expect(await c.command(`USER ${USER}`)).toMatch(/^\+OK/);
      return c.command(`PASS ${PASS}`);
    };
    const a = await Pop3Client.connect(nodeA.ports.pop3!);
    const b = await Pop3Client.connect(nodeB.ports.pop3!);
    expect(await a.readLine()).toMatch(/^\+OK /);
    expect(await b.readLine()).toMatch(/^\+OK /);
    expect(await login(a)).toMatch(/^\+OK maildrop locked/);
    expect(await login(b)).toBe('-ERR [IN-USE] maildrop already locked by another POP3 session');
    expect(await a.command('QUIT')).toMatch(/^\+OK/);
    // The release is a write on node A; node B sees it once committed.
    let reply: string | null = null;
    for (let i = 0; i < 50 && !reply?.startsWith('+OK'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      reply = await login(b);
    }
    expect(reply).toMatch(/^\+OK maildrop locked/);
    a.destroy();
    b.destroy();
  });

  it('CONDSTORE resync on one node picks up changes made on the other', async () => {
    const a = client(nodeA);
    const b = client(nodeB);
    await a.connect();
    await b.connect();
    for (let i = 0; i < 3; i++) await a.append('INBOX', Buffer.from(testMessage({ subject: `Resync ${i}` })));
    const opened = await a.mailboxOpen('INBOX');
    const modseq = BigInt(String((opened as { highestModseq?: bigint }).highestModseq ?? 0));
    await a.logout();
    await b.mailboxOpen('INBOX');
    await b.messageFlagsAdd({ uid: '1:*' }, ['\\Seen'], { uid: true });
    const c = client(nodeA);
    await c.connect();
    await c.mailboxOpen('INBOX');
    const changed: number[] = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: modseq })) {
      expect(m.flags?.has('\\Seen')).toBe(true);
      changed.push(m.uid);
    }
    expect(changed.length).toBe(3);
    await c.logout();
    await b.logout();
  });
});
