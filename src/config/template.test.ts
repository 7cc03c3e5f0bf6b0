import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, SCHEMA, loadConfig, renderConfigTemplate, type Config } from './index.js';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'bulwark-template-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function loadText(text: string): Config {
  writeFileSync(join(dataDir, 'bulwark.toml'), text);
  return loadConfig(dataDir, {});
}

describe('renderConfigTemplate', () => {
  it('loads back to the defaults plus the given hostname and listeners', () => {
    const text = renderConfigTemplate({
      hostname: 'mail.example.com',
      listeners: { lmtp: '127.0.0.1:24', imap: '', imaps: '[::]:993' },
    });
    const loaded = loadText(text);
    const expected = loadText(
      '[server]\nhostname = "mail.example.com"\n[listeners]\nlmtp = "127.0.0.1:24"\nimap = ""\nimaps = "[::]:993"\n',
    );
    expect(loaded).toEqual(expected);
    expect(loaded.listeners.lmtp).toEqual({ host: '127.0.0.1', port: 24 });
    expect(loaded.listeners.imap).toBeNull();
  });

  it('every commented default, uncommented, loads to the same config', () => {
    const text = renderConfigTemplate({ hostname: 'mail.example.com' });
    const uncommented = text
      .split('\n')
      .map((line) => (/^# [a-z_]+ = /.test(line) ? line.slice(2) : line))
      .join('\n');
    expect(uncommented).not.toEqual(text);
    expect(loadText(uncommented)).toEqual(loadText(text));
  });

  it('documents every key of the schema with its description', () => {
    const text = renderConfigTemplate({ hostname: 'mail.example.com' });
    for (const [sectionName, section] of Object.entries(SCHEMA)) {
      expect(text).toContain(`[${sectionName}]`);
      expect(text).toContain(`# ${section.doc}`);
      for (const [keyName, spec] of Object.entries(section.keys)) {
        expect(text).toContain(`# ${spec.doc}`);
        if (spec.type !== 'tables') expect(text).toMatch(new RegExp(`^(# )?${keyName} = `, 'm'));
        if ('env' in spec) expect(text).toContain(`Env: ${spec.env}.`);
      }
    }
    expect(text).toContain('# [[tls.certificates]]');
  });

  it('writes further settings and certificates that load back identically', () => {
    const text = renderConfigTemplate({
      hostname: 'mx.example.org',
      settings: {
        'store.type': 'postgres',
        'store.url': 'postgres://bulwark:p"w@db/bulwark',
        'store.schema': 'bulwark_prod',
        'log.level': 'debug',
        'auth.loopback_is_secure': false,
        'limits.default_quota_bytes': 0,
        'egress.allow': ['smarthost.lan', '10.1.0.0/16'],
      },
      tlsCertificates: [{ domains: ['example.org', '*.example.org'], cert: 'tls/o/cert.pem', key: 'tls/o/key.pem' }],
    });
    const config = loadText(text);
    expect(config.store).toEqual({ type: 'postgres', url: 'postgres://bulwark:p"w@db/bulwark', schema: 'bulwark_prod' });
    expect(config.log.level).toBe('debug');
    expect(config.auth.loopbackIsSecure).toBe(false);
    expect(config.limits.defaultQuotaBytes).toBe(0);
    expect(config.egress.allow).toEqual(['smarthost.lan', '10.1.0.0/16']);
    expect(config.tls.certificates).toEqual([
      { domains: ['example.org', '*.example.org'], cert: join(dataDir, 'tls/o/cert.pem'), key: join(dataDir, 'tls/o/key.pem') },
    ]);
    expect(text).not.toContain('# [[tls.certificates]]');
  });

  it('refuses settings that would not load, with the loader error', () => {
    expect(() => renderConfigTemplate({ hostname: 'bad host' })).toThrow(ConfigError);
    expect(() => renderConfigTemplate({ hostname: 'mail.example.com', listeners: { admin: ':8081' } })).toThrow(
      /listeners\.admin/,
    );
    expect(() => renderConfigTemplate({ hostname: 'mail.example.com', settings: { 'log.levle': 'debug' } })).toThrow(
      /unknown key; did you mean log\.level\?/,
    );
  });
});
