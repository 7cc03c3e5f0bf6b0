/**
 * IMAP benchmark: N clients run a mixed load (SELECT, FETCH headers and full bodies, STORE
 * flags, APPEND, SEARCH, EXPUNGE, IDLE) against an in-process server, then M idle connections
 * sit in IDLE on a 10,000-message INBOX to measure memory per connection.
 *
 *   npx tsx bench/imap.ts [--clients 20] [--seconds 10] [--messages 10000] [--idle 200]
 *                         [--dovecot [--dovecot-format mdbox|maildir]]
 *
 * Prints commands/s, p99 latency and memory per idle connection; with --dovecot, the same load
 * against Debian's Dovecot on this machine (when installable) and the ratio. Dovecot stores in
 * mdbox, its own fastest format, unless told maildir. Summary line last.
 *
 * The load generator and the idle clients run in a child process, so that for Bulwark (which
 * runs in this process) the clients neither take event-loop time from the server, as they
 * cannot from Dovecot's separate processes, nor count in the server's heap.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { ensureThreadPool } from './threadpool.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const CLIENTS = opt('clients', 20);
const SECONDS = opt('seconds', 10);
const MESSAGES = opt('messages', 10_000);
const IDLE = opt('idle', 200);
const DOVECOT = args.includes('--dovecot');
/** Dovecot's mail storage: mdbox (its own fast format, default) or maildir (one file per message). */
const DOVECOT_FORMAT = args.includes('--dovecot-format') ? args[args.indexOf('--dovecot-format') + 1]! : 'mdbox';
if (!['mdbox', 'maildir'].includes(DOVECOT_FORMAT)) throw new Error('--dovecot-format is mdbox or maildir');
const USER = 'bench@example.com';
const PASS = 'bench-password-1';

function message(i: number): Buffer {
  return Buffer.from(
    `From: Sender ${i % 97} <s${i % 97}@example.org>\r\nTo: bench@example.com\r\nSubject: Bench message ${i}\r\nDate: Thu, 01 Jan 2026 10:00:00 +0000\r\nMessage-ID: <b${i}@example.org>\r\nContent-Type: text/plain\r\n\r\n${'Lorem ipsum dolor sit amet. '.repeat(20 + (i % 40))}\r\n`,
  );
}

