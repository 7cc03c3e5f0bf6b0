/**
 * PostgreSQL adapter of the Bus port: LISTEN/NOTIFY.
 *
 * Engine rules this file keeps (DESIGN.md, "Adapters keep their engine's grain"):
 * - LISTEN needs a session of its own: the listener is one dedicated pg.Client, never a pooled
 *   connection. Publishing is `SELECT pg_notify(…)` on a pool.
 * - Channels are database-wide, so the channel is named after the schema (`bulwark_<schema>`).
 * - Notifications sent while the listener is disconnected are lost. After every reconnect each
 *   handler gets `(null, true)`: resync from your last modseq.
 * - A payload must be shorter than 8000 bytes; an event too large drops its mailboxIds, which
 *   only makes listeners look at more mailboxes than needed.
 * - Subscribers in the publishing process hear an event through the same NOTIFY round trip as
 *   every other node, so they hear it exactly once.
 * Payloads are parsed as JSON and checked field by field before a handler sees them: any role
 * that can connect to the database can NOTIFY.
 */
import pg from 'pg';
import { LocalBus } from '../bus/local.js';
import type { Bus, BusHandler, ChangeEvent } from '../port.js';
import { channelName, createPool, quoteIdent, silentPgLog, type PgLog } from './connection.js';

/** NOTIFY refuses payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7999;

/** Options of the PostgreSQL bus. */
export interface PostgresBusOptions {
  /** Connection string for the listening connection (and for publishing when no pool is given). */
  url: string;
  /** Pool to publish through (e.g. the store's); the caller ends it. */
  pool?: pg.Pool;
  /** The schema whose nodes share this bus; names the channel (default 'public'). */
  schema?: string;
  /** First delay before reconnecting the listener, in ms (default 100). */
  reconnectMinMs?: number;
  /** Longest delay between reconnect attempts, in ms (default 10000). */
  reconnectMaxMs?: number;
  /** Where connection losses and bad payloads are reported. */
  log?: PgLog;
}

/** Encodes an event as a NOTIFY payload, dropping mailboxIds if the whole would be too large. */
export function encodeEvent(event: ChangeEvent): string {
  const plain: ChangeEvent = { accountId: event.accountId, modseq: event.modseq, types: event.types };
  if (event.mailboxIds !== undefined) {
    const full = JSON.stringify({ ...plain, mailboxIds: event.mailboxIds });
    if (Buffer.byteLength(full) <= MAX_PAYLOAD_BYTES) return full;
  }
  const small = JSON.stringify(plain);
  // Account ids and type names are short; an event this large is a bug at the caller.
  if (Buffer.byteLength(small) > MAX_PAYLOAD_BYTES) throw new RangeError('change event too large for NOTIFY');
  return small;
}

/** Parses a NOTIFY payload into a ChangeEvent, or undefined if it is not one. */
export function decodeEvent(payload: string): ChangeEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    // Not JSON: not ours. The caller logs it.
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.accountId !== 'string' || o.accountId.length === 0) return undefined;
  if (typeof o.modseq !== 'number' || !Number.isSafeInteger(o.modseq) || o.modseq < 0) return undefined;
  if (!isStringArray(o.types)) return undefined;
  const event: ChangeEvent = { accountId: o.accountId, modseq: o.modseq, types: [...o.types] };
  if (o.mailboxIds !== undefined) {
    if (!isStringArray(o.mailboxIds)) return undefined;
    event.mailboxIds = [...o.mailboxIds];
  }
  return event;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** A Bus over PostgreSQL LISTEN/NOTIFY, shared by every node on one database and schema. */
export class PostgresBus implements Bus {
  /** The NOTIFY channel. */
  readonly channel: string;
  private readonly local = new LocalBus();
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly log: PgLog;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  /** The connected, listening client; null while (re)connecting. */
  private listener: pg.Client | null = null;
  /** Backend pid of the listener, for diagnostics and tests. */
  private pid: number | undefined;
  /** Clients that reported an error or their end, so none is adopted after it died. */
  private readonly dead = new WeakSet<pg.Client>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnecting: Promise<void> | null = null;
  private isClosed = false;

