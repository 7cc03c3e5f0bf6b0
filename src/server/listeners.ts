/**
 * Network listeners: one net.Server per configured address. Each accepted socket first
 * passes the PROXY protocol step where the config asks for it (trusted peers only), then
 * goes to its protocol's connection handler. The real client address is kept per socket so
 * that rate limits and the audit log see it, not the load balancer's.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ListenAddress, ListenerName } from '../config/index.js';
import type { Logger } from '../core/context.js';
import { acceptProxyProtocol } from '../security/proxy.js';

const clientAddresses = new WeakMap<Socket, string>();

/** The client's address: from the PROXY header if one was accepted, else the peer's. */
export function clientAddress(socket: Socket): string {
  return clientAddresses.get(socket) ?? socket.remoteAddress ?? '';
}

/** How an open listener is described and closed. */
export interface OpenListener {
  name: ListenerName;
  address: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Options for one listener. */
export interface ListenOptions {
  name: ListenerName;
  address: ListenAddress;
  proxyProtocol: boolean;
  proxyTrusted: readonly string[];
  log: Logger;
  onConnection: (socket: Socket) => void;
}

/** Bound on reading a PROXY header. */
const PROXY_TIMEOUT_MS = 5_000;

/** Opens one listener; resolves once it is bound. */
export async function listen(o: ListenOptions): Promise<OpenListener> {
  const server = createServer({ pauseOnConnect: o.proxyProtocol }, (socket) => {
    socket.on('error', (e) => o.log.debug({ event: 'net.socket.error', listener: o.name, err: e.message }, 'socket error'));
    if (!o.proxyProtocol) return o.onConnection(socket);
    acceptProxyProtocol(socket, PROXY_TIMEOUT_MS, { trustedCidrs: o.proxyTrusted }).then(
      (p) => {
        clientAddresses.set(socket, p.remoteAddress);
        o.onConnection(socket);
        socket.resume();
      },
      (e: unknown) => o.log.info({ event: 'net.proxy.refused', listener: o.name, peer: socket.remoteAddress, reason: e instanceof Error ? e.message : String(e) }, 'PROXY header refused'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.address.host || undefined, port: o.address.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : o.address.port;
  const address = typeof bound === 'object' && bound ? bound.address : o.address.host;
  return {
    name: o.name,
    address,
    port,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
