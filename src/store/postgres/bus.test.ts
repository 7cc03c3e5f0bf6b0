import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestSchema, pgTestUrl, type PgTestSchema } from '../../../test/support/pg.js';
import type { ChangeEvent } from '../port.js';
import { createPostgresBus, decodeEvent, encodeEvent, PostgresBus } from './bus.js';
import { channelName } from './connection.js';

if (!pgTestUrl()) console.warn('BULWARK_TEST_PG not set: skipping PostgreSQL tests');

type Call = [ChangeEvent | null, boolean];

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP proxy to the database that the test can cut (closing every connection and refusing new ones) and restore. */
async function startProxy(target: URL): Promise<{ url: string; refused: number; refuse(): void; accept(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let isRefusing = false;
  const state = {
    url: '',
    refused: 0,
    refuse(): void {
      isRefusing = true;
      for (const s of sockets) s.destroy();
    },
    accept(): void {
      isRefusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    if (isRefusing) {
      state.refused++;
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  state.url = url.href;
  return state;
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('PostgresBus payloads', () => {
  it('round-trips an event', () => {
    const e: ChangeEvent = { accountId: 'a1', modseq: 7, types: ['email'], mailboxIds: ['m1', 'm2'] };
    expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });

  it('drops mailboxIds when the payload would reach 8000 bytes', () => {
    const e: ChangeEvent = { accountId: 'a1', modseq: 7, types: ['email'], mailboxIds: Array.from({ length: 1000 }, (_, i) => `mailbox-${i}`) };
    const payload = encodeEvent(e);
    expect(Buffer.byteLength(payload)).toBeLessThan(8000);
    expect(decodeEvent(payload)).toEqual({ accountId: 'a1', modseq: 7, types: ['email'] });
  });

  it('rejects payloads that are not change events', () => {
    for (const p of ['', 'null', '[]', '{"accountId":"a","modseq":"1","types":[]}', '{"accountId":"a","modseq":1,"types":[1]}', '{"accountId":"a","modseq":1,"types":[],"mailboxIds":"m"}', '{"modseq":1,"types":[]}']) {
      expect(decodeEvent(p)).toBeUndefined();
    }
  });

  it('names channels after the schema and keeps them within 63 bytes', () => {
    expect(channelName()).toBe('bulwark_public');
    expect(channelName('tenant_a')).toBe('bulwark_tenant_a');
    const long = channelName('x'.repeat(63));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(channelName('x'.repeat(62) + 'y'));
    expect(() => channelName('Bad-Name')).toThrow(/invalid/);
  });
});

describe.skipIf(!pgTestUrl())('PostgresBus on two nodes', () => {
  let t: PgTestSchema;
  let admin: pg.Client;
  const buses: PostgresBus[] = [];

  async function node(): Promise<PostgresBus> {
    const bus = await createPostgresBus({ url: t.url, schema: t.schema, reconnectMinMs: 20, reconnectMaxMs: 200 });
    buses.push(bus);
    return bus;
  }

  beforeAll(async () => {
    t = await createPgTestSchema();
    admin = new pg.Client({ connectionString: t.url });
    await admin.connect();
  });

  afterEach(async () => {
    for (const b of buses.splice(0)) await b.close();
  });

  afterAll(async () => {
    await admin?.end();
    await t?.drop();
  });

  it('delivers an event published on one node to subscribers on both, once each', async () => {
    const a = await node();
    const b = await node();
    const onA: Call[] = [];
    const onB: Call[] = [];
    const onOther: Call[] = [];
    a.subscribe('acc1', (e, r) => onA.push([e, r]));
    b.subscribe('acc1', (e, r) => onB.push([e, r]));
    b.subscribe('acc2', (e, r) => onOther.push([e, r]));
    const event: ChangeEvent = { accountId: 'acc1', modseq: 3, types: ['email'], mailboxIds: ['m1'] };
    await a.publish(event);
    await waitFor(() => onA.length > 0 && onB.length > 0, 'the event on both nodes');
    await settle();
    expect(onA).toEqual([[event, false]]);
    expect(onB).toEqual([[event, false]]);
    expect(onOther).toEqual([]);
  });

  it('delivers to "*" subscribers and stops after unsubscribe', async () => {
    const a = await node();
    const b = await node();
    const all: Call[] = [];
    const off = b.subscribe('*', (e, r) => all.push([e, r]));
    await a.publish({ accountId: 'x', modseq: 1, types: ['mailbox'] });
    await waitFor(() => all.length === 1, 'the first event');
    off();
    await a.publish({ accountId: 'x', modseq: 2, types: ['mailbox'] });
    await settle();
    expect(all).toEqual([[{ accountId: 'x', modseq: 1, types: ['mailbox'] }, false]]);
  });

  it('tells handlers to resync after the listener is killed, and hears later events', async () => {
    const a = await node();
    const b = await node();
    const calls: Call[] = [];
    b.subscribe('acc1', (e, r) => calls.push([e, r]));
    const pid = b.listenerPid;
    expect(pid).toEqual(expect.any(Number));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(() => calls.some(([e, r]) => e === null && r), 'the resync call');
    expect(calls).toEqual([[null, true]]);
    expect(b.listenerPid).not.toBe(pid);
    const event: ChangeEvent = { accountId: 'acc1', modseq: 9, types: ['email'] };
    await a.publish(event);
    await waitFor(() => calls.length === 2, 'the event after reconnect');
    expect(calls[1]).toEqual([event, false]);
  });

  it('survives several kills in a row and still hears events', async () => {
    const a = await node();
    const b = await node();
    const calls: Call[] = [];
    b.subscribe('*', (e, r) => calls.push([e, r]));
    for (let i = 0; i < 3; i++) {
      const pid = b.listenerPid;
      if (pid !== undefined) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(() => b.listenerPid !== undefined && b.listenerPid !== pid, 'a new listener');
    }
    await waitFor(() => calls.length >= 1, 'a resync');
    expect(calls.every(([e, r]) => e === null && r)).toBe(true);
    const before = calls.length;
    await a.publish({ accountId: 'z', modseq: 1, types: ['email'] });
    await waitFor(() => calls.length === before + 1, 'the event');
  });

  it('keeps retrying while the server cannot be reached, then resyncs', async () => {
    const proxy = await startProxy(new URL(t.url));
    try {
      const a = await node();
      const b = await createPostgresBus({ url: proxy.url, schema: t.schema, reconnectMinMs: 20, reconnectMaxMs: 100 });
      buses.push(b);
      const calls: Call[] = [];
      b.subscribe('*', (e, r) => calls.push([e, r]));
      proxy.refuse();
      await waitFor(() => b.listenerPid === undefined, 'the listener to drop');
      // Several reconnect attempts fail while the way to the server is closed.
      await new Promise((r) => setTimeout(r, 400));
      expect(proxy.refused).toBeGreaterThanOrEqual(2);
      expect(calls).toEqual([]);
      proxy.accept();
      await waitFor(() => calls.length === 1, 'the resync');
      expect(calls).toEqual([[null, true]]);
      await a.publish({ accountId: 'acc1', modseq: 2, types: ['email'] });
      await waitFor(() => calls.length === 2, 'the event after reconnect');
      expect(calls[1]).toEqual([{ accountId: 'acc1', modseq: 2, types: ['email'] }, false]);
    } finally {
      await proxy.close();
    }
  });

  it('ignores NOTIFY payloads that are not change events', async () => {
    const b = await node();
    const calls: Call[] = [];
    b.subscribe('*', (e, r) => calls.push([e, r]));
    await admin.query('SELECT pg_notify($1, $2)', [b.channel, '{"accountId": 5}']);
    await admin.query('SELECT pg_notify($1, $2)', [b.channel, JSON.stringify({ accountId: 'ok', modseq: 1, types: [] })]);
    await waitFor(() => calls.length === 1, 'the valid event');
    expect(calls).toEqual([[{ accountId: 'ok', modseq: 1, types: [] }, false]]);
  });

  it('does not hear other schemas on the same database', async () => {
    const other = await createPostgresBus({ url: t.url, schema: t.schema + '_other' });
    buses.push(other);
    const b = await node();
    const calls: Call[] = [];
    b.subscribe('*', (e, r) => calls.push([e, r]));
    await other.publish({ accountId: 'acc1', modseq: 1, types: ['email'] });
    await settle();
    expect(calls).toEqual([]);
  });

  it('closes without reconnecting and refuses to publish afterwards', async () => {
    const b = await node();
    const calls: Call[] = [];
    b.subscribe('*', (e, r) => calls.push([e, r]));
    const pid = b.listenerPid;
    await b.close();
    await settle();
    expect(calls).toEqual([]);
    expect(b.listenerPid).toBeUndefined();
    await expect(b.publish({ accountId: 'a', modseq: 1, types: [] })).rejects.toThrow(/closed/);
    const r = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]);
    expect(r.rows[0].n).toBe(0);
  });

  it('publishes through a pool it is given', async () => {
    const pool = new pg.Pool({ connectionString: t.url, max: 1 });
    try {
      const a = await createPostgresBus({ url: t.url, schema: t.schema, pool });
      buses.push(a);
      const calls: Call[] = [];
      a.subscribe('acc1', (e, r) => calls.push([e, r]));
      await a.publish({ accountId: 'acc1', modseq: 4, types: ['email'] });
      await waitFor(() => calls.length === 1, 'the event');
      await a.close();
      buses.splice(buses.indexOf(a), 1);
      // The bus does not end a pool it did not open.
      expect((await pool.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    } finally {
      await pool.end();
    }
  });
});