class Client {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private n = 0;
  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.waiter?.();
    });
  }
  static async open(port: number, user = USER, pass = PASS): Promise<Client> {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const c = new Client(s);
    await c.until('\r\n');
    const r = await c.cmd(`LOGIN ${user} ${pass}`);
    if (!/ OK/.test(r)) throw new Error(`login failed: ${r}`);
    return c;
  }
  async until(marker: string): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf(marker);
      if (i >= 0) {
        const out = this.buf.subarray(0, i + marker.length).toString('latin1');
        this.buf = this.buf.subarray(i + marker.length);
        return out;
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
  async cmd(text: string): Promise<string> {
    const tag = `b${++this.n}`;
    this.sock.write(`${tag} ${text}\r\n`);
    // The tagged line starts a line: search for "\r\n<tag> " or the start.
    for (;;) {
      const s = this.buf.toString('latin1');
      const at = s.startsWith(`${tag} `) ? 0 : s.indexOf(`\r\n${tag} `);
      if (at >= 0) {
        const end = s.indexOf('\r\n', at + 2);
        if (end >= 0) {
          this.buf = this.buf.subarray(end + 2);
          return s.slice(at, end);
        }
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}

type LoadResult = { cps: number; p99: number; count: number };

async function mixedLoad(port: number, user: string, pass: string, clients: number, seconds: number, messages: number): Promise<LoadResult> {
  const cs = await Promise.all(Array.from({ length: clients }, () => Client.open(port, user, pass)));
  const lat: number[] = [];
  const byVerb = new Map<string, number[]>();
  const end = Date.now() + seconds * 1000;
  let k = 0;
  await Promise.all(
    cs.map(async (c, ci) => {
      const time = async (t: string) => {
        const t0 = performance.now();
        const r = await c.cmd(t);
        const ms = performance.now() - t0;
        lat.push(ms);
        const verb = t.split(' ').slice(0, t.startsWith('UID') ? 2 : 1).join(' ') + (t.includes('BODY.PEEK[]') ? ' body' : '');
        (byVerb.get(verb) ?? byVerb.set(verb, []).get(verb)!).push(ms);
        if (!/ OK/.test(r)) throw new Error(`${t} -> ${r}`);
      };
      await time('SELECT INBOX');
      while (Date.now() < end) {
        const r = (k++ * 7919 + ci) % 100;
        const seq = 1 + ((k * 104729) % messages);
        if (r < 30) await time(`FETCH ${seq}:${Math.min(messages, seq + 19)} (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])`);
        else if (r < 45) await time(`FETCH ${seq} BODY.PEEK[]`);
        else if (r < 65) await time(`UID STORE ${seq} ${r % 2 ? '+' : '-'}FLAGS (\\Seen)`);
        else if (r < 72) {
          const m = message(100000 + k);
          await time(`APPEND INBOX {${m.length}+}\r\n${m.toString('latin1')}`);
        } else if (r < 82) await time(`SEARCH UNSEEN FROM s${k % 97}`);
        else if (r < 85) await time('EXPUNGE');
        else if (r < 90) await time('SELECT INBOX');
        else {
          // A short IDLE.
          const t0 = performance.now();
          c.sock.write('i IDLE\r\n');
          await c.until('+ ');
          c.sock.write('DONE\r\n');
          await c.cmd('NOOP');
          lat.push(performance.now() - t0);
        }
      }
    }),
  );
  for (const c of cs) c.sock.destroy();
  for (const [v, xs] of [...byVerb].sort()) {
    xs.sort((a, b) => a - b);
    console.log(`  ${v.padEnd(12)} n=${String(xs.length).padStart(5)}  p50 ${xs[Math.floor(xs.length / 2)]!.toFixed(1)} ms  p99 ${xs[Math.floor(xs.length * 0.99)]!.toFixed(1)} ms`);
  }
  lat.sort((a, b) => a - b);
  return { cps: lat.length / seconds, p99: lat[Math.floor(lat.length * 0.99)] ?? 0, count: lat.length };
}

async function seed(port: number, user: string, pass: string, n: number, viaCore: ((i: number) => Promise<void>) | null): Promise<void> {
  if (viaCore) {
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => viaCore(i + j)));
    return;
  }
  const cs = await Promise.all(Array.from({ length: 10 }, () => Client.open(port, user, pass)));
  await Promise.all(
    cs.map(async (c, ci) => {
      for (let i = ci; i < n; i += cs.length) {
        const m = message(i);
        await c.cmd(`APPEND INBOX {${m.length}+}\r\n${m.toString('latin1')}`);
      }
    }),
  );
  for (const c of cs) c.sock.destroy();
}

/** A full collection, also when node was not started with --expose-gc. */
const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

type WorkerTask = { task: 'idle'; port: number; count: number } | { task: 'load'; port: number; clients: number; seconds: number; messages: number };

/** Runs a client task in a child process; resolves with its result once it sends one. */
function inWorker<T>(data: WorkerTask, onReady?: (w: ChildProcess) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // fork() keeps this process's node flags (tsx's loader among them).
    const w = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BENCH_WORKER: JSON.stringify(data) } });
    w.on('message', (m: { ready?: true; result?: T }) => {
      if (m.ready) onReady?.(w);
      else {
        resolve(m.result as T);
        w.disconnect();
      }
    });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`bench worker exited with ${code}`))));
  });
}

