/** `init`, `serve`, `dns`, `doctor` and `version`: setting up, running and checking a server. */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LISTENER_NAMES, formatListenAddress, isLoopbackHost, loadConfig, renderConfigTemplate, type ListenerName } from '../../config/index.js';
import * as accounts from '../../core/accounts/index.js';
import { dnsRecords, formatZone } from '../../security/dns-records.js';
import { makeLogger } from '../../server/logger.js';
import { generatePassword } from './admin.js';
import { cliActor, openContext, positionals, readPasswordFromStdin, UsageError, withContext, type Command } from '../support.js';

/** Listener addresses of `init --dev`: loopback, ports above 1024. */
export const DEV_LISTENERS: Readonly<Record<ListenerName, string>> = {
  smtp: '127.0.0.1:2525',
  submission: '127.0.0.1:2587',
  submissions: '127.0.0.1:2465',
  lmtp: '',
  imap: '127.0.0.1:2143',
  imaps: '127.0.0.1:2993',
  pop3: '127.0.0.1:2110',
  pop3s: '127.0.0.1:2995',
  http: '127.0.0.1:8080',
  https: '127.0.0.1:8443',
  managesieve: '127.0.0.1:4190',
  admin: '127.0.0.1:8081',
};

/** The package version, read from package.json beside dist/. */
export function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, '../../../package.json'), join(here, '../../package.json')]) {
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

const init: Command = {
  path: ['init'],
  summary: 'Create a data folder: config, self-signed certificate, the first domain with its DKIM keys, and an admin account.',
  options: {
    domain: { type: 'string' },
    hostname: { type: 'string' },
    admin: { type: 'string' },
    'admin-password-stdin': { type: 'boolean' },
    dev: { type: 'boolean' },
    listen: { type: 'string', multiple: true },
  },
  help:
    '--admin is the admin address (default postmaster@DOMAIN). Without --admin-password-stdin a\n' +
    'password is generated and printed once. --dev binds every listener to 127.0.0.1 on ports\n' +
    'above 1024; --listen NAME=HOST:PORT sets one listener ("" turns it off).\n' +
    'Nothing is written unless every step succeeds.',
  async run(a, io) {
    positionals(this, a, []);
    const domainArg = a.values.domain;
    const hostnameArg = a.values.hostname;
    if (typeof domainArg !== 'string' || typeof hostnameArg !== 'string') throw new UsageError('--domain and --hostname are required (see bulwark init --help)');
    const domain = accounts.canonicalDomain(domainArg);
    if (!domain) throw new UsageError(`invalid --domain ${JSON.stringify(domainArg)}`);
    const hostname = accounts.canonicalDomain(hostnameArg);
    if (!hostname) throw new UsageError(`invalid --hostname ${JSON.stringify(hostnameArg)}`);
    const adminAddress = (a.values.admin as string | undefined) ?? `postmaster@${domain}`;
    const admin = accounts.canonicalAddress(adminAddress);
    if (!admin || admin.domain !== domain) throw new UsageError(`--admin must be an address in ${domain}`);
    const listeners: Partial<Record<ListenerName, string>> = a.values.dev ? { ...DEV_LISTENERS } : {};
    for (const item of (a.values.listen as string[] | undefined) ?? []) {
      const eq = item.indexOf('=');
      const name = item.slice(0, eq).toLowerCase() as ListenerName;
      if (eq < 0 || !LISTENER_NAMES.includes(name)) throw new UsageError(`--listen takes NAME=HOST:PORT with NAME one of ${LISTENER_NAMES.join(', ')}`);
      listeners[name] = item.slice(eq + 1);
    }
    const dataDir = a.dataDir;
    if (existsSync(join(dataDir, 'bulwark.toml'))) throw new UsageError(`${dataDir} already holds a configuration; nothing was changed`);
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new UsageError(`${dataDir} is not empty; nothing was changed`);
    // Validates every setting before anything is written.
    const configText = renderConfigTemplate({ hostname, listeners });
    const password = a.values['admin-password-stdin'] ? readPasswordFromStdin(io) : null;

    // Build everything in a sibling folder, then rename it into place: all or nothing.
    const staging = join(dirname(dataDir), `.${basename(dataDir)}.init-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    let generated: string | null = null;
    try {
      writeFileSync(join(staging, 'bulwark.toml'), configText, { mode: 0o600 });
      loadConfig(staging, io.env);
      // Loaded on demand: certificate generation pulls in a large ASN.1 library.
      const { ensureSelfSignedCertificate } = await import('../../security/tls.js');
      await ensureSelfSignedCertificate(join(staging, 'tls'), hostname, [domain]);
      await withContext(staging, io.env, async (c) => {
        await accounts.addDomain(c.ctx, domain, cliActor(io.env));
        generated = password === null ? generatePassword() : null;
        await accounts.addAccount(c.ctx, { address: admin.address, password: password ?? generated!, roles: ['admin'], displayName: 'Administrator' }, cliActor(io.env));
      });
      if (existsSync(dataDir)) rmSync(dataDir, { recursive: true });
      renameSync(staging, dataDir);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    }
    if (a.json) {
      io.stdout(JSON.stringify({ dataDir, domain, hostname, admin: admin.address, ...(generated ? { password: generated } : {}) }) + '\n');
    } else {
      io.stdout(
        `initialised ${dataDir}\n  domain:   ${domain}\n  hostname: ${hostname}\n  admin:    ${admin.address}\n` +
          (generated ? `  password: ${generated}  (shown once; store it now)\n` : '') +
          `next: bulwark serve --data ${dataDir}\n     bulwark dns ${domain} --data ${dataDir}   (records to publish)\n`,
      );
    }
    return 0;
  },
};

const serve: Command = {
  path: ['serve'],
  summary: 'Run the server.',
  async run(a, io) {
    positionals(this, a, []);
    if (!existsSync(join(a.dataDir, 'bulwark.toml'))) throw new UsageError(`no configuration in ${a.dataDir}; run bulwark init first`);
    const config = loadConfig(a.dataDir, io.env);
    const log = makeLogger(config.log.level, config.log.format);
    const { startServer } = await import('../../server/serve.js');
    const server = await startServer(a.dataDir, config, log);
    io.stderr(`bulwark ${packageVersion()} serving ${a.dataDir}\n`);
    for (const l of server.listeners) io.stderr(`  ${l.name.padEnd(12)} ${l.address}:${l.port}\n`);
    await new Promise<void>((resolve) => {
      const onSignal = (sig: string) => {
        log.info({ event: 'server.signal', signal: sig }, `received ${sig}`);
        server.stop().then(resolve, (e: unknown) => {
          log.error({ event: 'server.stop.error', err: e }, 'error while stopping');
          resolve();
        });
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
    });
    return 0;
  },
};

const dns: Command = {
  path: ['dns'],
  summary: 'Print the DNS records to publish for a domain (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV, autoconfig).',
  args: 'DOMAIN',
  options: { ipv4: { type: 'string', multiple: true }, ipv6: { type: 'string', multiple: true } },
  async run(a, io) {
    const [name] = positionals(this, a, ['DOMAIN']);
    const { records, hostname } = await withContext(a.dataDir, io.env, async (c) => {
      const keys = await accounts.dkimKeys(c.ctx, name!);
      const domain = accounts.canonicalDomain(name!)!;
      return {
        hostname: c.config.server.hostname,
        records: dnsRecords({
          domain,
          hostname: c.config.server.hostname,
          dkim: keys.map((k) => ({ selector: k.selector, alg: k.algorithm, publicKeyB64: k.publicKeyB64 })),
          ipv4: (a.values.ipv4 as string[] | undefined) ?? [],
          ipv6: (a.values.ipv6 as string[] | undefined) ?? [],
        }),
      };
    });
    if (a.json) io.stdout(JSON.stringify(records, null, 2) + '\n');
    else io.stdout(`; DNS records for ${name} (mail host ${hostname})\n` + formatZone(records));
    return 0;
  },
};

interface Check {
  name: string;
  ok: boolean;
  warn?: boolean;
  detail: string;
}

async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: host || undefined, port }, () => s.close(() => resolve(true)));
  });
}

const doctor: Command = {
  path: ['doctor'],
  summary: 'Check the configuration, folder permissions, listener ports, certificates and the store.',
  async run(a, io) {
    positionals(this, a, []);
    const { certificateInfo } = await import('../../security/tls.js');
    const checks: Check[] = [];
    const config = loadConfig(a.dataDir, io.env);
    checks.push({ name: 'config', ok: true, detail: `${join(a.dataDir, 'bulwark.toml')} is valid` });
    const mode = statSync(a.dataDir).mode & 0o777;
    checks.push({ name: 'permissions', ok: (mode & 0o077) === 0, warn: true, detail: `data folder mode ${mode.toString(8)}${mode & 0o077 ? ' (others can read it; chmod 700)' : ''}` });
    for (const [label, path] of [['tls', config.tls.cert], ...config.tls.certificates.map((c) => [`tls ${c.domains.join(',')}`, c.cert] as const)] as const) {
      try {
        const info = certificateInfo(path);
        const days = Math.floor((info.notAfter.getTime() - Date.now()) / 86_400_000);
        checks.push({ name: label, ok: days > 14, warn: days > 0, detail: `${path}: expires in ${days} days${info.isSelfSigned ? ' (self-signed: clients will warn)' : ''}` });
      } catch (e) {
        checks.push({ name: label, ok: false, detail: (e as Error).message });
      }
    }
    for (const name of LISTENER_NAMES) {
      const addr = config.listeners[name];
      if (!addr) continue;
      const free = await portFree(addr.host, addr.port);
      checks.push({ name: `listener ${name}`, ok: free, warn: true, detail: `${formatListenAddress(addr)} ${free ? 'is free' : 'is in use (by a running bulwark, or another program)'}${name === 'admin' && !isLoopbackHost(addr.host) ? '; admin is public' : ''}` });
    }
    try {
      const c = await openContext(a.dataDir, io.env);
      try {
        const domains = await accounts.listDomains(c.ctx);
        checks.push({ name: 'store', ok: true, detail: `${config.store.type}: ${domains.length} domain(s)` });
      } finally {
        await c.close();
      }
    } catch (e) {
      checks.push({ name: 'store', ok: false, detail: (e as Error).message });
    }
    const failed = checks.filter((c) => !c.ok && !c.warn).length;
    if (a.json) io.stdout(JSON.stringify({ ok: failed === 0, checks }, null, 2) + '\n');
    else for (const c of checks) io.stdout(`${c.ok ? 'ok  ' : c.warn ? 'warn' : 'FAIL'}  ${c.name.padEnd(22)} ${c.detail}\n`);
    return failed === 0 ? 0 : 1;
  },
};

const version: Command = {
  path: ['version'],
  summary: 'Print the version.',
  async run(a, io) {
    io.stdout(a.json ? JSON.stringify({ version: packageVersion(), node: process.version }) + '\n' : `bulwark ${packageVersion()} (node ${process.version})\n`);
    return 0;
  },
};

/** Setup and operation commands. */
export const setupCommands: Command[] = [init, serve, dns, doctor, version];
