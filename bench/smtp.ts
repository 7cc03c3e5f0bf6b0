/**
 * bench/smtp: inbound SMTP throughput. N messages (sizes cycling 4 KiB … 1 MiB) at concurrency C
 * over raw SMTP with PIPELINING into the MX listener of a Bulwark server in its own process (the
 * built one, bin/bulwark.cjs; SQLite, fs blobs, durable before 250). Prints accepted msgs/s, p50/p99 latency (MAIL → 250 after the
 * data), and checks delivered = accepted (lost = 0) by Message-ID in the store. The summary line
 * comes last.
 *
 *   npx tsx bench/smtp.ts [--messages N] [--concurrency C] [--max-kb K] [--postfix]
 *
 * --postfix runs the same load against Debian's Postfix on a loopback port (installed with
 * apt-get when missing and running as root), configured in a temporary folder to deliver to
 * maildir through virtual(8), and prints the ratio. Postfix's 250 means "in its queue" (also
 * fsynced); its delivered count is the maildir files present once its queue drained.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LISTENER_NAMES } from '../src/config/index.js';
import * as accounts from '../src/core/accounts/index.js';
import { ensureSelfSignedCertificate } from '../src/security/tls.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    postfix: { type: 'boolean', default: false },
    'max-kb': { type: 'string', default: '1024' },
    'text-only': { type: 'boolean', default: false },
  },
});
const N = Number(values.messages);
const C = Number(values.concurrency);
const SIZES = [4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((k) => k <= Number(values['max-kb'])).map((k) => k * 1024);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something listens on the port (the spawned server is up). */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), res(true)));
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not listen on ${port}`);
}

/**
 * A message of about `size` bytes with a unique Message-ID. Like real mail, it has a text
 * part of at most 8 KiB and, above that, a base64 attachment making up the rest; --text-only
 * makes the whole body text (the worst case for the search index).
 */
function message(id: string, size: number): Buffer {
  const head = `From: load@sender.example\r\nTo: load@bench.example\r\nSubject: bench ${id}\r\nMessage-ID: <${id}>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog while the bench counts messages.\r\n';
  const textBytes = values['text-only'] ? size : Math.min(size, 8192);
  const text = line.repeat(Math.max(1, Math.ceil((textBytes - head.length) / line.length)));
  if (textBytes >= size) return Buffer.from(`${head}Content-Type: text/plain; charset=us-ascii\r\n\r\n${text}.\r\n`);
  const b64 = Buffer.alloc(Math.floor(((size - textBytes) * 3) / 4), id).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    `${head}Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${text}` +
      `--b\r\nContent-Type: application/pdf; name="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n.\r\n`,
  );
}

interface LoadResult {
  accepted: string[];
  latenciesMs: number[];
  elapsedMs: number;
  bytes: number;
}

