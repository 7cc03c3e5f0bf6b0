/**
 * Checks one raw TOML value against its KeySpec and turns it into its typed form. Pure: no
 * files, no environment. Every failure comes back as a result, never an exception; load.ts
 * turns it into a ConfigError naming the key.
 */
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { LISTENER_NAMES, type KeySpec, type ListenAddress, type ListItemKind } from './schema.js';
import { isSchemaName } from '../store/postgres/names.js';

/** Outcome of checking one value: the typed value, or why it failed. */
export type Checked =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      /** Extra words after the allowed text, e.g. a suggestion. */
      readonly hint?: string;
      /** The failing list item, when the value is a list. */
      readonly at?: { readonly index: number; readonly value: unknown };
    };

/** Key types checked here; tables are walked by the loader. */
export type ScalarSpec = Exclude<KeySpec, { type: 'tables' }>;

const LISTEN_ALLOWED = 'host:port (port 1-65535) or "" to turn it off';

/** The allowed-values text for a key, used in error messages and the template. */
export function describeAllowed(spec: KeySpec): string {
  switch (spec.type) {
    case 'hostname':
      return 'a host name such as "mail.example.com"';
    case 'listen':
      return LISTEN_ALLOWED;
    case 'bool':
      return spec.onlyFalse === true ? 'false (not yet implemented)' : 'true or false';
    case 'int':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'enum':
      return joinAlternatives(spec.values.map((v) => JSON.stringify(v)));
    case 'path':
      return 'a file path, absolute or relative to the data directory';
    case 'postgresUrl':
      return 'a connection string such as "postgres://user:password@host:5432/bulwark", or ""';
    case 'pgSchema':
      return 'a schema name of lower-case letters, digits and "_" (at most 63, not starting with a digit), or ""';
    case 'domains':
      return 'a non-empty list of host names, "*.example.com" allowed';
    case 'list':
      return describeList(spec.item);
    case 'tables':
      return 'a list of tables, each with ' + joinAlternatives(Object.keys(spec.fields), 'and');
  }
}

function describeList(item: ListItemKind): string {
  switch (item) {
    case 'listener':
      return `a list of listener names (${LISTENER_NAMES.join(', ')})`;
    case 'cidr':
      return 'a list of IP addresses or CIDR networks such as "10.0.0.0/8" or "fd00::/8"';
    case 'hostOrCidr':
      return 'a list of host names, IP addresses or CIDR networks';
  }
}

