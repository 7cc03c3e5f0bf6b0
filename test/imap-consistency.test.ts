/**
 * Randomized multi-client consistency (RFC 9051 §2.3.1.2, §7.5.1): several sessions mutate one
 * mailbox at once; each keeps a model of its sequence numbers from untagged responses only,
 * checks every FETCH against it, and at the end every model equals the mailbox's real state.
 * Also checks that no EXPUNGE arrives while FETCH, STORE or SEARCH runs.
 */
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMessages } from '../src/core/mail/messages.js';
import { findMailbox } from '../src/core/mail/mailboxes.js';
import { startTestServer, type TestServer } from './support/server.js';

let srv: TestServer;
let accountId: string;
const USER = 'multi@example.com';
const PASS = 'multi-password-1';

beforeAll(async () => {
  srv = await startTestServer({ listeners: ['imap'], extraToml: '[auth]\nbase_delay_ms = 0\n' });
  accountId = await srv.addUser(USER, PASS);
});
afterAll(async () => {
  await srv?.stop();
});

class ModelClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  private n = 0;
  uids: Array<number | null> = [];
  flags = new Map<number, string>();
  running = '';
  violations: string[] = [];
  constructor(private sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(): Promise<ModelClient> {
    const c = new ModelClient(connect(srv.ports.imap!, '127.0.0.1'));
    await c.line();
    await c.cmd(`LOGIN ${USER} ${PASS}`);
    await c.cmd('SELECT INBOX');
    await c.learnUids();
    return c;
  }
  private async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  /** Runs a command, applying every untagged response to the model; returns the tagged line. */
  async cmd(text: string): Promise<string> {
    const tag = `t${++this.n}`;
    this.running = text.split(' ')[0] === 'UID' ? text.split(' ')[1]! : text.split(' ')[0]!;
    this.sock.write(`${tag} ${text}\r\n`);
    for (;;) {
      const l = await this.line();
      if (l.startsWith(tag + ' ')) {
        this.running = '';
        return l;
      }
      this.apply(l);
    }
  }
  private apply(l: string): void {
    let m: RegExpExecArray | null;
    if ((m = /^\* (\d+) EXISTS$/.exec(l))) {
      const n = Number(m[1]);
      if (n < this.uids.length) this.violations.push(`EXISTS shrank to ${n} from ${this.uids.length}`);
      while (this.uids.length < n) this.uids.push(null);
    } else if ((m = /^\* (\d+) EXPUNGE$/.exec(l))) {
      if (['FETCH', 'STORE', 'SEARCH'].includes(this.running)) this.violations.push(`EXPUNGE during ${this.running}`);
      const seq = Number(m[1]);
      if (seq < 1 || seq > this.uids.length) this.violations.push(`EXPUNGE of unknown seq ${seq}`);
      const [u] = this.uids.splice(seq - 1, 1);
      if (u) this.flags.delete(u);
    } else if ((m = /^\* (\d+) FETCH \((.*)\)$/.exec(l))) {
      const seq = Number(m[1]);
      const uid = /UID (\d+)/.exec(m[2]!);
      const flags = /FLAGS \(([^)]*)\)/.exec(m[2]!);
      if (seq < 1 || seq > this.uids.length) {
        this.violations.push(`FETCH for unknown seq ${seq}`);
        return;
      }
      if (uid) {
        const known = this.uids[seq - 1];
        if (known !== null && known !== Number(uid[1])) this.violations.push(`seq ${seq} is UID ${known} here, server says ${uid[1]}`);
        this.uids[seq - 1] = Number(uid[1]);
      }
      const u = this.uids[seq - 1];
      if (flags && u) this.flags.set(u, flags[1]!.split(' ').filter(Boolean).sort().join(' '));
    }
  }
  /** Learns the UIDs and flags of messages announced by EXISTS. */
  async learnUids(): Promise<void> {
    if (this.uids.length === 0 || !this.uids.includes(null)) return;
    const first = this.uids.indexOf(null) + 1;
    await this.cmd(`FETCH ${first}:* (UID FLAGS)`);
  }
  close(): void {
    this.sock.destroy();
  }
}

const message = (i: number) => `Subject: m${i}\r\n\r\nbody ${i}\r\n`;

describe('IMAP multi-client consistency', () => {
  it('keeps every session consistent while four clients mutate one mailbox', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => ModelClient.open()));
    let counter = 0;
    const op = fc.oneof(
      fc.constant({ kind: 'append' as const }),
      fc.record({ kind: fc.constant('flag' as const), flag: fc.constantFrom('\\Seen', '\\Flagged', '\\Deleted', '$Work'), add: fc.boolean(), pick: fc.nat() }),
      fc.constant({ kind: 'expunge' as const }),
      fc.record({ kind: fc.constant('move' as const), pick: fc.nat() }),
      fc.constant({ kind: 'noop' as const }),
      fc.constant({ kind: 'search' as const }),
    );
    const script = fc.sample(fc.array(fc.tuple(fc.nat(3), op), { minLength: 120, maxLength: 120 }), { numRuns: 1, seed: 42 })[0]!;
    // Run the clients' scripts concurrently: each client takes its ops in order.
    await Promise.all(
      clients.map(async (c, ci) => {
        for (const [who, o] of script) {
          if (who !== ci) continue;
          const known = c.uids.filter((u): u is number => u !== null);
          if (o.kind === 'append') {
            const m = message(++counter);
            await c.cmd(`APPEND INBOX {${m.length}+}\r\n${m}`);
          } else if (o.kind === 'flag' && known.length) {
            await c.cmd(`UID STORE ${known[o.pick % known.length]} ${o.add ? '+' : '-'}FLAGS (${o.flag})`);
          } else if (o.kind === 'expunge') {
            await c.cmd('EXPUNGE');
          } else if (o.kind === 'move' && known.length) {
            await c.cmd(`UID MOVE ${known[o.pick % known.length]} Archive`);
          } else if (o.kind === 'search') {
            await c.cmd('SEARCH ALL');
          } else await c.cmd('NOOP');
          await c.learnUids();
        }
      }),
    );
    const mb = await findMailbox(srv.server.ctx, accountId, 'INBOX');
    const truth = await listMessages(srv.server.ctx, accountId, mb!.id);
    for (const c of clients) {
      await c.cmd('NOOP');
      await c.learnUids();
      expect(c.violations).toEqual([]);
      expect(c.uids).toEqual(truth.map((t) => t.uid));
      for (const t of truth) expect(c.flags.get(t.uid) ?? '', `flags of UID ${t.uid}`).toBe([...t.flags].sort().join(' '));
      c.close();
    }
    expect(truth.length).toBeGreaterThan(0);
  });
});
