/**
 * The DNS records a domain needs to receive, authenticate and advertise mail with Bulwark,
 * as data (for `bulwark dns`, the admin UI and `doctor` checks) and as BIND zone-file text.
 * Every value here is generated from typed options; nothing is read from the network.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { InvalidInput } from '../core/errors.js';
import { dkimTxtRecord, splitTxt, type DkimAlgorithm } from './dkim.js';
import { canonicalIp, parseIpv4, parseIpv6 } from './egress.js';

export { splitTxt } from './dkim.js';

/** Real DNS record types produced here. */
export type DnsRecordType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'SRV' | 'CNAME';

/**
 * One item of the setup list. `NOTE` is an instruction for the admin and `FILE` a file to
 * serve at the URL in `name`; neither goes into DNS (see `isDnsRecord`).
 */
export interface DnsRecord {
  /** Owner name, fully qualified without the trailing dot (or a URL for FILE). */
  name: string;
  type: DnsRecordType | 'NOTE' | 'FILE';
  /** Record data in presentation form; TXT values unquoted and unsplit (see `splitTxt`). */
  value: string;
  /** Why the record exists, for the admin. */
  purpose: string;
}

/** A DKIM key to publish. */
export interface DnsDkimKey {
  selector: string;
  alg: DkimAlgorithm;
  publicKeyB64: string;
}

/** Input of `dnsRecords`. */
export interface DnsRecordsOptions {
  /** The mail domain (right of the @). */
  domain: string;
  /** The server's host name (MX target, TLS certificate name). */
  hostname: string;
  dkim: readonly DnsDkimKey[];
  ipv4?: string | readonly string[];
  ipv6?: string | readonly string[];
  /** MTA-STS policy id (RFC 8461 §3.1: 1-32 alphanumerics); defaults to a digest of the policy. */
  mtaStsId?: string;
  mtaStsMode?: MtaStsMode;
  /** Where DMARC aggregate and TLS reports go; default postmaster@domain. */
  reportAddress?: string;
}

/** MTA-STS policy modes (RFC 8461 §5). */
export type MtaStsMode = 'testing' | 'enforce' | 'none';

/** True for entries that are real DNS records (not NOTE or FILE). */
export function isDnsRecord(r: DnsRecord): r is DnsRecord & { type: DnsRecordType } {
  return r.type !== 'NOTE' && r.type !== 'FILE';
}

const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_AGE_LIMIT_SECONDS = 31_557_600; // RFC 8461 §3.2

/** Lower-cases, converts U-labels to A-labels and checks a domain name; throws InvalidInput. */
function domainName(text: string, what: string): string {
  const trimmed = text.trim().replace(/\.$/, '');
  const ascii = domainToASCII(trimmed);
  if (ascii === '' || ascii.length > 253) throw new InvalidInput(`Invalid ${what}: ${text}`);
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL_RE.test(l))) throw new InvalidInput(`Invalid ${what}: ${text}`);
  return ascii;
}

function list(v: string | readonly string[] | undefined): readonly string[] {
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/** The MTA-STS policy file served at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2). */
export function mtaStsPolicy(hostname: string | readonly string[], mode: MtaStsMode = 'testing', maxAgeSeconds = 604_800): string {
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0 || maxAgeSeconds > MAX_AGE_LIMIT_SECONDS) {
    throw new InvalidInput('MTA-STS max_age out of range');
  }
  const hosts = list(hostname).map((h) => {
    // "*.example.net" patterns are allowed (RFC 8461 §3.2); the rest must be an A-label name.
    const wildcard = h.startsWith('*.');
    const name = domainName(wildcard ? h.slice(2) : h, 'MX host');
    return wildcard ? `*.${name}` : name;
  });
  if (hosts.length === 0) throw new InvalidInput('MTA-STS policy needs at least one mx');
  // RFC 8461 §3.2: CRLF-separated key/value pairs, one "mx:" line per host.
  const lines = ['version: STSv1', `mode: ${mode}`, ...hosts.map((h) => `mx: ${h}`), `max_age: ${maxAgeSeconds}`];
  return lines.map((l) => `${l}\r\n`).join('');
}