/** The client process: idle clients that wait for "close", or the mixed load. */
async function workerMain(t: WorkerTask): Promise<void> {
  if (t.task === 'load') {
    process.send!({ result: await mixedLoad(t.port, USER, PASS, t.clients, t.seconds, t.messages) });
    return;
  }
  const idlers: Client[] = [];
  for (let i = 0; i < t.count; i++) {
    const c = await Client.open(t.port);
    await c.cmd('SELECT INBOX');
    c.sock.write('i IDLE\r\n');
    await c.until('+ ');
    idlers.push(c);
  }
  process.once('message', () => {
    for (const c of idlers) c.sock.destroy();
    process.send!({ result: true });
  });
  process.send!({ ready: true });
}

async function startDovecot(messages: number): Promise<{ port: number; stop: () => void } | null> {
  try {
    if (!existsSync('/usr/sbin/dovecot')) {
      if (process.getuid?.() !== 0) return null;
      execFileSync('apt-get', ['install', '-y', 'dovecot-imapd'], { stdio: 'ignore', timeout: 180_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    const dir = mkdtempSync(join(tmpdir(), 'bench-dovecot-'));
    const { freePort } = await import('../test/support/server.js');
    const port = await freePort();
    // Dovecot refuses to run login and mail processes as root: mail is owned by the
    // package's "dovecot" user, login runs as "dovenull".
    const uid = Number(execFileSync('id', ['-u', 'dovecot']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'dovecot']).toString().trim());
    mkdirSync(join(dir, 'mail'));
    mkdirSync(join(dir, 'run'));
    if (DOVECOT_FORMAT === 'maildir') {
      // The same messages, written straight into the maildir (Dovecot indexes them on first SELECT).
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, 'mail', USER, sub), { recursive: true });
      for (let i = 0; i < messages; i++) writeFileSync(join(dir, 'mail', USER, 'cur', `${1_700_000_000 + i}.M${i}P1.bench:2,`), message(i));
    }
    execFileSync('chown', ['-R', `${uid}:${gid}`, join(dir, 'mail')]);
    execFileSync('chmod', ['755', dir]);
    writeFileSync(join(dir, 'passwd'), `${USER}:{PLAIN}${PASS}:${uid}:${gid}::${dir}/mail/home::\n`);
    writeFileSync(
      join(dir, 'dovecot.conf'),
      [
        `base_dir = ${dir}/run`,
        `state_dir = ${dir}/run`,
        `log_path = ${dir}/dovecot.log`,
        'protocols = imap',
        'listen = 127.0.0.1',
        'ssl = no',
        'disable_plaintext_auth = no',
        'auth_mechanisms = plain',
        'default_internal_user = dovecot',
        'default_internal_group = dovecot',
        'default_login_user = dovenull',
        `first_valid_uid = ${uid}`,
        `first_valid_gid = ${gid}`,
        DOVECOT_FORMAT === 'maildir' ? `mail_location = maildir:${dir}/mail/%u` : `mail_location = mdbox:${dir}/mail/%u`,
        'passdb {',
        '  driver = passwd-file',
        `  args = ${dir}/passwd`,
        '}',
        'userdb {',
        '  driver = passwd-file',
        `  args = ${dir}/passwd`,
        '}',
        'protocol imap {',
        '  mail_max_userip_connections = 10000',
        '}',
        'service imap-login {',
        '  inet_listener imap {',
        '    address = 127.0.0.1',
        `    port = ${port}`,
        '  }',
        '  inet_listener imaps {',
        '    port = 0',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const proc: ChildProcess = spawn('/usr/sbin/dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: 'ignore' });
    const stop = () => {
      proc.kill('SIGTERM');
      if (process.env.BENCH_KEEP_DOVECOT_LOG) execFileSync('cp', [join(dir, 'dovecot.log'), process.env.BENCH_KEEP_DOVECOT_LOG]);
      rmSync(dir, { recursive: true, force: true });
    };
    for (let t = 0; t < 30; t++) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        const c = await Promise.race([Client.open(port), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
        c.sock.destroy();
        return { port, stop };
      } catch {
        // Not up yet; retry.
      }
    }
    stop();
    return null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  ensureThreadPool();
  // The server's modules load in the main thread only (the client process needs just the clients).
  const { storeMessage } = await import('../src/core/mail/store.js');
  const { startTestServer } = await import('../test/support/server.js');
  const srv = await startTestServer({ listeners: ['imap'], extraToml: '[auth]\nbase_delay_ms = 0\nmax_failures_per_ip = 1000000\n' });
  const accountId = await srv.addUser(USER, PASS);
  const port = srv.ports.imap!;
  const t0 = Date.now();
  await seed(port, USER, PASS, MESSAGES, async (i) => {
    await storeMessage(srv.server.ctx, message(i), [{ accountId }]);
  });
  console.log(`seeded ${MESSAGES} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Idle memory: M connections in IDLE on the INBOX; the clients live in a child process, so this
  // process's heap holds only the server's side of them.
  gc();
  await new Promise((r) => setTimeout(r, 200));
  const before = process.memoryUsage();
  let after = before;
  await inWorker<boolean>({ task: 'idle', port, count: IDLE }, (w) => {
    void (async () => {
      gc();
      await new Promise((r) => setTimeout(r, 500));
      gc();
      after = process.memoryUsage();
      w.send('close');
    })();
  });
  // external includes arrayBuffers: count it once.
  const perConnHeap = (after.heapUsed + after.external - (before.heapUsed + before.external)) / IDLE;
  const perConnRss = (after.rss - before.rss) / IDLE;
  console.log(`idle memory (server side; clients in a child process): ${(perConnHeap / 1024).toFixed(1)} KiB heap+external, ${(perConnRss / 1024).toFixed(1)} KiB RSS (server side) per IDLE connection on a ${MESSAGES}-message INBOX`);

  // CPU time of this process (the server's), per command: steadier than throughput on a
  // machine whose disk latency varies, and what the event loop's capacity comes down to.
  const cpu0 = process.cpuUsage();
  const ours = await inWorker<LoadResult>({ task: 'load', port, clients: CLIENTS, seconds: SECONDS, messages: MESSAGES });
  const cpu = process.cpuUsage(cpu0);
  const cpuPerCommand = (cpu.user + cpu.system) / 1000 / ours.count;
  console.log(`bulwark: ${ours.count} commands in ${SECONDS} s by ${CLIENTS} clients: ${ours.cps.toFixed(0)} commands/s, p99 ${ours.p99.toFixed(1)} ms, server CPU ${cpuPerCommand.toFixed(3)} ms per command`);
  await srv.stop();

  let dovecotLine = 'dovecot: not run (pass --dovecot)';
  if (DOVECOT) {
    const dv = await startDovecot(MESSAGES);
    if (!dv) dovecotLine = 'dovecot: not available (not installed and not installable here)';
    else {
      try {
        if (DOVECOT_FORMAT === 'mdbox') {
          const t1 = Date.now();
          await seed(dv.port, USER, PASS, MESSAGES, null);
          console.log(`dovecot (mdbox): seeded ${MESSAGES} messages over IMAP in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
        }
        // Warm up: the first SELECT builds Dovecot's index (of the maildir).
        const warm = await Client.open(dv.port);
        await warm.cmd('SELECT INBOX');
        warm.sock.destroy();
        const theirs = await inWorker<LoadResult>({ task: 'load', port: dv.port, clients: CLIENTS, seconds: SECONDS, messages: MESSAGES });
        dovecotLine = `dovecot (${DOVECOT_FORMAT}): ${theirs.cps.toFixed(0)} commands/s, p99 ${theirs.p99.toFixed(1)} ms; bulwark/dovecot throughput ratio ${(ours.cps / theirs.cps).toFixed(2)}`;
      } finally {
        dv.stop();
      }
    }
    console.log(dovecotLine);
  }
  console.log(`SUMMARY imap: ${ours.cps.toFixed(0)} commands/s, p99 ${ours.p99.toFixed(1)} ms, ${(perConnHeap / 1024).toFixed(1)} KiB per idle connection (${MESSAGES} messages); ${dovecotLine}`);
}

(process.env.BENCH_WORKER ? workerMain(JSON.parse(process.env.BENCH_WORKER) as WorkerTask) : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
