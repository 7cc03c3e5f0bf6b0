/**
 * PROXY protocol (HAProxy's "proxy-protocol.txt", versions 1 and 2): a load balancer in front
 * of a listener prepends the real client address to the stream. The parser is pure and
 * bounded: a v1 line is at most 107 bytes, a v2 header at most MAX_PROXY_V2_BYTES. A header is
 * only believed from a peer in the configured trusted networks; from anyone else it would let
 * a client choose the address that rate limits and logs see.
 */
import { Buffer } from 'node:buffer';
import type net from 'node:net';
import { Forbidden, InvalidInput, Unavailable } from '../core/errors.js';
import { formatIp, isInCidrList, parseIpv4, parseIpv6 } from './egress.js';

export { isInCidrList } from './egress.js';

/** Longest v1 header, CRLF included (proxy-protocol.txt §2.1). */
export const MAX_PROXY_V1_BYTES = 107;
/** Longest v2 header we accept, the 16-byte fixed part and TLVs included. */
export const MAX_PROXY_V2_BYTES = 1024;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The 12-byte v2 signature (proxy-protocol.txt §2.2). */
const V2_SIGNATURE = Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_CMD_LOCAL = 0x0;
const V2_CMD_PROXY = 0x1;
const V2_AF_UNSPEC = 0x0;
const V2_AF_INET = 0x1;
const V2_AF_INET6 = 0x2;
const V2_AF_UNIX = 0x3;
const V2_PROTO_UNSPEC = 0x0;
const V2_PROTO_STREAM = 0x1;
const V2_INET_LEN = 12;
const V2_INET6_LEN = 36;
const V2_UNIX_LEN = 216;

/** One end of a proxied connection. */
export interface ProxyEndpoint {
  address: string;
  port: number;
}

/** A v2 type-length-value extension, passed through uninterpreted. */
export interface ProxyTlv {
  type: number;
  value: Uint8Array;
}

/** What `parseProxyHeader` found. */
export type ProxyParseResult =
  | { kind: 'need-more' }
  | { kind: 'error'; reason: string }
  | {
      kind: 'ok';
      /** Bytes of the header; what follows belongs to the proxied protocol. */
      consumed: number;
      version: 1 | 2;
      /** The real client; absent for LOCAL, UNKNOWN, UNSPEC and UNIX headers (use the socket's). */
      source?: ProxyEndpoint;
      destination?: ProxyEndpoint;
      /** True for a v2 LOCAL command: the proxy itself connected (a health check). */
      local: boolean;
      tlvs: ProxyTlv[];
    };

