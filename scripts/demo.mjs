#!/usr/bin/env node
// `npm start`: runs Bulwark with embedded defaults. On first start it initialises ./data (or
// $BULWARK_DATA) with a demo domain, an admin and a demo user, every listener on 127.0.0.1
// above port 1024, and a self-signed certificate; then it serves until Ctrl-C.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const cli = join(root, 'bin/bulwark.cjs');
const data = resolve(process.env.BULWARK_DATA || join(root, 'data'));
const DEMO_USER = 'demo@example.test';
const DEMO_PASSWORD = 'demo-password';

function bulwark(args, input) {
  const r = spawnSync(process.execPath, [cli, ...args, '--data', data], { input, stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync(join(data, 'bulwark.toml'))) {
  bulwark(['init', '--dev', '--domain', 'example.test', '--hostname', 'mail.example.test', '--admin', 'admin@example.test']);
  bulwark(['user', 'add', DEMO_USER, '--name', 'Demo User', '--password-stdin'], DEMO_PASSWORD + '\n');
  console.log(`
Demo account: ${DEMO_USER}  password: ${DEMO_PASSWORD}
Mail client settings (self-signed certificate: accept it once):
  incoming  IMAP  127.0.0.1 port 2993 (SSL/TLS) or 2143 (STARTTLS); POP3 2995 / 2110
  outgoing  SMTP  127.0.0.1 port 2465 (SSL/TLS) or 2587 (STARTTLS), normal password
  user name ${DEMO_USER}
Web:   http://127.0.0.1:8080/healthz    Admin API and metrics: http://127.0.0.1:8081/metrics
The server lists below which listeners this version opens.
`);
}

const child = spawn(process.execPath, [cli, 'serve', '--data', data], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
