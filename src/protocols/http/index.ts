/**
 * HTTP: one request handler for the public HTTP/HTTPS listeners (today `/healthz`; JMAP,
 * DAV, autoconfig and the web app come with their issues) and one for the ADMIN listener
 * (`/metrics`, `/healthz` and the admin API). The admin handler is never mounted on a public
 * listener (DESIGN.md rule 5); every admin request authenticates through core/auth and must
 * hold the admin role.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import * as accounts from '../../core/accounts/index.js';
import type { Authenticator } from '../../core/auth/index.js';
import type { Context } from '../../core/context.js';
import { CoreError, InvalidInput, TooLarge } from '../../core/errors.js';
import { newId } from '../../core/clock.js';

/** A request handler for node:http. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** Maps a core error to an HTTP status (STYLE.md: one mapping at the edge). */
function statusOf(e: CoreError): number {
  switch (e.code) {
    case 'NotFound':
      return 404;
    case 'AlreadyExists':
    case 'InUse':
      return 409;
    case 'Forbidden':
      return 403;
    case 'AuthFailed':
      return 401;
    case 'TooLarge':
      return 413;
    case 'OverQuota':
      return 507;
    case 'Unavailable':
      return 503;
    default:
      return 400;
  }
}

/** Wraps a handler in the one catch site: core errors map to 4xx, anything else to 500 with an id. */
function guarded(ctx: Context, fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Handler {
  return (req, res) => {
    fn(req, res).catch((e: unknown) => {
      if (e instanceof CoreError) return send(res, statusOf(e), { error: e.code, message: e.message });
      const id = newId('x');
      ctx.log.error({ event: 'http.error', errorId: id, err: e, path: req.url }, 'internal error');
      if (!res.headersSent) send(res, 500, { error: 'internal', id });
      else res.destroy();
    });
  };
}

async function healthz(ctx: Context, res: ServerResponse): Promise<void> {
  await ctx.store.read((q) => q.get('SELECT 1 AS ok'));
  send(res, 200, { status: 'ok' });
}

/** The handler of the public HTTP and HTTPS listeners. */
export function publicHandler(ctx: Context): Handler {
  return guarded(ctx, async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return healthz(ctx, res);
    send(res, 404, { error: 'NotFound', message: 'no such resource' });
  });
}

const MAX_BODY_BYTES = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new TooLarge('request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new InvalidInput('the body must be a JSON object', { cause: e });
  }
}

/** The handler of the ADMIN listener: metrics, health and the admin API. */
export function adminHandler(ctx: Context, auth: Authenticator, registry: Registry, addressOf: (req: IncomingMessage) => string): Handler {
  return guarded(ctx, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method === 'GET' && url.pathname === '/healthz') return healthz(ctx, res);
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    if (!url.pathname.startsWith('/api/v1/')) return send(res, 404, { error: 'NotFound', message: 'no such resource' });

    // Admin API: HTTP Basic through core/auth, admin role required.
    const header = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) return send(res, 401, { error: 'AuthFailed', message: 'authentication required' }, { 'www-authenticate': 'Basic realm="bulwark-admin"' });
    const who = await auth.authenticate({
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      protocol: 'admin-api',
      remoteAddress: addressOf(req),
      mechanism: 'basic',
    });
    if (!who.roles.includes('admin')) return send(res, 403, { error: 'Forbidden', message: 'admin role required' });
    const actor = { name: who.address, protocol: 'admin-api', source: addressOf(req) };
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/v1/domains':
        return send(res, 200, await accounts.listDomains(ctx));
      case 'POST /api/v1/domains': {
        const body = await readJson(req);
        return send(res, 201, await accounts.addDomain(ctx, String(body.name ?? ''), actor));
      }
      case 'GET /api/v1/accounts':
        return send(res, 200, await accounts.listAccounts(ctx, url.searchParams.get('domain') ?? undefined));
      case 'POST /api/v1/accounts': {
        const body = await readJson(req);
        const created = await accounts.addAccount(
          ctx,
          {
            address: String(body.address ?? ''),
            password: typeof body.password === 'string' ? body.password : undefined,
            displayName: typeof body.displayName === 'string' ? body.displayName : undefined,
            quotaBytes: typeof body.quotaBytes === 'number' ? body.quotaBytes : undefined,
          },
          actor,
        );
        return send(res, 201, created);
      }
      default:
        return send(res, 404, { error: 'NotFound', message: 'no such resource' });
    }
  });
}