function joinAlternatives(items: readonly string[], word = 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${word} ${items[items.length - 1]}`;
}

/** Checks `raw` against `spec`; relative paths are resolved against `dataDir`. */
export function checkValue(spec: ScalarSpec, raw: unknown, dataDir: string): Checked {
  switch (spec.type) {
    case 'hostname':
      return typeof raw === 'string' && isHostname(raw) ? ok(raw) : fail();
    case 'listen': {
      if (typeof raw !== 'string') return fail();
      const parsed = parseListenAddress(raw);
      if (parsed === undefined) {
        // An unbracketed IPv6 address is the likeliest mistake; say how to write it.
        const looksIPv6 = raw.split(':').length > 2 && !raw.startsWith('[');
        return looksIPv6 ? fail('; write IPv6 in brackets, e.g. "[::1]:993"') : fail();
      }
      return ok(parsed);
    }
    case 'bool':
      if (typeof raw !== 'boolean') return fail();
      return spec.onlyFalse === true && raw ? fail() : ok(raw);
    case 'int':
      return typeof raw === 'number' && Number.isInteger(raw) && raw >= spec.min && raw <= spec.max
        ? ok(raw)
        : fail();
    case 'enum': {
      if (typeof raw === 'string' && spec.values.includes(raw)) return ok(raw);
      const near = typeof raw === 'string' ? nearest(raw, spec.values) : undefined;
      return fail(near !== undefined ? `; did you mean "${near}"?` : undefined);
    }
    case 'path':
      return typeof raw === 'string' && raw !== '' && !raw.includes('\0')
        ? ok(resolve(dataDir, raw))
        : fail();
    case 'postgresUrl':
      return typeof raw === 'string' && (raw === '' || isPostgresUrl(raw)) ? ok(raw) : fail();
    case 'pgSchema':
      return typeof raw === 'string' && (raw === '' || isSchemaName(raw)) ? ok(raw) : fail();
    case 'domains': {
      if (!Array.isArray(raw) || raw.length === 0) return fail();
      return checkItems(raw, (item) =>
        typeof item === 'string' && isHostname(item.startsWith('*.') ? item.slice(2) : item)
          ? item.toLowerCase()
          : undefined,
      );
    }
    case 'list':
      if (!Array.isArray(raw)) return fail();
      return checkItems(raw, listItemChecker(spec.item), spec.item === 'listener' ? LISTENER_NAMES : []);
  }
}

function listItemChecker(item: ListItemKind): (raw: unknown) => unknown {
  switch (item) {
    case 'listener':
      return (raw) =>
        typeof raw === 'string' && (LISTENER_NAMES as readonly string[]).includes(raw) ? raw : undefined;
    case 'cidr':
      return (raw) => (typeof raw === 'string' && parseCidr(raw) !== undefined ? raw : undefined);
    case 'hostOrCidr':
      return (raw) =>
        typeof raw === 'string' && (isHostname(raw) || parseCidr(raw) !== undefined) ? raw : undefined;
  }
}

function checkItems(
  raw: readonly unknown[],
  check: (item: unknown) => unknown,
  vocabulary: readonly string[] = [],
): Checked {
  const out: unknown[] = [];
  for (const [index, item] of raw.entries()) {
    const value = check(item);
    if (value === undefined) {
      const at = { index, value: item };
      const near = typeof item === 'string' ? nearest(item, vocabulary) : undefined;
      return near !== undefined ? { ok: false, hint: `; did you mean "${near}"?`, at } : { ok: false, at };
    }
    out.push(value);
  }
  return ok(out);
}

function ok(value: unknown): Checked {
  return { ok: true, value };
}

function fail(hint?: string): Checked {
  return hint !== undefined ? { ok: false, hint } : { ok: false };
}

/**
 * Parses "host:port", "[v6]:port" or ":port"; "" means off (null); undefined when malformed.
 * The host must be an IP literal or "localhost": binding to a name that DNS may change is
 * refused on purpose.
 */
export function parseListenAddress(text: string): ListenAddress | null | undefined {
  if (text === '') return null;
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') return undefined;
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    if (!isIPv6(host)) return undefined;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host !== '' && host !== 'localhost' && !isIPv4(host)) return undefined;
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Writes a listen address back in the form parseListenAddress reads; null gives "". */
export function formatListenAddress(address: ListenAddress | null): string {
  if (address === null) return '';
  const host = isIPv6(address.host) ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a listen host only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return LOOPBACK.check(host, 'ipv4');
  if (isIPv6(host)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
    if (mapped?.[1] !== undefined) return LOOPBACK.check(mapped[1], 'ipv4');
    return LOOPBACK.check(host, 'ipv6');
  }
  return false;
}

/** Parses "10.0.0.0/8", "fd00::/8" or a bare IP address; undefined when malformed. */
export function parseCidr(text: string): { address: string; prefix: number; family: 4 | 6 } | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  // Zone ids ("fe80::1%eth0") name an interface, not a network.
  if (address.includes('%')) return undefined;
  const maxPrefix = family === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: maxPrefix, family };
  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= maxPrefix ? { address, prefix, family } : undefined;
}

/** A DNS host name: letters, digits and inner hyphens per label, at most 253 characters. */
export function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253 || isIP(text) !== 0) return false;
  return text
    .split('.')
    .every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//.test(text) && URL.canParse(text);
}

/** Hides the password of a connection string so it can appear in a message. */
export function redactSecret(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/** The candidate closest to `word` by edit distance, if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // One slip per three letters: "imapz" finds "imap", "s3" finds nothing.
  const tolerance = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** Edit distance counting a swap of two neighbours as one edit ("kye" is one from "key"). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
