/**
 * Authentication: the one function every protocol calls before it reaches account data
 * (DESIGN.md rule 1).
 *
 * - The login name is the account's full primary address, canonicalised.
 * - Passwords are checked in constant time; an unknown user costs the same time as a known
 *   one (dummyVerify), so timing does not reveal which accounts exist.
 * - App passwords carry their id, so one row is looked up by id instead of trying every hash.
 * - Failures grow a delay per source address and per account; the per-account delay slows a
 *   right password but never refuses it, so an attacker cannot lock a user out. A hard cap
 *   per source address refuses attempts outright.
 * - Every success and failure is an audit event.
 */
import type { Context } from '../context.js';
import { AuthFailed } from '../errors.js';
import { auditIn } from '../audit/index.js';
import { canonicalAddress } from '../accounts/address.js';
import type { Role } from '../accounts/index.js';
import { dummyVerify, parseAppPassword, verifyAppSecret, verifyPassword } from '../../security/password.js';
import { AuthThrottle, type AuthThrottleOptions } from '../../security/ratelimit.js';

/** One login attempt, as a protocol presents it. */
export interface AuthRequest {
  username: string;
  password: string;
  /** imap, pop3, smtp, http, managesieve, … */
  protocol: string;
  /** The client's address (after PROXY protocol, if trusted). */
  remoteAddress: string;
  /** The SASL mechanism or "login", for the audit trail. */
  mechanism?: string;
}

/** A successful login. */
export interface AuthSuccess {
  accountId: string;
  address: string;
  roles: Role[];
  /** Set when an app password was used. */
  appPasswordId: string | null;
}

/** Checks credentials with throttling and auditing; shared by every protocol. */
export class Authenticator {
  private readonly throttle: AuthThrottle;

  constructor(
    private readonly ctx: Context,
    options: Partial<AuthThrottleOptions> = {},
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.throttle = new AuthThrottle(ctx.clock, options);
  }

  /** Verifies a login; resolves with the account or rejects with AuthFailed, after any delay. */
  async authenticate(req: AuthRequest): Promise<AuthSuccess> {
    const { ctx } = this;
    const canonical = canonicalAddress(req.username)?.address ?? null;
    const accountKey = canonical ?? req.username.slice(0, 320).toLowerCase();
    const decision = this.throttle.check(req.remoteAddress, accountKey);
    const base = { protocol: req.protocol, source: req.remoteAddress, subject: canonical ?? req.username.slice(0, 320) };
    if (!decision.allowed) {
      await this.record({ ...base, event: 'auth.throttled', ok: false, detail: { mechanism: req.mechanism ?? null } });
      ctx.log.warn({ event: 'auth.throttled', source: req.remoteAddress, protocol: req.protocol }, 'login refused: too many failures from this address');
      throw new AuthFailed('too many failed logins; try again later', decision.delayMs);
    }
    if (decision.delayMs > 0) await this.sleep(decision.delayMs);

    const found = canonical ? await this.lookup(canonical, req.password) : null;
    let ok = false;
    let appPasswordId: string | null = null;
    if (!found) {
      await dummyVerify();
    } else if (found.app?.secretHash) {
      ok = verifyAppSecret(found.app.secret, found.app.secretHash);
      appPasswordId = ok ? found.app.id : null;
      if (!ok) await dummyVerify();
    } else if (found.account.password_hash) {
      ok = await verifyPassword(req.password, found.account.password_hash);
    } else {
      await dummyVerify();
    }

    if (!ok || !found) {
      this.throttle.recordFailure(req.remoteAddress, accountKey);
      await this.record({ ...base, event: 'auth.failure', ok: false, accountId: found?.account.id ?? null, detail: { mechanism: req.mechanism ?? null } });
      ctx.log.info({ event: 'auth.failure', source: req.remoteAddress, protocol: req.protocol }, 'login failed');
      throw new AuthFailed('invalid credentials', 0);
    }
    this.throttle.recordSuccess(req.remoteAddress, accountKey);
    const now = ctx.clock.now();
    await ctx.store.write(async (q) => {
      if (appPasswordId) await q.run('UPDATE app_passwords SET last_used_at = ? WHERE id = ?', [now, appPasswordId]);
      await auditIn(q, now, { ...base, event: 'auth.login', ok: true, accountId: found.account.id, actor: found.account.address, detail: { mechanism: req.mechanism ?? null, appPasswordId } });
    });
    return {
      accountId: found.account.id,
      address: found.account.address,
      roles: found.account.roles ? (found.account.roles.split(',') as Role[]) : [],
      appPasswordId,
    };
  }

  private async record(e: Parameters<typeof auditIn>[2]): Promise<void> {
    await this.ctx.store.write((q) => auditIn(q, this.ctx.clock.now(), e));
  }

  private async lookup(address: string, password: string) {
    const app = parseAppPassword(password);
    return this.ctx.store.read(async (q) => {
      const account = await q.get<{ id: string; address: string; password_hash: string | null; roles: string; kind: string }>(
        "SELECT id, address, password_hash, roles, kind FROM accounts WHERE address = ? AND deleted_at IS NULL AND kind != 'group'",
        [address],
      );
      if (!account) return null;
      if (!app) return { account, app: null };
      const row = await q.get<{ secret_hash: string }>(
        'SELECT secret_hash FROM app_passwords WHERE id = ? AND account_id = ? AND revoked_at IS NULL',
        [app.id, account.id],
      );
      return { account, app: { id: app.id, secret: app.secret, secretHash: row?.secret_hash ?? null } };
    });
  }

  /** Drops expired throttle counters; call now and then. */
  prune(): void {
    this.throttle.prune();
  }
}