/** Runs the load: C connections, each sending its share of N messages one transaction at a time. */
async function load(port: number, rcpt: string): Promise<LoadResult> {
  const accepted: string[] = [];
  const latenciesMs: number[] = [];
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    let buf = '';
    let wake: (() => void) | null = null;
    let isClosed = false;
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      wake?.();
    });
    s.on('close', () => {
      isClosed = true;
      wake?.();
    });
    s.on('error', () => undefined);
    const reply = async (): Promise<string> => {
      for (;;) {
        const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buf);
        if (m) {
          buf = buf.slice(m.index + m[0].length);
          return m[0];
        }
        if (isClosed) return '';
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    };
    await reply();
    s.write(`EHLO bench${w}.example\r\n`);
    await reply();
    for (;;) {
      const i = next++;
      if (i >= N) break;
      const id = `bench-${i}-${process.pid}@load.example`;
      const data = message(id, SIZES[i % SIZES.length]!);
      const t0 = performance.now();
      // RFC 2920: MAIL, RCPT and DATA in one write.
      s.write(`MAIL FROM:<load@sender.example> SIZE=${data.length}\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
      const r = [await reply(), await reply(), await reply()];
      if (!r[2]!.startsWith('354')) {
        s.write('RSET\r\n');
        await reply();
        continue;
      }
      s.write(data);
      const end = await reply();
      if (end.startsWith('250')) {
        accepted.push(id);
        latenciesMs.push(performance.now() - t0);
        bytes += data.length;
      }
    }
    s.end('QUIT\r\n');
  };
  await Promise.all(Array.from({ length: C }, (_, w) => worker(w)));
  return { accepted, latenciesMs, elapsedMs: performance.now() - started, bytes };
}

function report(name: string, r: LoadResult, delivered: number): { rate: number } {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  const rate = r.accepted.length / (r.elapsedMs / 1000);
  console.log(
    `${name}: accepted ${r.accepted.length}/${N} in ${(r.elapsedMs / 1000).toFixed(2)} s = ${rate.toFixed(1)} msgs/s (${(r.bytes / r.elapsedMs / 1024).toFixed(1)} MiB/s), ` +
      `p50 ${pct(sorted, 50).toFixed(1)} ms, p99 ${pct(sorted, 99).toFixed(1)} ms, delivered ${delivered}, lost ${r.accepted.length - Math.min(delivered, r.accepted.length)}`,
  );
  return { rate };
}

async function benchBulwark(): Promise<{ rate: number; lost: number; accepted: number; delivered: number; p50: number; p99: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-bench-smtp-'));
  try {
    const port = await freePort();
    const lines = ['[server]', 'hostname = "mail.bench.example"', '[listeners]'];
    for (const name of LISTENER_NAMES) lines.push(`${name} = ${name === 'smtp' ? `"127.0.0.1:${port}"` : '""'}`);
    lines.push('[smtp]', 'greeting_delay_ms = 0', 'check_authentication = false', `max_connections_per_ip = ${C + 10}`);
    writeFileSync(join(dataDir, 'bulwark.toml'), lines.join('\n') + '\n');
    await ensureSelfSignedCertificate(join(dataDir, 'tls'), 'mail.bench.example', []);
    // The server runs in its own process, as Postfix does: the load generator must not share
    // its CPU time.
    const { openContext } = await import('../src/cli/support.js');
    const admin = await openContext(dataDir, {});
    const actor = { name: 'bench', protocol: 'bench' };
    await accounts.addDomain(admin.ctx, 'bench.example', actor);
    const acc = await accounts.addAccount(admin.ctx, { address: 'load@bench.example', quotaBytes: 0 }, actor);
    await admin.close();
    // The built server, as it runs in production (`npm ci` builds; `npm run build` after edits).
    // BENCH_SERVER_NODE_ARGS passes flags to the server's node (e.g. --cpu-prof) for profiling.
    const server = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), join(import.meta.dirname, '../bin/bulwark.cjs'), 'serve', '--data', dataDir], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BULWARK_LOG_LEVEL: 'warn' } });
    await waitForPort(port);
    const r = await load(port, 'load@bench.example');
    const view = await openContext(dataDir, {});
    const stored = await view.ctx.store.read((q) => q.all<{ structure: string }>('SELECT structure FROM messages WHERE account_id = ?', [acc.id]));
    await view.close();
    const ids = new Map<string, number>();
    for (const s of stored) {
      const id = (JSON.parse(s.structure) as { messageId: string | null }).messageId ?? '';
      ids.set(id, (ids.get(id) ?? 0) + 1);
    }
    const delivered = r.accepted.filter((id) => ids.get(`<${id}>`) === 1 || ids.get(id) === 1).length;
    report('bulwark', r, delivered);
    const exited = new Promise((res) => server.once('exit', res));
    server.kill('SIGTERM');
    await exited;
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    return { rate: r.accepted.length / (r.elapsedMs / 1000), lost: r.accepted.length - delivered, accepted: r.accepted.length, delivered, p50: pct(sorted, 50), p99: pct(sorted, 99) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Postfix on a loopback port delivering to maildir; null with a reason when not available. */
async function benchPostfix(): Promise<{ rate: number } | { unavailable: string }> {
  const has = () => spawnSync('sh', ['-c', 'command -v postfix || test -x /usr/sbin/postfix'], { encoding: 'utf8' }).status === 0;
  if (!has()) {
    if (process.getuid?.() !== 0) return { unavailable: 'postfix is not installed and this is not root' };
    console.log('installing postfix (apt-get install -y postfix) …');
    const r = spawnSync('apt-get', ['install', '-y', 'postfix'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore' });
    if (r.status !== 0 || !has()) return { unavailable: 'apt-get install postfix failed' };
  }
  if (process.getuid?.() !== 0) return { unavailable: 'postfix must be started as root' };
  const dir = mkdtempSync(join(tmpdir(), 'pfbench-'));
  const conf = join(dir, 'conf');
  const port = await freePort();
  try {
    mkdirSync(conf);
    mkdirSync(join(dir, 'mail'));
    const uid = execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim();
    execFileSync('chown', [`${uid}:${gid}`, join(dir, 'mail')]);
    writeFileSync(join(dir, 'vmailbox'), 'load@bench.example bench.example/load/\n');
    writeFileSync(
      join(conf, 'main.cf'),
      [
        'compatibility_level = 3.6',
        `queue_directory = ${join(dir, 'queue')}`,
        `data_directory = ${join(dir, 'data')}`,
        'mail_owner = postfix',
        'myhostname = pf.bench.local',
        'mydestination =',
        'inet_interfaces = 127.0.0.1',
        'inet_protocols = ipv4',
        'mynetworks = 127.0.0.0/8',
        'virtual_mailbox_domains = bench.example',
        `virtual_mailbox_base = ${join(dir, 'mail')}`,
        `virtual_mailbox_maps = texthash:${join(dir, 'vmailbox')}`,
        `virtual_uid_maps = static:${uid}`,
        `virtual_gid_maps = static:${gid}`,
        'virtual_mailbox_limit = 0',
        'message_size_limit = 52428800',
        `smtpd_client_connection_count_limit = ${C + 10}`,
        'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination',
        `maillog_file = ${join(dir, 'maillog')}`,
        // Postfix refuses log files outside these prefixes, silently when syslog is absent.
        `maillog_file_prefixes = /var, ${dir}`,
        'smtputf8_enable = no',
        'default_process_limit = 200',
        '',
      ].join('\n'),
    );
    const svc = (name: string, type: string, priv: string, unpriv: string, wake: string, max: string, cmd: string) => `${name} ${type} ${priv} ${unpriv} n ${wake} ${max} ${cmd}`;
    writeFileSync(
      join(conf, 'master.cf'),
      [
        svc(`127.0.0.1:${port}`, 'inet', 'n', '-', '-', '-', 'smtpd'),
        svc('pickup', 'unix', 'n', '-', '60', '1', 'pickup'),
        svc('cleanup', 'unix', 'n', '-', '-', '0', 'cleanup'),
        svc('qmgr', 'unix', 'n', '-', '300', '1', 'qmgr'),
        svc('rewrite', 'unix', '-', '-', '-', '-', 'trivial-rewrite'),
        svc('bounce', 'unix', '-', '-', '-', '0', 'bounce'),
        svc('defer', 'unix', '-', '-', '-', '0', 'bounce'),
        svc('trace', 'unix', '-', '-', '-', '0', 'bounce'),
        svc('verify', 'unix', '-', '-', '-', '1', 'verify'),
        svc('flush', 'unix', 'n', '-', '1000?', '0', 'flush'),
        svc('proxymap', 'unix', '-', '-', '-', '-', 'proxymap'),
        svc('smtp', 'unix', '-', '-', '-', '-', 'smtp'),
        svc('relay', 'unix', '-', '-', '-', '-', 'smtp'),
        svc('showq', 'unix', 'n', '-', '-', '-', 'showq'),
        svc('error', 'unix', '-', '-', '-', '-', 'error'),
        svc('retry', 'unix', '-', '-', '-', '-', 'error'),
        svc('discard', 'unix', '-', '-', '-', '-', 'discard'),
        svc('local', 'unix', '-', 'n', '-', '-', 'local'),
        svc('virtual', 'unix', '-', 'n', '-', '-', 'virtual'),
        svc('anvil', 'unix', '-', '-', '-', '1', 'anvil'),
        svc('scache', 'unix', '-', '-', '-', '1', 'scache'),
        svc('postlog', 'unix-dgram', 'n', '-', '-', '1', 'postlogd'),
        '',
      ].join('\n'),
    );
    const pf = (...args: string[]) => spawnSync('postfix', ['-c', conf, ...args], { encoding: 'utf8' });
    // The queue and data folders must exist (check creates the queue's subfolders); virtual(8)
    // runs as the postfix user and must traverse the temporary folder.
    execFileSync('chmod', ['0755', dir]);
    mkdirSync(join(dir, 'queue'));
    mkdirSync(join(dir, 'data'));
    execFileSync('chown', [`${uid}:${gid}`, join(dir, 'data')]);
    pf('check');
    const started = pf('start');
    if (started.status !== 0) return { unavailable: `postfix did not start: ${(started.stderr || started.stdout).trim().split('\n').pop()}` };
    try {
      // Wait for its smtpd to listen.
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise<boolean>((r) => {
          const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), r(true)));
          s.on('error', () => r(false));
        });
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await load(port, 'load@bench.example');
      const maildir = join(dir, 'mail', 'bench.example', 'load', 'new');
      const count = () => (existsSync(maildir) ? readdirSync(maildir).length : 0);
      const deadline = Date.now() + 120_000;
      while (count() < r.accepted.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
      const out = report('postfix', r, count());
      return out;
    } finally {
      pf('stop');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b = await benchBulwark();
let ratio = '';
if (values.postfix) {
  const p = await benchPostfix();
  if ('unavailable' in p) {
    console.log(`postfix: not available (${p.unavailable})`);
    ratio = ', postfix not available';
  } else ratio = `, bulwark/postfix = ${(b.rate / p.rate).toFixed(2)}`;
}
console.log(
  `summary: smtp inbound ${N} msgs (4 KiB-1 MiB) at concurrency ${C}: ${b.rate.toFixed(1)} msgs/s, p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms, accepted ${b.accepted}, delivered ${b.delivered}, lost ${b.lost}${ratio}`,
);
process.exit(b.lost === 0 ? 0 : 1);