function startsWithPartial(buf: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

function parsePort(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function parseV1(buf: Uint8Array): ProxyParseResult {
  const limit = Math.min(buf.length, MAX_PROXY_V1_BYTES);
  let lf = -1;
  for (let i = 0; i < limit; i++) {
    const c = buf[i] ?? 0;
    if (c === 0x0a) {
      lf = i;
      break;
    }
    // Only printable US-ASCII and the final CR may appear.
    if (c === 0x0d) {
      if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return { kind: 'error', reason: 'v1: CR not followed by LF' };
      continue;
    }
    if (c < 0x20 || c > 0x7e) return { kind: 'error', reason: 'v1: non-printable byte' };
  }
  if (lf < 0) {
    return buf.length >= MAX_PROXY_V1_BYTES ? { kind: 'error', reason: 'v1: line longer than 107 bytes' } : { kind: 'need-more' };
  }
  if (lf === 0 || buf[lf - 1] !== 0x0d) return { kind: 'error', reason: 'v1: line not ended by CRLF' };
  const line = Buffer.from(buf.subarray(0, lf - 1)).toString('latin1');
  const parts = line.split(' ');
  const consumed = lf + 1;
  if (parts[1] === 'UNKNOWN') {
    // proxy-protocol.txt §2.1: the rest of an UNKNOWN line is ignored.
    return { kind: 'ok', consumed, version: 1, local: false, tlvs: [] };
  }
  if (parts.length !== 6) return { kind: 'error', reason: 'v1: wrong number of fields' };
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const parseAddr = proto === 'TCP4' ? parseIpv4 : proto === 'TCP6' ? parseIpv6 : null;
  if (!parseAddr) return { kind: 'error', reason: 'v1: unknown protocol' };
  const family = proto === 'TCP4' ? 4 : 6;
  const s = parseAddr(src);
  const d = parseAddr(dst);
  if (!s || !d) return { kind: 'error', reason: 'v1: bad address' };
  const sp = parsePort(sport);
  const dp = parsePort(dport);
  if (sp === null || dp === null) return { kind: 'error', reason: 'v1: bad port' };
  return {
    kind: 'ok',
    consumed,
    version: 1,
    local: false,
    tlvs: [],
    source: { address: formatIp({ family, bytes: s }), port: sp },
    destination: { address: formatIp({ family, bytes: d }), port: dp },
  };
}

function parseTlvs(buf: Uint8Array, start: number, end: number): ProxyTlv[] | null {
  const tlvs: ProxyTlv[] = [];
  let i = start;
  while (i < end) {
    if (i + 3 > end) return null;
    const type = buf[i] ?? 0;
    const len = ((buf[i + 1] ?? 0) << 8) | (buf[i + 2] ?? 0);
    if (i + 3 + len > end) return null;
    tlvs.push({ type, value: buf.slice(i + 3, i + 3 + len) });
    i += 3 + len;
  }
  return tlvs;
}

function parseV2(buf: Uint8Array): ProxyParseResult {
  if (buf.length < 16) return { kind: 'need-more' };
  const verCmd = buf[12] ?? 0;
  if (verCmd >> 4 !== 2) return { kind: 'error', reason: 'v2: unsupported version' };
  const cmd = verCmd & 0x0f;
  if (cmd !== V2_CMD_LOCAL && cmd !== V2_CMD_PROXY) return { kind: 'error', reason: 'v2: unknown command' };
  const famByte = buf[13] ?? 0;
  const af = famByte >> 4;
  const proto = famByte & 0x0f;
  const len = ((buf[14] ?? 0) << 8) | (buf[15] ?? 0);
  const total = 16 + len;
  if (total > MAX_PROXY_V2_BYTES) return { kind: 'error', reason: 'v2: header too long' };
  if (buf.length < total) return { kind: 'need-more' };
  if (cmd === V2_CMD_LOCAL) {
    // proxy-protocol.txt §2.2: for LOCAL the receiver ignores family and address block.
    return { kind: 'ok', consumed: total, version: 2, local: true, tlvs: [] };
  }
  let addrLen: number;
  if (af === V2_AF_UNSPEC) addrLen = 0;
  else if (af === V2_AF_INET) addrLen = V2_INET_LEN;
  else if (af === V2_AF_INET6) addrLen = V2_INET6_LEN;
  else if (af === V2_AF_UNIX) addrLen = V2_UNIX_LEN;
  else return { kind: 'error', reason: 'v2: unknown address family' };
  if (af !== V2_AF_UNSPEC && proto !== V2_PROTO_STREAM) {
    return { kind: 'error', reason: proto === V2_PROTO_UNSPEC ? 'v2: missing transport' : 'v2: only stream transport is supported' };
  }
  if (len < addrLen) return { kind: 'error', reason: 'v2: address block too short' };
  const tlvs = parseTlvs(buf, 16 + addrLen, total);
  if (!tlvs) return { kind: 'error', reason: 'v2: malformed TLV' };
  const base = { kind: 'ok' as const, consumed: total, version: 2 as const, local: false, tlvs };
  if (af === V2_AF_INET || af === V2_AF_INET6) {
    const n = af === V2_AF_INET ? 4 : 16;
    const family = af === V2_AF_INET ? 4 : 6;
    const src = buf.slice(16, 16 + n);
    const dst = buf.slice(16 + n, 16 + 2 * n);
    const p = 16 + 2 * n;
    const sport = ((buf[p] ?? 0) << 8) | (buf[p + 1] ?? 0);
    const dport = ((buf[p + 2] ?? 0) << 8) | (buf[p + 3] ?? 0);
    return {
      ...base,
      source: { address: formatIp({ family, bytes: src }), port: sport },
      destination: { address: formatIp({ family, bytes: dst }), port: dport },
    };
  }
  return base;
}

/**
 * Parses a PROXY protocol v1 or v2 header at the start of `buf`. Never throws; bounded to
 * MAX_PROXY_V1_BYTES / MAX_PROXY_V2_BYTES however many bytes are offered.
 */
export function parseProxyHeader(buf: Uint8Array): ProxyParseResult {
  if (buf.length === 0) return { kind: 'need-more' };
  if (buf[0] === V2_SIGNATURE[0]) {
    if (!startsWithPartial(buf, V2_SIGNATURE)) return { kind: 'error', reason: 'not a PROXY header' };
    return buf.length < V2_SIGNATURE.length ? { kind: 'need-more' } : parseV2(buf);
  }
  if (!startsWithPartial(buf, V1_PREFIX)) return { kind: 'error', reason: 'not a PROXY header' };
  return parseV1(buf);
}

/** Connection endpoints to encode in a header; null encodes "UNKNOWN" (v1) or LOCAL (v2). */
export type ProxyEndpoints = { source: ProxyEndpoint; destination: ProxyEndpoint } | null;

function familyOf(e: { source: ProxyEndpoint; destination: ProxyEndpoint }): { family: 4 | 6; src: Uint8Array; dst: Uint8Array } {
  const s4 = parseIpv4(e.source.address);
  const d4 = parseIpv4(e.destination.address);
  if (s4 && d4) return { family: 4, src: s4, dst: d4 };
  const s6 = parseIpv6(e.source.address);
  const d6 = parseIpv6(e.destination.address);
  if (s6 && d6) return { family: 6, src: s6, dst: d6 };
  throw new InvalidInput('PROXY endpoints must be two addresses of one family');
}

/** Encodes a v1 header (for a proxying client, and for tests). */
export function encodeProxyV1(endpoints: ProxyEndpoints): Uint8Array {
  if (!endpoints) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const { family, src, dst } = familyOf(endpoints);
  const line = `PROXY TCP${family} ${formatIp({ family, bytes: src })} ${formatIp({ family, bytes: dst })} ${endpoints.source.port} ${endpoints.destination.port}\r\n`;
  return Buffer.from(line, 'latin1');
}

/** Encodes a v2 header with optional TLVs (for a proxying client, and for tests). */
export function encodeProxyV2(endpoints: ProxyEndpoints, tlvs: readonly ProxyTlv[] = []): Uint8Array {
  const tlvBytes = tlvs.map((t) => {
    const b = Buffer.alloc(3 + t.value.length);
    b[0] = t.type;
    b.writeUInt16BE(t.value.length, 1);
    b.set(t.value, 3);
    return b;
  });
  let addr: Buffer = Buffer.alloc(0);
  let cmd = V2_CMD_LOCAL;
  let fam = 0;
  if (endpoints) {
    const { family, src, dst } = familyOf(endpoints);
    cmd = V2_CMD_PROXY;
    fam = ((family === 4 ? V2_AF_INET : V2_AF_INET6) << 4) | V2_PROTO_STREAM;
    addr = Buffer.alloc(2 * src.length + 4);
    addr.set(src, 0);
    addr.set(dst, src.length);
    addr.writeUInt16BE(endpoints.source.port, 2 * src.length);
    addr.writeUInt16BE(endpoints.destination.port, 2 * src.length + 2);
  }
  const body = Buffer.concat([addr, ...tlvBytes]);
  const head = Buffer.alloc(16);
  head.set(V2_SIGNATURE, 0);
  head[12] = 0x20 | cmd;
  head[13] = fam;
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}

/** Options of `acceptProxyProtocol`. */
export interface AcceptProxyOptions {
  /** Networks allowed to send a PROXY header; others are refused before any byte is read. */
  trustedCidrs?: readonly string[];
  /** Push bytes that followed the header back onto the socket (default true). */
  pushBack?: boolean;
}

/** The real peer of a proxied connection. */
export interface AcceptedProxy {
  remoteAddress: string;
  remotePort: number;
  localAddress?: string;
  localPort?: number;
  /** Bytes read past the header; empty when they were pushed back onto the socket. */
  bufferedData: Buffer;
}

/**
 * Reads the PROXY header from a freshly accepted socket within `timeoutMs`. On success the
 * socket is left paused with any following bytes unshifted, so the protocol handler reads the
 * stream from its true start. On failure (untrusted peer, bad header, timeout, early close)
 * the socket is destroyed and the promise rejects with Forbidden, InvalidInput or Unavailable.
 */
export function acceptProxyProtocol(socket: net.Socket, timeoutMs: number, options: AcceptProxyOptions = {}): Promise<AcceptedProxy> {
  return new Promise<AcceptedProxy>((resolve, reject) => {
    const peer = socket.remoteAddress ?? '';
    if (options.trustedCidrs && !isInCidrList(peer, options.trustedCidrs)) {
      socket.destroy();
      reject(new Forbidden('PROXY header from an untrusted peer'));
      return;
    }
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const cleanup = (): void => {
      done = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (err: Error): void => {
      if (done) return;
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onEnd = (): void => fail(new Unavailable('Connection closed before the PROXY header'));
    const onError = (err: Error): void => fail(new Unavailable('Connection failed before the PROXY header', { cause: err }));
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!done && (chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const r = parseProxyHeader(buf);
        if (r.kind === 'need-more') continue;
        if (r.kind === 'error') {
          fail(new InvalidInput(`Bad PROXY header: ${r.reason}`));
          return;
        }
        cleanup();
        const rest = buf.subarray(r.consumed);
        const pushBack = options.pushBack ?? true;
        if (pushBack && rest.length > 0) socket.unshift(rest);
        resolve({
          remoteAddress: r.source?.address ?? peer,
          remotePort: r.source?.port ?? socket.remotePort ?? 0,
          ...(r.destination ? { localAddress: r.destination.address, localPort: r.destination.port } : {}),
          bufferedData: pushBack ? Buffer.alloc(0) : Buffer.from(rest),
        });
        return;
      }
    };
    const timer = setTimeout(() => fail(new Unavailable('Timed out waiting for the PROXY header')), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}
