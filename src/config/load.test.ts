import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, LISTENER_NAMES, loadConfig, type Config } from './index.js';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function load(toml: string, env: NodeJS.ProcessEnv = {}): Config {
  writeFileSync(join(dataDir, 'bulwark.toml'), toml);
  return loadConfig(dataDir, env);
}

/** Loads and returns the ConfigError thrown; fails the test if none or another error is thrown. */
function loadError(toml: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    load(toml, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('a missing file gives the production defaults', () => {
    const config = loadConfig(dataDir, {});
    expect(config.server.hostname).toBe('localhost');
    expect(config.listeners.smtp).toEqual({ host: '0.0.0.0', port: 25 });
    expect(config.listeners.submission).toEqual({ host: '', port: 587 });
    expect(config.listeners.imaps).toEqual({ host: '', port: 993 });
    expect(config.listeners.lmtp).toBeNull();
    expect(config.listeners.admin).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(config.listeners.proxyProtocol).toEqual([]);
    expect(config.admin.allowPublic).toBe(false);
    expect(config.store).toEqual({ type: 'sqlite', url: '', schema: '' });
    expect(config.blobs.type).toBe('fs');
    expect(config.bus.type).toBe('local');
    expect(config.tls).toEqual({
      cert: join(dataDir, 'tls/cert.pem'),
      key: join(dataDir, 'tls/key.pem'),
      acme: false,
      certificates: [],
    });
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.auth).toEqual({
      maxFailuresPerIp: 100,
      windowMinutes: 15,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      loopbackIsSecure: true,
    });
    expect(config.retention).toEqual({ deletedDays: 30, gcGraceMinutes: 60, gcIntervalMinutes: 60 });
    expect(config.limits).toEqual({ maxMessageBytes: 50 * 1024 ** 2, defaultQuotaBytes: 10 * 1024 ** 3 });
    expect(config.egress.allow).toEqual([]);
  });

  it('an empty file gives the same defaults as a missing one', () => {
    const defaults = loadConfig(dataDir, {});
    expect(load('')).toEqual(defaults);
  });
});