  constructor(private readonly options: PostgresBusOptions) {
    this.channel = channelName(options.schema);
    this.log = options.log ?? silentPgLog;
    this.reconnectMinMs = options.reconnectMinMs ?? 100;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 10_000;
    if (options.pool) {
      this.pool = options.pool;
      this.ownsPool = false;
    } else {
      this.pool = createPool({ url: options.url, max: 2, log: this.log });
      this.ownsPool = true;
    }
  }

  /** The backend pid of the listening connection, or undefined while reconnecting (for tests and diagnostics). */
  get listenerPid(): number | undefined {
    return this.listener ? this.pid : undefined;
  }

  /** Connects the listener; rejects if the first connection fails. Call once before use. */
  async start(): Promise<void> {
    if (this.listener || this.isClosed) return;
    const client = await this.openListener();
    if (this.isClosed) {
      await endQuietly(client, this.log);
      return;
    }
    this.adopt(client);
  }

  async publish(event: ChangeEvent): Promise<void> {
    if (this.isClosed) throw new Error('bus is closed');
    await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, encodeEvent(event)]);
  }

  subscribe(accountId: string, handler: BusHandler): () => void {
    return this.local.subscribe(accountId, handler);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.reconnecting;
    const client = this.listener;
    this.listener = null;
    if (client) await endQuietly(client, this.log);
    if (this.ownsPool) await this.pool.end();
    await this.local.close();
  }

  private async openListener(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.url, keepAlive: true });
    client.on('notification', (m) => {
      if (m.channel === this.channel) this.receive(m.payload ?? '');
    });
    // pg emits 'error' and then 'end' when the server goes away; either starts a reconnect.
    client.on('error', (err) => {
      this.dead.add(client);
      this.dropped(client, err);
    });
    client.on('end', () => {
      this.dead.add(client);
      this.dropped(client, undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
      const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.pid = r.rows[0]?.pid;
    } catch (e) {
      await endQuietly(client, this.log);
      throw e;
    }
    return client;
  }

  private receive(payload: string): void {
    const event = decodeEvent(payload);
    if (!event) {
      this.log.warn({ event: 'bus.payload.invalid', channel: this.channel, bytes: payload.length }, 'ignored a NOTIFY payload that is not a change event');
      return;
    }
    this.local.deliver(event);
  }

  private dropped(client: pg.Client, err: Error | undefined): void {
    // Only the current listener matters; errors of a client being replaced or closed do not.
    if (client !== this.listener || this.isClosed) return;
    this.listener = null;
    this.log.warn({ event: 'bus.listener.lost', channel: this.channel, err }, 'lost the LISTEN connection; reconnecting');
    void endQuietly(client, this.log);
    this.scheduleReconnect(0);
  }

  private scheduleReconnect(attempt: number): void {
    if (this.isClosed) return;
    const ceiling = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** attempt);
    const delayMs = ceiling / 2 + (Math.random() * ceiling) / 2;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.reconnecting = this.reconnect(attempt).finally(() => (this.reconnecting = null));
    }, delayMs);
  }

  private async reconnect(attempt: number): Promise<void> {
    let client: pg.Client;
    try {
      client = await this.openListener();
    } catch (err) {
      this.log.warn({ event: 'bus.listener.reconnectFailed', channel: this.channel, attempt, err }, 'reconnecting the LISTEN connection failed');
      this.scheduleReconnect(attempt + 1);
      return;
    }
    if (this.isClosed) {
      await endQuietly(client, this.log);
      return;
    }
    if (!this.adopt(client)) return;
    // Whatever was notified while we were away is lost: every handler resyncs.
    this.local.deliver(null, true);
  }

  /** Makes client the listener, unless it died already (then reconnects); true if adopted. */
  private adopt(client: pg.Client): boolean {
    if (this.dead.has(client)) {
      this.scheduleReconnect(0);
      return false;
    }
    this.listener = client;
    return true;
  }
}

/** Opens a PostgreSQL bus and connects its listener. */
export async function createPostgresBus(options: PostgresBusOptions): Promise<PostgresBus> {
  const bus = new PostgresBus(options);
  try {
    await bus.start();
  } catch (e) {
    await bus.close();
    throw e;
  }
  return bus;
}

async function endQuietly(client: pg.Client, log: PgLog): Promise<void> {
  try {
    await client.end();
  } catch (err) {
    // The connection is already gone, which is what ending it wanted.
    log.warn({ event: 'bus.listener.endFailed', err }, 'ending a LISTEN connection failed');
  }
}