function mailbox(address: string, what: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  if (at < 1 || /[\s;,!<>"]/.test(address)) throw new InvalidInput(`Invalid ${what}: ${address}`);
  return { local: address.slice(0, at), domain: domainName(address.slice(at + 1), what) };
}

/** The records (and notes) for one mail domain served by one host. */
export function dnsRecords(opts: DnsRecordsOptions): DnsRecord[] {
  const domain = domainName(opts.domain, 'domain');
  const host = domainName(opts.hostname, 'hostname');
  const hostDot = `${host}.`;
  const out: DnsRecord[] = [];
  const add = (name: string, type: DnsRecord['type'], value: string, purpose: string): void => {
    out.push({ name, type, value, purpose });
  };

  // RFC 5321 §5.1: mail for the domain goes to the MX host.
  add(domain, 'MX', `10 ${hostDot}`, `Deliver mail for ${domain} to ${host}`);

  const v4 = list(opts.ipv4).map((ip) => {
    if (!parseIpv4(ip)) throw new InvalidInput(`Invalid IPv4 address: ${ip}`);
    return ip;
  });
  const v6 = list(opts.ipv6).map((ip) => {
    if (!parseIpv6(ip)) throw new InvalidInput(`Invalid IPv6 address: ${ip}`);
    return canonicalIp(ip) ?? ip;
  });
  for (const ip of v4) add(host, 'A', ip, `Address of the mail host ${host}`);
  for (const ip of v6) add(host, 'AAAA', ip, `IPv6 address of the mail host ${host}`);
  if (v4.length + v6.length === 0) {
    add(host, 'NOTE', `${host} needs A (and if reachable, AAAA) records pointing at this server`, 'Address of the mail host');
  }
  for (const ip of [...v4, ...v6]) {
    add(host, 'NOTE', `Set the reverse DNS (PTR) of ${ip} to ${host} at your provider`, 'Receivers check that the sending address maps back to the HELO name');
  }

  // RFC 7208: only the MX host sends mail for the domain; everything else fails.
  add(domain, 'TXT', 'v=spf1 mx -all', `SPF: only ${domain}'s MX host sends its mail`);
  if (host !== domain && !host.endsWith(`.${domain}`)) {
    add(host, 'NOTE', `${host} is outside ${domain}; publish its records in that zone`, 'Zone placement');
  }
  if (host !== domain) {
    // RFC 7208 §2.3: give the HELO identity its own SPF record.
    add(host, 'TXT', 'v=spf1 a -all', `SPF for the HELO name ${host}`);
  }

  for (const key of opts.dkim) {
    const selector = key.selector.toLowerCase();
    if (!selector.split('.').every((l) => LABEL_RE.test(l))) throw new InvalidInput(`Invalid DKIM selector: ${key.selector}`);
    // RFC 6376 §3.6.2.1: keys live at <selector>._domainkey.<domain>.
    add(`${selector}._domainkey.${domain}`, 'TXT', dkimTxtRecord(key.alg, key.publicKeyB64), `DKIM ${key.alg} public key, selector ${selector}`);
  }

  const report = mailbox(opts.reportAddress ?? `postmaster@${domain}`, 'report address');
  const reportUri = `mailto:${report.local}@${report.domain}`;
  // RFC 7489 §6.3: policy quarantine, aggregate reports to rua.
  add(`_dmarc.${domain}`, 'TXT', `v=DMARC1; p=quarantine; rua=${reportUri}`, 'DMARC policy and aggregate report address');
  if (report.domain !== domain && !report.domain.endsWith(`.${domain}`)) {
    // RFC 7489 §7.1: an outside report domain must agree to receive reports for this one.
    add(`${domain}._report._dmarc.${report.domain}`, 'TXT', 'v=DMARC1', `Lets ${report.domain} receive DMARC reports for ${domain} (publish in ${report.domain}'s zone)`);
  }

  const policy = mtaStsPolicy(host, opts.mtaStsMode ?? 'testing');
  const stsId = opts.mtaStsId ?? createHash('sha256').update(policy).digest('hex').slice(0, 20);
  if (!/^[A-Za-z0-9]{1,32}$/.test(stsId)) throw new InvalidInput('MTA-STS id must be 1-32 letters and digits');
  // RFC 8461 §3.1: the TXT record announces a policy and its version id.
  add(`_mta-sts.${domain}`, 'TXT', `v=STSv1; id=${stsId}`, 'MTA-STS: a policy exists; change id whenever the policy changes');
  // RFC 8461 §3.3: the policy host must answer https with a certificate for mta-sts.<domain>.
  add(`mta-sts.${domain}`, 'CNAME', hostDot, `MTA-STS policy host (needs a TLS certificate for mta-sts.${domain})`);
  add(`https://mta-sts.${domain}/.well-known/mta-sts.txt`, 'FILE', policy, 'MTA-STS policy file (served by Bulwark, text/plain)');
  // RFC 8460 §3: where sending MTAs report TLS failures.
  add(`_smtp._tls.${domain}`, 'TXT', `v=TLSRPTv1; rua=${reportUri}`, 'SMTP TLS reporting address');

  // RFC 6186 §3 and RFC 8314 §5.1: implicit TLS is preferred (lower priority value) over
  // STARTTLS, and IMAP over POP3 (RFC 6186 §3.4).
  const srv: Array<[string, number, number, string]> = [
    ['_submissions._tcp', 0, 465, 'Mail submission, implicit TLS (RFC 8314)'],
    ['_submission._tcp', 10, 587, 'Mail submission, STARTTLS (RFC 6186)'],
    ['_imaps._tcp', 0, 993, 'IMAP, implicit TLS (RFC 8314)'],
    ['_imap._tcp', 10, 143, 'IMAP, STARTTLS (RFC 6186)'],
    ['_pop3s._tcp', 20, 995, 'POP3, implicit TLS (RFC 8314)'],
    ['_pop3._tcp', 30, 110, 'POP3, STARTTLS (RFC 6186)'],
    // RFC 6764 §3: CalDAV and CardDAV over https; clients then use /.well-known/caldav|carddav (§5).
    ['_caldavs._tcp', 0, 443, 'CalDAV over https (RFC 6764)'],
    ['_carddavs._tcp', 0, 443, 'CardDAV over https (RFC 6764)'],
    ['_autodiscover._tcp', 0, 443, 'Autodiscover for Outlook-style clients'],
  ];
  for (const [service, priority, port, purpose] of srv) add(`${service}.${domain}`, 'SRV', `${priority} 1 ${port} ${hostDot}`, purpose);
  // RFC 2782 / RFC 6764 §3: target "." says the plain-http service is not offered.
  add(`_caldav._tcp.${domain}`, 'SRV', '0 0 0 .', 'No CalDAV without TLS');
  add(`_carddav._tcp.${domain}`, 'SRV', '0 0 0 .', 'No CardDAV without TLS');

  // draft-ietf-mailmaint-autoconfig §"autoconfig.%EMAILDOMAIN%": the config file host.
  add(`autoconfig.${domain}`, 'CNAME', hostDot, 'Client autoconfiguration (Thunderbird and others); needs a TLS certificate for this name');
  add(`autodiscover.${domain}`, 'CNAME', hostDot, 'Autodiscover (Outlook and others); needs a TLS certificate for this name');
  return out;
}

function quoteTxtChunk(chunk: string): string {
  let out = '"';
  for (const byte of Buffer.from(chunk, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${byte.toString().padStart(3, '0')}`; // RFC 1035 §5.1 \DDD
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

/** Renders records as BIND zone-file lines, each preceded by a comment giving its purpose. */
export function formatZone(records: readonly DnsRecord[], ttlSeconds = 3600): string {
  const lines: string[] = [];
  for (const r of records) {
    if (r.type === 'NOTE') {
      lines.push(`; NOTE (${r.purpose}): ${r.value}`);
      continue;
    }
    if (r.type === 'FILE') {
      lines.push(`; FILE ${r.name} (${r.purpose}):`);
      for (const l of r.value.split(/\r?\n/)) if (l !== '') lines.push(`;   ${l}`);
      continue;
    }
    const data = r.type === 'TXT' ? splitTxt(r.value).map(quoteTxtChunk).join(' ') : r.value;
    lines.push(`; ${r.purpose}`);
    lines.push(`${r.name}.\t${ttlSeconds}\tIN\t${r.type}\t${data}`);
  }
  return `${lines.join('\n')}\n`;
}