describe('loadConfig with a valid file', () => {
  it('reads every section into typed camelCase fields', () => {
    const config = load(`
[server]
hostname = "mail.example.com"

[listeners]
smtp = ":2525"
imap = ""
imaps = "[::1]:993"
lmtp = "127.0.0.1:24"
admin = "[::1]:8081"
proxy_protocol = ["imaps", "smtp"]
proxy_trusted = ["10.0.0.0/8", "fd00::/8", "192.0.2.7"]

[store]
type = "postgres"
url = "postgres://bulwark:pw@db:5432/bulwark"
schema = "mail_one"

[blobs]
type = "postgres"

[bus]
type = "postgres"

[tls]
cert = "/etc/ssl/bulwark.pem"
key = "keys/default.pem"

[[tls.certificates]]
domains = ["Example.ORG", "*.example.org"]
cert = "tls/example.org/cert.pem"
key = "tls/example.org/key.pem"

[log]
level = "debug"
format = "pretty"

[auth]
max_failures_per_ip = 10
window_minutes = 5
base_delay_ms = 0
max_delay_ms = 0
loopback_is_secure = false

[retention]
deleted_days = 0
gc_grace_minutes = 5
gc_interval_minutes = 1

[limits]
max_message_bytes = 1048576
default_quota_bytes = 0

[egress]
allow = ["smarthost.lan", "192.168.1.0/24"]
`);
    expect(config.server.hostname).toBe('mail.example.com');
    expect(config.listeners.smtp).toEqual({ host: '', port: 2525 });
    expect(config.listeners.imap).toBeNull();
    expect(config.listeners.imaps).toEqual({ host: '::1', port: 993 });
    expect(config.listeners.lmtp).toEqual({ host: '127.0.0.1', port: 24 });
    expect(config.listeners.admin).toEqual({ host: '::1', port: 8081 });
    expect(config.listeners.proxyProtocol).toEqual(['imaps', 'smtp']);
    expect(config.listeners.proxyTrusted).toEqual(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    expect(config.store).toEqual({ type: 'postgres', url: 'postgres://bulwark:pw@db:5432/bulwark', schema: 'mail_one' });
    expect(config.blobs.type).toBe('postgres');
    expect(config.bus.type).toBe('postgres');
    expect(config.tls.cert).toBe('/etc/ssl/bulwark.pem');
    expect(config.tls.key).toBe(join(dataDir, 'keys/default.pem'));
    expect(config.tls.certificates).toEqual([
      {
        domains: ['example.org', '*.example.org'],
        cert: join(dataDir, 'tls/example.org/cert.pem'),
        key: join(dataDir, 'tls/example.org/key.pem'),
      },
    ]);
    expect(config.log).toEqual({ level: 'debug', format: 'pretty' });
    expect(config.auth).toEqual({
      maxFailuresPerIp: 10,
      windowMinutes: 5,
      baseDelayMs: 0,
      maxDelayMs: 0,
      loopbackIsSecure: false,
    });
    expect(config.retention).toEqual({ deletedDays: 0, gcGraceMinutes: 5, gcIntervalMinutes: 1 });
    expect(config.limits).toEqual({ maxMessageBytes: 1048576, defaultQuotaBytes: 0 });
    expect(config.egress.allow).toEqual(['smarthost.lan', '192.168.1.0/24']);
  });

  it('accepts a byte-order mark at the start of the file', () => {
    expect(load('\uFEFF[server]\nhostname = "mx.example.com"\n').server.hostname).toBe('mx.example.com');
  });

  it('IPv6 listeners are written in brackets and come back without them', () => {
    const config = load('[listeners]\nimaps = "[::]:993"\npop3s = "[2001:db8::1]:995"\nsmtp = "[::ffff:192.0.2.1]:25"\n');
    expect(config.listeners.imaps).toEqual({ host: '::', port: 993 });
    expect(config.listeners.pop3s).toEqual({ host: '2001:db8::1', port: 995 });
    expect(config.listeners.smtp).toEqual({ host: '::ffff:192.0.2.1', port: 25 });
  });
});

describe('loadConfig rejects invalid values, naming key, value and what is allowed', () => {
  const LISTEN = 'host:port (port 1-65535) or "" to turn it off';
  const cases: { toml: string; key: string; value: unknown; allowed: string }[] = [
    { toml: '[listeners]\nimap = "foo:bar"', key: 'listeners.imap', value: 'foo:bar', allowed: LISTEN },
    { toml: '[listeners]\nimap = 143', key: 'listeners.imap', value: 143, allowed: LISTEN },
    { toml: '[listeners]\nimap = ":0"', key: 'listeners.imap', value: ':0', allowed: LISTEN },
    { toml: '[listeners]\nimap = ":65536"', key: 'listeners.imap', value: ':65536', allowed: LISTEN },
    { toml: '[listeners]\nimap = "1.2.3.4:"', key: 'listeners.imap', value: '1.2.3.4:', allowed: LISTEN },
    { toml: '[listeners]\nimap = "993"', key: 'listeners.imap', value: '993', allowed: LISTEN },
    { toml: '[listeners]\nimap = " :993"', key: 'listeners.imap', value: ' :993', allowed: LISTEN },
    { toml: '[listeners]\nimap = "[::1]993"', key: 'listeners.imap', value: '[::1]993', allowed: LISTEN },
    { toml: '[listeners]\nimap = "[mail]:993"', key: 'listeners.imap', value: '[mail]:993', allowed: LISTEN },
    { toml: '[listeners]\nsmtp = "mx.example.com:25"', key: 'listeners.smtp', value: 'mx.example.com:25', allowed: LISTEN },
    { toml: '[listeners]\nimap = "::1:993"', key: 'listeners.imap', value: '::1:993', allowed: `${LISTEN}; write IPv6 in brackets, e.g. "[::1]:993"` },
    { toml: '[server]\nhostname = ""', key: 'server.hostname', value: '', allowed: 'a host name such as "mail.example.com"' },
    { toml: '[server]\nhostname = "-mail.example.com"', key: 'server.hostname', value: '-mail.example.com', allowed: 'a host name such as "mail.example.com"' },
    { toml: '[server]\nhostname = "192.0.2.1"', key: 'server.hostname', value: '192.0.2.1', allowed: 'a host name such as "mail.example.com"' },
    { toml: '[store]\ntype = "mysql"', key: 'store.type', value: 'mysql', allowed: '"sqlite" or "postgres"' },
    { toml: '[store]\ntype = "postgress"', key: 'store.type', value: 'postgress', allowed: '"sqlite" or "postgres"; did you mean "postgres"?' },
    { toml: '[blobs]\ntype = "s3"', key: 'blobs.type', value: 's3', allowed: '"fs" or "postgres"' },
    { toml: '[bus]\ntype = "redis"', key: 'bus.type', value: 'redis', allowed: '"local" or "postgres"' },
    { toml: '[log]\nlevel = "verbose"', key: 'log.level', value: 'verbose', allowed: '"trace", "debug", "info", "warn" or "error"' },
    { toml: '[log]\nformat = "text"', key: 'log.format', value: 'text', allowed: '"json" or "pretty"' },
    { toml: '[auth]\nwindow_minutes = 0', key: 'auth.window_minutes', value: 0, allowed: 'an integer from 1 to 10080' },
    { toml: '[auth]\nwindow_minutes = "15"', key: 'auth.window_minutes', value: '15', allowed: 'an integer from 1 to 10080' },
    { toml: '[auth]\nwindow_minutes = 1.5', key: 'auth.window_minutes', value: 1.5, allowed: 'an integer from 1 to 10080' },
    { toml: '[auth]\nloopback_is_secure = "yes"', key: 'auth.loopback_is_secure', value: 'yes', allowed: 'true or false' },
    { toml: '[auth]\nmax_failures_per_ip = -1', key: 'auth.max_failures_per_ip', value: -1, allowed: 'an integer from 1 to 1000000' },
    { toml: '[retention]\ndeleted_days = 99999', key: 'retention.deleted_days', value: 99999, allowed: 'an integer from 0 to 3650' },
    { toml: '[limits]\nmax_message_bytes = 10', key: 'limits.max_message_bytes', value: 10, allowed: 'an integer from 1024 to 1073741824' },
    { toml: '[limits]\ndefault_quota_bytes = -5', key: 'limits.default_quota_bytes', value: -5, allowed: 'an integer from 0 to 9007199254740991' },
    { toml: '[tls]\nacme = true', key: 'tls.acme', value: true, allowed: 'false (not yet implemented)' },
    { toml: '[tls]\ncert = ""', key: 'tls.cert', value: '', allowed: 'a file path, absolute or relative to the data directory' },
    { toml: '[admin]\nallow_public = 1', key: 'admin.allow_public', value: 1, allowed: 'true or false' },
    { toml: '[listeners]\nproxy_protocol = ["imapz"]', key: 'listeners.proxy_protocol[0]', value: 'imapz', allowed: 'a list of listener names (smtp, submission, submissions, lmtp, imap, imaps, pop3, pop3s, http, https, managesieve, admin); did you mean "imap"?' },
    { toml: '[listeners]\nproxy_protocol = "imap"', key: 'listeners.proxy_protocol', value: 'imap', allowed: 'a list of listener names (smtp, submission, submissions, lmtp, imap, imaps, pop3, pop3s, http, https, managesieve, admin)' },
    { toml: '[listeners]\nproxy_trusted = ["10.0.0.0/8", "10.0.0.0/33"]', key: 'listeners.proxy_trusted[1]', value: '10.0.0.0/33', allowed: 'a list of IP addresses or CIDR networks such as "10.0.0.0/8" or "fd00::/8"' },
    { toml: '[listeners]\nproxy_trusted = ["lb.example.com"]', key: 'listeners.proxy_trusted[0]', value: 'lb.example.com', allowed: 'a list of IP addresses or CIDR networks such as "10.0.0.0/8" or "fd00::/8"' },
    { toml: '[egress]\nallow = ["smart host"]', key: 'egress.allow[0]', value: 'smart host', allowed: 'a list of host names, IP addresses or CIDR networks' },
    { toml: '[store]\ntype = "postgres"\nurl = "mysql://db/x"', key: 'store.url', value: 'mysql://db/x', allowed: 'a connection string such as "postgres://user:password@host:5432/bulwark", or ""' },
    { toml: '[[tls.certificates]]\ndomains = []\ncert = "a.pem"\nkey = "b.pem"', key: 'tls.certificates[0].domains', value: [], allowed: 'a non-empty list of host names, "*.example.com" allowed' },
    { toml: '[[tls.certificates]]\ndomains = ["*.*.example.com"]\ncert = "a.pem"\nkey = "b.pem"', key: 'tls.certificates[0].domains[0]', value: '*.*.example.com', allowed: 'a non-empty list of host names, "*.example.com" allowed' },
    { toml: '[[tls.certificates]]\ndomains = ["example.com"]\ncert = "a.pem"', key: 'tls.certificates[0].key', value: undefined, allowed: 'a file path, absolute or relative to the data directory' },
    { toml: '[tls]\ncertificates = "x"', key: 'tls.certificates', value: 'x', allowed: 'a list of tables, each with domains, cert and key' },
    { toml: 'server = "mail.example.com"', key: 'server', value: 'mail.example.com', allowed: 'a table [server]' },
  ];

  it.each(cases)('$key = $value', ({ toml, key, value, allowed }) => {
    const err = loadError(toml);
    expect(err.key).toBe(key);
    expect(err.value).toEqual(value);
    expect(err.allowed).toBe(allowed);
    expect(err.file).toBe(join(dataDir, 'bulwark.toml'));
    expect(err.envVar).toBeUndefined();
    expect(err.message.startsWith('bulwark.toml: ')).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('words the message as "file: key = value: expected allowed"', () => {
    expect(loadError('[listeners]\nimap = "foo:bar"').message).toBe(
      'bulwark.toml: listeners.imap = "foo:bar": expected host:port (port 1-65535) or "" to turn it off',
    );
    expect(loadError('[store]\nschema = "Mail-One"').message).toBe(
      'bulwark.toml: store.schema = "Mail-One": expected a schema name of lower-case letters, digits and "_" (at most 63, not starting with a digit), or ""',
    );
    expect(loadError('[[tls.certificates]]\ndomains = ["example.com"]\ncert = "a.pem"').message).toBe(
      'bulwark.toml: tls.certificates[0].key is missing: expected a file path, absolute or relative to the data directory',
    );
  });

  it('a TOML syntax error names the line and column', () => {
    const err = loadError('[server]\nhostname = \n');
    expect(err.key).toBe('');
    expect(err.message).toMatch(/^bulwark\.toml: invalid TOML at line 2, column \d+: /);
  });

  it('an integer too large for a JavaScript number is a syntax-level ConfigError', () => {
    expect(loadError('[limits]\ndefault_quota_bytes = 9007199254740993').message).toMatch(/invalid TOML/);
  });

  it('a config path that cannot be read is a ConfigError', () => {
    mkdirSync(join(dataDir, 'bulwark.toml'));
    expect(() => loadConfig(dataDir, {})).toThrow(ConfigError);
    expect(() => loadConfig(dataDir, {})).toThrow(/cannot read the file \(EISDIR\)/);
  });

  it('hides the password of a connection string in the message and the error', () => {
    const err = loadError('[store]\ntype = "postgres"\nurl = "mysql://bulwark:hunter2@db/x"');
    expect(err.message).not.toContain('hunter2');
    expect(err.value).toBe('mysql://bulwark:***@db/x');
  });
});

describe('loadConfig rejects unknown keys', () => {
  it('suggests the nearest key in the same section', () => {
    const err = loadError('[listeners]\nimapss = ":993"');
    expect(err.key).toBe('listeners.imapss');
    expect(err.message).toBe('bulwark.toml: listeners.imapss = ":993": unknown key; did you mean listeners.imaps?');
  });

  it('suggests the right section for a key in the wrong one', () => {
    expect(loadError('[server]\nlevel = "debug"').message).toContain('did you mean log.level?');
  });

  it('suggests the section for a misspelt section', () => {
    const err = loadError('[listner]\nimap = ":143"');
    expect(err.key).toBe('listner');
    expect(err.message).toContain('unknown section; did you mean [listeners]?');
  });

  it('suggests the section for a key outside any section', () => {
    expect(loadError('hostname = "mail.example.com"').message).toContain('did you mean server.hostname?');
  });

  it('suggests nothing when nothing is close', () => {
    const err = loadError('[log]\nzzzzzzzzzz = 1');
    expect(err.message).toBe('bulwark.toml: log.zzzzzzzzzz = 1: unknown key');
    expect(err.allowed).toBe('a key of [log]: level, format');
  });

  it('checks keys inside [[tls.certificates]] entries', () => {
    const err = loadError('[[tls.certificates]]\ndomains = ["example.com"]\ncert = "a.pem"\nkye = "b.pem"');
    expect(err.key).toBe('tls.certificates[0].kye');
    expect(err.message).toContain('did you mean tls.certificates[0].key?');
  });

  it('refuses prototype-polluting keys', () => {
    expect(() => load('[server]\n__proto__ = "x"')).toThrow(ConfigError);
  });
});

describe('environment overrides', () => {
  it('BULWARK_<NAME>_LISTEN sets each listener and beats the file', () => {
    const env: NodeJS.ProcessEnv = {};
    LISTENER_NAMES.forEach((name, i) => {
      env[`BULWARK_${name.toUpperCase()}_LISTEN`] = `127.0.0.1:${20000 + i}`;
    });
    const config = load('[listeners]\nimap = ":1143"', env);
    LISTENER_NAMES.forEach((name, i) => {
      expect(config.listeners[name]).toEqual({ host: '127.0.0.1', port: 20000 + i });
    });
  });

  it('an empty BULWARK_<NAME>_LISTEN turns the listener off', () => {
    const config = load('[listeners]\nimap = ":1143"', { BULWARK_IMAP_LISTEN: '', BULWARK_SMTP_LISTEN: '' });
    expect(config.listeners.imap).toBeNull();
    expect(config.listeners.smtp).toBeNull();
    expect(config.listeners.imaps).toEqual({ host: '', port: 993 });
  });

  it('sets store, log and hostname', () => {
    const config = loadConfig(dataDir, {
      BULWARK_STORE_TYPE: 'postgres',
      BULWARK_STORE_URL: 'postgresql://u:p@localhost/bulwark',
      BULWARK_STORE_SCHEMA: 'node_a',
      BULWARK_LOG_LEVEL: 'warn',
      BULWARK_LOG_FORMAT: 'pretty',
      BULWARK_HOSTNAME: 'mx.example.net',
    });
    expect(config.store).toEqual({ type: 'postgres', url: 'postgresql://u:p@localhost/bulwark', schema: 'node_a' });
    expect(config.log).toEqual({ level: 'warn', format: 'pretty' });
    expect(config.server.hostname).toBe('mx.example.net');
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig(dataDir, { BULWARK_IMAP: 'x', BULWARK_LISTEN: 'y', PATH: '/bin' }).listeners.imap).toEqual({
      host: '',
      port: 143,
    });
  });

  it.each([
    ['BULWARK_IMAP_LISTEN', 'foo:bar', 'listeners.imap'],
    ['BULWARK_ADMIN_LISTEN', '8081', 'listeners.admin'],
    ['BULWARK_STORE_TYPE', 'mysql', 'store.type'],
    ['BULWARK_STORE_URL', 'db.example.com', 'store.url'],
    ['BULWARK_LOG_LEVEL', 'loud', 'log.level'],
    ['BULWARK_LOG_FORMAT', '', 'log.format'],
    ['BULWARK_HOSTNAME', 'not a host', 'server.hostname'],
  ])('an invalid %s=%j is a ConfigError naming the variable', (name, value, key) => {
    const err = loadError('', { [name]: value });
    expect(err.envVar).toBe(name);
    expect(err.key).toBe(key);
    expect(err.file).toBe('environment');
    expect(err.message).toContain(`environment: ${name} (${key}) = `);
  });

  it('a public admin address from the environment names the variable', () => {
    const err = loadError('', { BULWARK_ADMIN_LISTEN: '0.0.0.0:8081' });
    expect(err.envVar).toBe('BULWARK_ADMIN_LISTEN');
    expect(err.key).toBe('listeners.admin');
  });
});

describe('rules that span keys', () => {
  it('admin on a public address needs admin.allow_public', () => {
    for (const address of [':8081', '0.0.0.0:8081', '192.0.2.1:8081', '[::]:8081', '[2001:db8::1]:8081']) {
      const err = loadError(`[listeners]\nadmin = "${address}"`);
      expect(err.key).toBe('listeners.admin');
      expect(err.value).toBe(address);
      expect(err.allowed).toContain('admin.allow_public = true');
    }
    const config = load('[listeners]\nadmin = ":8081"\n[admin]\nallow_public = true');
    expect(config.listeners.admin).toEqual({ host: '', port: 8081 });
  });

  it('admin on any loopback address, or off, needs nothing', () => {
    for (const address of ['127.0.0.1:9000', '127.1.2.3:9000', '[::1]:9000', 'localhost:9000', '[::ffff:127.0.0.1]:9000', '']) {
      expect(() => load(`[listeners]\nadmin = "${address}"`)).not.toThrow();
    }
  });

  it('postgres store needs a url', () => {
    const err = loadError('[store]\ntype = "postgres"');
    expect(err.key).toBe('store.url');
    expect(err.value).toBeUndefined();
    expect(err.message).toContain('required when store.type = "postgres"');
  });

  it('postgres blobs and bus need the postgres store', () => {
    expect(loadError('[blobs]\ntype = "postgres"').key).toBe('blobs.type');
    expect(loadError('[bus]\ntype = "postgres"').key).toBe('bus.type');
  });

  it('two listeners on one socket are refused, naming the second', () => {
    const err = loadError('[listeners]\nimaps = ":143"');
    expect(err.key).toBe('listeners.imaps');
    expect(err.allowed).toContain('listeners.imap has it');
    // Different hosts on one port are fine, as are IPv4 wildcard and IPv6 loopback.
    expect(() => load('[listeners]\nimap = "127.0.0.1:143"\nimaps = "127.0.0.2:143"')).not.toThrow();
    expect(() => load('[listeners]\nsmtp = "0.0.0.0:2500"\nlmtp = "[::1]:2500"')).not.toThrow();
    expect(loadError('[listeners]\nsmtp = "0.0.0.0:2500"\nlmtp = "127.0.0.1:2500"').key).toBe('listeners.lmtp');
  });

  it('proxy_protocol needs proxy_trusted', () => {
    const err = loadError('[listeners]\nproxy_protocol = ["imaps"]');
    expect(err.key).toBe('listeners.proxy_trusted');
  });

  it('max_delay_ms must be at least base_delay_ms', () => {
    const err = loadError('[auth]\nbase_delay_ms = 2000\nmax_delay_ms = 1000');
    expect(err.key).toBe('auth.max_delay_ms');
    expect(err.allowed).toBe('an integer from 2000 (auth.base_delay_ms) to 600000');
  });

  it('a domain listed by two certificates is refused', () => {
    const err = loadError(
      '[[tls.certificates]]\ndomains = ["a.example"]\ncert = "a.pem"\nkey = "a.key"\n' +
        '[[tls.certificates]]\ndomains = ["b.example", "A.example"]\ncert = "b.pem"\nkey = "b.key"\n',
    );
    expect(err.key).toBe('tls.certificates[1].domains[1]');
    expect(err.value).toBe('a.example');
  });
});

describe('property: loadConfig throws nothing but ConfigError', () => {
  const tomlish = fc.oneof(
    fc.string(),
    fc.constantFrom('', ':', '[::1]:993', '[]:1', '[:::1', '0.0.0.0:0', ':99999', 'localhost:25', '[fe80::1%eth0]:25'),
    fc.tuple(fc.ipV4(), fc.integer({ min: -5, max: 70000 })).map(([h, p]) => `${h}:${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: -5, max: 70000 })).map(([h, p]) => `[${h}]:${p}`),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
  );

  it('for random values of every listener key', () => {
    const keys = [...LISTENER_NAMES, 'proxy_protocol', 'proxy_trusted'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), tomlish, { maxKeys: 5 }), (listeners) => {
        try {
          load(stringify({ listeners }));
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          expect(err.message).not.toContain('\n');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('for random text in the listeners section', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        try {
          load(`[listeners]\n${text}\n`);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
        }
      }),
      { numRuns: 300 },
    );
  });
});
