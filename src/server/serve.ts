/**
 * `bulwark serve`: takes the data-folder lock, opens storage, builds the core context, opens
 * the configured listeners, runs the garbage collector on a timer, and shuts down gracefully
 * on SIGTERM/SIGINT (listeners close first, in-flight requests and transactions finish, then
 * storage closes and the lock is released).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Socket } from 'node:net';
import { LISTENER_NAMES, type Config, type ListenerName } from '../config/index.js';
import { Authenticator } from '../core/auth/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Context, Logger } from '../core/context.js';
import { collectGarbage } from '../core/gc.js';
import { reparseOutdated } from '../core/mail/reparse.js';
import { indexAllPending } from '../core/mail/search-index.js';
import { adminHandler, publicHandler } from '../protocols/http/index.js';
import { TlsCertificates } from '../security/tls.js';
import { lockDataFolder, openStorage, type DataLock, type Storage } from '../store/index.js';
import { contextFor, storageOptions } from './context.js';
import { clientAddress, listen, type OpenListener } from './listeners.js';
import type { ProtocolServer } from './protocol.js';
import { LISTENER_ROLES, PROTOCOL_FACTORIES, type ListenerRole } from './protocols.js';

/** A running server. */
export interface RunningServer {
  ctx: Context;
  listeners: OpenListener[];
  /** Stops gracefully; resolves when everything is closed. */
  stop(): Promise<void>;
}

/** Starts the server described by a validated config. */
export async function startServer(dataDir: string, config: Config, log: Logger, clock: Clock = systemClock): Promise<RunningServer> {
  const lock: DataLock = await lockDataFolder(dataDir);
  let storage: Storage | null = null;
  const listeners: OpenListener[] = [];
  const httpServers: HttpServer[] = [];
  const protocolServers = new Map<ListenerRole['protocol'], ProtocolServer>();
  let gcTimer: NodeJS.Timeout | null = null;
  let indexTimer: NodeJS.Timeout | null = null;
  try {
    storage = await openStorage(storageOptions(dataDir, config, clock));
    const ctx = contextFor(config, storage, log, clock);
    const auth = new Authenticator(ctx, {
      maxFailuresPerIp: config.auth.maxFailuresPerIp,
      windowMs: config.auth.windowMinutes * 60_000,
      baseDelayMs: config.auth.baseDelayMs,
      maxDelayMs: config.auth.maxDelayMs,
    });
    const registry = makeRegistry(ctx);
    const tls = new TlsCertificates({ cert: config.tls.cert, key: config.tls.key, certificates: config.tls.certificates });

    let connections = 0;
    for (const name of LISTENER_NAMES) {
      const address = config.listeners[name];
      if (!address) continue;
      const onConnection = await connectionHandler(name);
      if (!onConnection) continue;
      const l = await listen({
        name,
        address,
        proxyProtocol: config.listeners.proxyProtocol.includes(name),
        proxyTrusted: config.listeners.proxyTrusted,
        log,
        onConnection,
      });
      listeners.push(l);
      log.info({ event: 'listener.open', listener: name, address: l.address, port: l.port }, `${name} listening on ${l.address}:${l.port}`);
    }

    /** What takes a listener's sockets: its protocol server, or node:http; null if not in this version. */
    async function connectionHandler(name: ListenerName): Promise<((socket: Socket) => void) | null> {
      const role = LISTENER_ROLES[name];
      if (!role) {
        let server: HttpServer;
        if (name === 'admin') server = createHttpServer(adminHandler(ctx, auth, registry, (req) => clientAddress(req.socket)));
        else if (name === 'https') server = createHttpsServer(tls.serverOptions(), publicHandler(ctx));
        else server = createHttpServer(publicHandler(ctx));
        server.headersTimeout = 20_000;
        server.requestTimeout = 60_000;
        httpServers.push(server);
        return (socket) => server.emit('connection', socket);
      }
      const factory = PROTOCOL_FACTORIES[role.protocol];
      if (!factory) {
        log.warn({ event: 'listener.unavailable', listener: name }, `${name}: not implemented in this version; listener not opened`);
        return null;
      }
      let server = protocolServers.get(role.protocol);
      if (!server) {
        server = (await factory())({ ctx, auth, tls, config, log });
        protocolServers.set(role.protocol, server);
      }
      const target = server;
      return (socket) =>
        target.handle(socket, {
          listener: name,
          implicitTls: role.implicitTls,
          clientAddress: clientAddress(socket),
          clientPort: socket.remotePort ?? 0,
          connectionId: (++connections).toString(36),
        });
    }

    // Background jobs in flight, so that stop lets them finish before the store closes.
    const background = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      background.add(p);
      void p.finally(() => background.delete(p));
    };
    const runGc = () => {
      track(collectGarbage(ctx).catch((e: unknown) => log.error({ event: 'gc.error', err: e }, 'garbage collection failed')));
      track(reparseOutdated(ctx).catch((e: unknown) => log.error({ event: 'mail.reparse.error', err: e }, 're-parse failed')));
      auth.prune();
    };
    gcTimer = setInterval(runGc, config.retention.gcIntervalMinutes * 60_000);
    gcTimer.unref();
    // The background text indexer (SQLite): short batches, so sessions keep running between them.
    let indexing = false;
    indexTimer = setInterval(() => {
      if (indexing) return;
      indexing = true;
      track(
        indexAllPending(ctx, 200)
          .catch((e: unknown) => log.error({ event: 'search.index.error', err: e }, 'text indexing failed'))
          .finally(() => (indexing = false)),
      );
    }, 500);
    indexTimer.unref();
    setImmediate(runGc);

    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        log.info({ event: 'server.stopping' }, 'shutting down');
        if (gcTimer) clearInterval(gcTimer);
        if (indexTimer) clearInterval(indexTimer);
        // Stop accepting first; a listener's close resolves only once its connections have
        // ended, which the protocol and HTTP servers bring about below.
        const listenersClosed = Promise.all(listeners.map((l) => l.close()));
        await Promise.all([...protocolServers.values()].map((p) => p.close()));
        await Promise.all(
          httpServers.map(
            (s) =>
              new Promise<void>((r) => {
                s.close(() => r());
                s.closeIdleConnections();
                setTimeout(() => (s.closeAllConnections(), r()), 10_000).unref();
              }),
          ),
        );
        await listenersClosed;
        await Promise.all(background);
        await storage!.close();
        await lock.release();
        log.info({ event: 'server.stopped' }, 'stopped');
      })());
    return { ctx, listeners, stop };
  } catch (e) {
    if (gcTimer) clearInterval(gcTimer);
    if (indexTimer) clearInterval(indexTimer);
    await Promise.all(listeners.map((l) => l.close()));
    await Promise.all([...protocolServers.values()].map((p) => p.close()));
    if (storage) await storage.close();
    await lock.release();
    throw e;
  }
}

function makeRegistry(ctx: Context): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });
  new Gauge({
    name: 'bulwark_accounts',
    help: 'Live accounts',
    registers: [registry],
    async collect() {
      const r = await ctx.store.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM accounts WHERE deleted_at IS NULL'));
      this.set(Number(r?.n ?? 0));
    },
  });
  new Gauge({
    name: 'bulwark_messages',
    help: 'Stored messages (not soft-deleted)',
    registers: [registry],
    async collect() {
      const r = await ctx.store.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM messages WHERE deleted_at IS NULL'));
      this.set(Number(r?.n ?? 0));
    },
  });
  new Counter({ name: 'bulwark_up', help: 'Always 1 while the process runs', registers: [registry] }).inc();
  return registry;
}
