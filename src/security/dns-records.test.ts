import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../core/errors.js';
import { dnsRecords, formatZone, isDnsRecord, mtaStsPolicy, splitTxt, type DnsRecord } from './dns-records.js';

const RSA_P = `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${'A'.repeat(330)}IDAQAB`;
const ED_P = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

function records(extra: Partial<Parameters<typeof dnsRecords>[0]> = {}): DnsRecord[] {
  return dnsRecords({
    domain: 'Example.ORG.',
    hostname: 'mail.example.org',
    dkim: [
      { selector: 'bw-rsa-2026', alg: 'rsa', publicKeyB64: RSA_P },
      { selector: 'bw-ed-2026', alg: 'ed25519', publicKeyB64: ED_P },
    ],
    ipv4: '192.0.2.10',
    ipv6: '2001:DB8::10',
    ...extra,
  });
}

const find = (rs: DnsRecord[], name: string, type: string) => rs.filter((r) => r.name === name && r.type === type);

describe('dnsRecords', () => {
  it('lists MX, addresses, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV and autoconfig for the domain', () => {
    const rs = records();
    expect(find(rs, 'example.org', 'MX')[0]?.value).toBe('10 mail.example.org.');
    expect(find(rs, 'mail.example.org', 'A')[0]?.value).toBe('192.0.2.10');
    expect(find(rs, 'mail.example.org', 'AAAA')[0]?.value).toBe('2001:db8::10');
    expect(find(rs, 'example.org', 'TXT')[0]?.value).toBe('v=spf1 mx -all');
    expect(find(rs, 'mail.example.org', 'TXT')[0]?.value).toBe('v=spf1 a -all');
    expect(find(rs, 'bw-rsa-2026._domainkey.example.org', 'TXT')[0]?.value).toBe(`v=DKIM1; k=rsa; p=${RSA_P}`);
    expect(find(rs, 'bw-ed-2026._domainkey.example.org', 'TXT')[0]?.value).toBe(`v=DKIM1; k=ed25519; p=${ED_P}`);
    expect(find(rs, '_dmarc.example.org', 'TXT')[0]?.value).toBe('v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org');
    expect(find(rs, '_mta-sts.example.org', 'TXT')[0]?.value).toMatch(/^v=STSv1; id=[A-Za-z0-9]{1,32}$/);
    expect(find(rs, 'mta-sts.example.org', 'CNAME')[0]?.value).toBe('mail.example.org.');
    expect(find(rs, 'https://mta-sts.example.org/.well-known/mta-sts.txt', 'FILE')[0]?.value).toBe(
      'version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n',
    );
    expect(find(rs, '_smtp._tls.example.org', 'TXT')[0]?.value).toBe('v=TLSRPTv1; rua=mailto:postmaster@example.org');
    const srv = Object.fromEntries(rs.filter((r) => r.type === 'SRV').map((r) => [r.name.replace('.example.org', ''), r.value]));
    expect(srv).toEqual({
      '_submissions._tcp': '0 1 465 mail.example.org.',
      '_submission._tcp': '10 1 587 mail.example.org.',
      '_imaps._tcp': '0 1 993 mail.example.org.',
      '_imap._tcp': '10 1 143 mail.example.org.',
      '_pop3s._tcp': '20 1 995 mail.example.org.',
      '_pop3._tcp': '30 1 110 mail.example.org.',
      '_caldavs._tcp': '0 1 443 mail.example.org.',
      '_carddavs._tcp': '0 1 443 mail.example.org.',
      '_autodiscover._tcp': '0 1 443 mail.example.org.',
      '_caldav._tcp': '0 0 0 .',
      '_carddav._tcp': '0 0 0 .',
    });
    expect(find(rs, 'autoconfig.example.org', 'CNAME')[0]?.value).toBe('mail.example.org.');
    expect(find(rs, 'autodiscover.example.org', 'CNAME')[0]?.value).toBe('mail.example.org.');
  });

  it('every DNS name lies in the domain (or the host zone) and every target is absolute', () => {
    for (const r of records().filter(isDnsRecord)) {
      expect(r.name === 'example.org' || r.name.endsWith('.example.org'), r.name).toBe(true);
      expect(r.name).not.toMatch(/[A-Z]|\.$|\.\./);
      if (r.type === 'CNAME') expect(r.value).toMatch(/\.$/);
      if (r.type === 'MX') expect(r.value).toMatch(/^\d+ \S+\.$/);
      if (r.type === 'SRV') expect(r.value).toMatch(/^\d+ \d+ \d+ \S*\.$/);
      expect(r.purpose.length).toBeGreaterThan(0);
    }
  });

  it('gives a note instead of address records when no IPs are known, and PTR notes when they are', () => {
    const without = records({ ipv4: undefined, ipv6: undefined });
    expect(without.some((r) => r.type === 'A' || r.type === 'AAAA')).toBe(false);
    expect(without.some((r) => r.type === 'NOTE' && r.value.includes('A (and if reachable, AAAA)'))).toBe(true);
    expect(records().filter((r) => r.type === 'NOTE' && r.value.includes('PTR'))).toHaveLength(2);
  });

  it('uses the given report address and MTA-STS id and mode', () => {
    const rs = records({ reportAddress: 'reports@example.org', mtaStsId: '20260101T000000', mtaStsMode: 'enforce' });
    expect(find(rs, '_dmarc.example.org', 'TXT')[0]?.value).toContain('rua=mailto:reports@example.org');
    expect(find(rs, '_smtp._tls.example.org', 'TXT')[0]?.value).toBe('v=TLSRPTv1; rua=mailto:reports@example.org');
    expect(find(rs, '_mta-sts.example.org', 'TXT')[0]?.value).toBe('v=STSv1; id=20260101T000000');
    expect(rs.find((r) => r.type === 'FILE')?.value).toContain('mode: enforce\r\n');
    expect(() => records({ mtaStsId: 'has-dash' })).toThrow(InvalidInput);
  });

  it('the default MTA-STS id changes when the policy does', () => {
    const id = (rs: DnsRecord[]) => find(rs, '_mta-sts.example.org', 'TXT')[0]?.value;
    expect(id(records())).toBe(id(records()));
    expect(id(records({ mtaStsMode: 'enforce' }))).not.toBe(id(records()));
  });

  it('adds the RFC 7489 §7.1 authorisation record for an outside report domain', () => {
    const rs = records({ reportAddress: 'dmarc@reports.example.net' });
    expect(find(rs, 'example.org._report._dmarc.reports.example.net', 'TXT')[0]?.value).toBe('v=DMARC1');
  });

  it('converts an internationalised domain to its A-label form', () => {
    const rs = dnsRecords({ domain: 'bücher.example', hostname: 'mail.bücher.example', dkim: [] });
    expect(find(rs, 'xn--bcher-kva.example', 'MX')[0]?.value).toBe('10 mail.xn--bcher-kva.example.');
  });

  it('refuses invalid input with InvalidInput', () => {
    expect(() => records({ domain: 'not a domain' })).toThrow(InvalidInput);
    expect(() => records({ domain: 'localhost' })).toThrow(InvalidInput);
    expect(() => records({ hostname: 'mail..example.org' })).toThrow(InvalidInput);
    expect(() => records({ ipv4: '127.1' })).toThrow(InvalidInput);
    expect(() => records({ ipv6: '1.2.3.4' })).toThrow(InvalidInput);
    expect(() => records({ reportAddress: 'no-at-sign' })).toThrow(InvalidInput);
    expect(() => records({ reportAddress: 'a@b.example; p=none' })).toThrow(InvalidInput);
    expect(() => records({ dkim: [{ selector: 'bad selector', alg: 'rsa', publicKeyB64: 'AAAA' }] })).toThrow(InvalidInput);
  });
});

