/**
 * Granted senders (send-as delegation) end to end: `bulwark user send-as` grants, lists and
 * revokes (audited as account.delegation.change), nodemailer submits as the granted address,
 * and after the revocation the same submission gets 553. Group members may send as the group.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { maySendAs, senderGrant } from '../src/core/accounts/senders.js';
import { readAudit } from '../src/core/audit/index.js';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/support.js';
import { startSmtp, type Harness } from './fixtures/smtp/harness.js';

const actor = { name: 'cli:test', protocol: 'cli' };
let h: Harness;
let bob: string;
let carol: string;

/** Runs `bulwark ARGS --data <harness folder>` in-process; resolves with exit code and output. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: () => '', env: { ...process.env, BULWARK_DATA: '', USER: 'tester' } };
  const code = await main([...args, '--data', h.dataDir], io);
  return { code, stdout, stderr };
}

function transport(user = 'bob@example.com') {
  return nodemailer.createTransport({ host: '127.0.0.1', port: h.ports.submission!, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user, pass: 'secret-password' } });
}

beforeAll(async () => {
  h = await startSmtp({ listeners: ['submission'], extraToml: '[auth]\nloopback_is_secure = false\n[smtp]\nmax_messages_per_hour = 0\n' });
  bob = await h.addUser('bob@example.com');
  carol = await h.addUser('carol@example.com');
  await accounts.addAccount(h.ctx, { address: 'support@example.com', kind: 'shared' }, actor);
  await accounts.addAccount(h.ctx, { address: 'team@example.com', kind: 'group' }, actor);
  await accounts.setGroupMembers(h.ctx, 'team@example.com', { add: ['bob@example.com'] }, actor);
});
afterAll(async () => h?.stop());

describe('send-as grants', () => {
  it('bulwark user send-as grants, lists and revokes, and audits each change', async () => {
    expect(await cli(['user', 'send-as', 'carol@example.com'])).toMatchObject({ code: 0, stdout: '' });
    const g = await cli(['user', 'send-as', 'carol@example.com', '--grant', 'Support@Example.com']);
    expect(g).toMatchObject({ code: 0, stdout: 'support@example.com\n' });
    expect(await cli(['user', 'send-as', 'carol@example.com', '--json'])).toMatchObject({ code: 0, stdout: '["support@example.com"]\n' });
    expect(await senderGrant(h.ctx, carol, 'support@example.com')).toBe('granted');
    const r = await cli(['user', 'send-as', 'carol@example.com', '--revoke', 'support@example.com']);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(await maySendAs(h.ctx, carol, 'support@example.com')).toBe(false);
    // Not a local address, and revoking what was never granted: one line, exit 1.
    const bad = await cli(['user', 'send-as', 'carol@example.com', '--grant', 'someone@remote.example']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^bulwark: someone@remote\.example is not a local address\n$/);
    expect((await cli(['user', 'send-as', 'carol@example.com', '--revoke', 'support@example.com'])).code).toBe(1);
    const events = await readAudit(h.ctx, { event: 'account.delegation.change', accountId: carol });
    expect(events.map((e) => [e.subject, e.detail?.action, e.actor])).toEqual([
      ['support@example.com', 'grant', 'cli:tester'],
      ['support@example.com', 'revoke', 'cli:tester'],
    ]);
  });

  it('accepts a submission as a granted address, and answers 553 after the grant is revoked', async () => {
    const before = (await h.messages(carol)).length;
    await expect(transport().sendMail({ from: 'support@example.com', to: 'carol@example.com', subject: 'ungranted', text: 'x' })).rejects.toMatchObject({ responseCode: 553 });
    expect((await cli(['user', 'send-as', 'bob@example.com', '--grant', 'support@example.com'])).code).toBe(0);
    const info = await transport().sendMail({ from: 'support@example.com', to: 'carol@example.com', subject: 'as support', text: 'we are on it' });
    expect(info.accepted).toEqual(['carol@example.com']);
    const got = (await h.messages(carol)).slice(before);
    expect(got.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1])).toEqual(['as support']);
    expect(got[0]!.raw).toMatch(/^From: support@example\.com\r$/m);
    expect((await cli(['user', 'send-as', 'bob@example.com', '--revoke', 'support@example.com'])).code).toBe(0);
    // Envelope sender refused at MAIL, and a From header alone refused after DATA.
    await expect(transport().sendMail({ from: 'support@example.com', to: 'carol@example.com', text: 'again' })).rejects.toMatchObject({ responseCode: 553 });
    await expect(
      transport().sendMail({ envelope: { from: 'bob@example.com', to: ['carol@example.com'] }, from: 'support@example.com', to: 'carol@example.com', text: 'header only' }),
    ).rejects.toMatchObject({ responseCode: 553 });
    expect((await h.messages(carol)).length).toBe(before + 1);
  });

  it('lets a group member send as the group, and nobody else', async () => {
    const info = await transport().sendMail({ from: 'team@example.com', to: 'carol@example.com', subject: 'from the team', text: 'hi' });
    expect(info.accepted).toEqual(['carol@example.com']);
    expect(await senderGrant(h.ctx, bob, 'team@example.com')).toBe('group');
    await expect(transport('carol@example.com').sendMail({ from: 'team@example.com', to: 'bob@example.com', text: 'not a member' })).rejects.toMatchObject({ responseCode: 553 });
    await accounts.setGroupMembers(h.ctx, 'team@example.com', { remove: ['bob@example.com'] }, actor);
    await expect(transport().sendMail({ from: 'team@example.com', to: 'carol@example.com', text: 'left the team' })).rejects.toMatchObject({ responseCode: 553 });
  });
});
