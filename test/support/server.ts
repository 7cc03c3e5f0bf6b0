/**
 * Starts a real Bulwark server in-process on a temporary data folder (SQLite, blob folder,
 * self-signed certificate) with the chosen listeners on free loopback ports, for protocol
 * tests with real client libraries.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LISTENER_NAMES, loadConfig, type ListenerName } from '../../src/config/index.js';
import * as accounts from '../../src/core/accounts/index.js';
import { silentLogger, type Logger } from '../../src/core/context.js';
import { ensureSelfSignedCertificate } from '../../src/security/tls.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running test server. */
export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** Port of each opened listener. */
  ports: Partial<Record<ListenerName, number>>;
  /** Adds an account with a password; returns its id. */
  addUser(address: string, password: string, extra?: Partial<accounts.NewAccount>): Promise<string>;
  stop(): Promise<void>;
}

/** Options of startTestServer. */
export interface TestServerOptions {
  listeners: ListenerName[];
  /** The local domain added at start (default example.com); null adds none (a second node of a cluster). */
  domain?: string | null;
  /** Extra keys of the [listeners] table (e.g. 'proxy_protocol = ["imap"]'). */
  listenerKeys?: string[];
  /** Extra TOML appended to the config (e.g. "[auth]\nloopback_is_secure = false"). */
  extraToml?: string;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

const actor = { name: 'cli:test', protocol: 'cli' };

/** Starts a server with the given listeners on free ports. */
export async function startTestServer(o: TestServerOptions): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-srv-'));
  const ports: Partial<Record<ListenerName, number>> = {};
  const lines = ['[server]', 'hostname = "mail.example.com"', '[listeners]'];
  for (const name of LISTENER_NAMES) {
    if (o.listeners.includes(name)) {
      ports[name] = await freePort();
      lines.push(`${name} = "127.0.0.1:${ports[name]}"`);
    } else {
      lines.push(`${name} = ""`);
    }
  }
  lines.push(...(o.listenerKeys ?? []));
  writeFileSync(join(dataDir, 'bulwark.toml'), lines.join('\n') + '\n' + (o.extraToml ?? '') + '\n');
  await ensureSelfSignedCertificate(join(dataDir, 'tls'), 'mail.example.com', []);
  const config = loadConfig(dataDir, o.env ?? {});
  const server = await startServer(dataDir, config, o.log ?? silentLogger);
  const domain = o.domain === undefined ? 'example.com' : o.domain;
  if (domain !== null) await accounts.addDomain(server.ctx, domain, actor);
  return {
    server,
    dataDir,
    ports,
    async addUser(address, password, extra = {}) {
      return (await accounts.addAccount(server.ctx, { address, password, ...extra }, actor)).id;
    },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