describe('formatZone', () => {
  const zone = formatZone(records());
  const lines = zone.split('\n').filter((l) => l !== '');

  it('writes one record per non-comment line with absolute owner names', () => {
    const recordLines = lines.filter((l) => !l.startsWith(';'));
    expect(recordLines).toHaveLength(records().filter(isDnsRecord).length);
    for (const l of recordLines) expect(l).toMatch(/^[a-z0-9._-]+\.\t3600\tIN\t(MX|A|AAAA|TXT|SRV|CNAME)\t\S/);
    expect(zone).toContain('example.org.\t3600\tIN\tMX\t10 mail.example.org.');
  });

  it('quotes TXT data in chunks of at most 255 bytes', () => {
    const txt = lines.filter((l) => l.includes('\tTXT\t'));
    for (const l of txt) {
      const data = l.split('\t')[4] ?? '';
      const chunks = [...data.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
      expect(chunks.length).toBeGreaterThan(0);
      for (const c of chunks) expect(c.replace(/\\(.)/g, '$1').length).toBeLessThanOrEqual(255);
    }
    const dkimLine = txt.find((l) => l.startsWith('bw-rsa-2026._domainkey.'));
    expect(dkimLine?.match(/"/g)?.length).toBe(4); // two strings
  });

  it('precedes each record with its purpose and shows notes and files as comments', () => {
    expect(lines[0]).toMatch(/^; /);
    expect(zone).toContain(';   version: STSv1');
    expect(zone).toContain('; NOTE');
  });

  it('escapes quotes and backslashes in TXT data', () => {
    const z = formatZone([{ name: 'x.example.org', type: 'TXT', value: 'a"b\\c', purpose: 't' }], 60);
    expect(z).toContain('x.example.org.\t60\tIN\tTXT\t"a\\"b\\\\c"');
  });
});

describe('mtaStsPolicy', () => {
  it('follows RFC 8461 §3.2 with CRLF lines and one mx line per host', () => {
    expect(mtaStsPolicy(['mail.example.org', '*.example.net'], 'enforce', 86400)).toBe(
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.example.net\r\nmax_age: 86400\r\n',
    );
    expect(mtaStsPolicy('mail.example.org')).toContain('mode: testing\r\n');
  });

  it('refuses out-of-range max_age and empty host lists', () => {
    expect(() => mtaStsPolicy('mail.example.org', 'enforce', 31_557_601)).toThrow(InvalidInput);
    expect(() => mtaStsPolicy([], 'enforce')).toThrow(InvalidInput);
  });

  it('re-exports splitTxt', () => {
    expect(splitTxt('abc')).toEqual(['abc']);
  });
});
