/**
 * The configuration schema as data: every section and key of bulwark.toml with its type,
 * default, allowed values and a one-line description. Validation (load.ts), defaults and the
 * commented template (template.ts) are all read from here, so a key added here is validated,
 * defaulted and documented at once. The typed `Config` is checked against this table by the
 * compiler (see the assertion at the bottom).
 */

/** Names of the network listeners, in the order they are documented. */
export const LISTENER_NAMES = [
  'smtp',
  'submission',
  'submissions',
  'lmtp',
  'imap',
  'imaps',
  'pop3',
  'pop3s',
  'http',
  'https',
  'managesieve',
  'admin',
] as const;

/** One of the network listeners Bulwark can open. */
export type ListenerName = (typeof LISTENER_NAMES)[number];

/** A parsed listen address; `host` is "" for all addresses, an IP literal, or "localhost". */
export interface ListenAddress {
  /** IPv4 or IPv6 literal (IPv6 without brackets), "localhost", or "" for every address. */
  readonly host: string;
  /** TCP port, 1-65535. */
  readonly port: number;
}

/** What kind of items a list key holds. */
export type ListItemKind = 'listener' | 'cidr' | 'hostOrCidr';

/** The type of a key, which decides how it is validated and what it becomes in `Config`. */
export type KeySpec =
  | { readonly type: 'hostname'; readonly default: string }
  | { readonly type: 'listen'; readonly default: string }
  | { readonly type: 'bool'; readonly default: boolean; readonly onlyFalse?: true }
  | { readonly type: 'int'; readonly default: number; readonly min: number; readonly max: number }
  | { readonly type: 'enum'; readonly default: string; readonly values: readonly string[] }
  | { readonly type: 'path'; readonly default: string }
  | { readonly type: 'postgresUrl'; readonly default: string }
  | { readonly type: 'pgSchema'; readonly default: string }
  | { readonly type: 'domains'; readonly default: readonly string[] }
  | { readonly type: 'list'; readonly default: readonly string[]; readonly item: ListItemKind }
  | {
      readonly type: 'tables';
      readonly default: readonly never[];
      readonly fields: Readonly<Record<string, KeySpec & KeyDocs>>;
      /** A filled-in entry shown (commented) in the template. */
      readonly example: Readonly<Record<string, string | readonly string[]>>;
    };

/** Documentation and environment binding shared by every key. */
export interface KeyDocs {
  /** One line for the template and the reference. */
  readonly doc: string;
  /** Environment variable that overrides the file. */
  readonly env?: string;
  /** The value may hold a password: error messages hide it. */
  readonly isSecret?: true;
}

/** A `[section]` of bulwark.toml. */
export interface SectionSpec {
  readonly doc: string;
  readonly keys: Readonly<Record<string, KeySpec & KeyDocs>>;
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Every section and key of bulwark.toml, in template order. */
export const SCHEMA = {
  server: {
    doc: 'Identity of this server.',
    keys: {
      hostname: {
        type: 'hostname',
        default: 'localhost',
        env: 'BULWARK_HOSTNAME',
        doc: 'Fully qualified name this server announces in SMTP greetings, certificates and client autoconfiguration.',
      },
    },
  },
  listeners: {
    doc: 'Where each protocol listens, as "host:port" (IPv6 as "[::1]:993", ":993" for every address); "" turns a listener off.',
    keys: {
      smtp: {
        type: 'listen',
        default: '0.0.0.0:25',
        env: 'BULWARK_SMTP_LISTEN',
        doc: 'SMTP for mail from other servers (RFC 5321).',
      },
      submission: {
        type: 'listen',
        default: ':587',
        env: 'BULWARK_SUBMISSION_LISTEN',
        doc: 'Message submission from mail clients, STARTTLS (RFC 6409).',
      },
      submissions: {
        type: 'listen',
        default: ':465',
        env: 'BULWARK_SUBMISSIONS_LISTEN',
        doc: 'Message submission over implicit TLS (RFC 8314).',
      },
      lmtp: {
        type: 'listen',
        default: '',
        env: 'BULWARK_LMTP_LISTEN',
        doc: 'LMTP for local delivery from another MTA (RFC 2033); off unless set.',
      },
      imap: {
        type: 'listen',
        default: ':143',
        env: 'BULWARK_IMAP_LISTEN',
        doc: 'IMAP with STARTTLS (RFC 9051).',
      },
      imaps: {
        type: 'listen',
        default: ':993',
        env: 'BULWARK_IMAPS_LISTEN',
        doc: 'IMAP over implicit TLS (RFC 8314).',
      },
      pop3: {
        type: 'listen',
        default: ':110',
        env: 'BULWARK_POP3_LISTEN',
        doc: 'POP3 with STLS (RFC 1939, RFC 2595).',
      },
      pop3s: {
        type: 'listen',
        default: ':995',
        env: 'BULWARK_POP3S_LISTEN',
        doc: 'POP3 over implicit TLS (RFC 8314).',
      },
      http: {
        type: 'listen',
        default: ':80',
        env: 'BULWARK_HTTP_LISTEN',
        doc: 'Plain HTTP: redirects to HTTPS, ACME challenges, autoconfig.',
      },
      https: {
        type: 'listen',
        default: ':443',
        env: 'BULWARK_HTTPS_LISTEN',
        doc: 'HTTPS: web app, JMAP, CalDAV, CardDAV.',
      },
      managesieve: {
        type: 'listen',
        default: ':4190',
        env: 'BULWARK_MANAGESIEVE_LISTEN',
        doc: 'ManageSieve for filter rules (RFC 5804).',
      },
      admin: {
        type: 'listen',
        default: '127.0.0.1:8081',
        env: 'BULWARK_ADMIN_LISTEN',
        doc: 'Admin API and metrics; a non-loopback address also needs admin.allow_public = true.',
      },
      proxy_protocol: {
        type: 'list',
        item: 'listener',
        default: [],
        doc: 'Listeners that expect a PROXY protocol header (v1 or v2) from a load balancer.',
      },
      proxy_trusted: {
        type: 'list',
        item: 'cidr',
        default: [],
        doc: 'Networks allowed to send a PROXY header; connections from elsewhere are refused on those listeners.',
      },
    },
  },
  admin: {
    doc: 'The admin surface.',
    keys: {
      allow_public: {
        type: 'bool',
        default: false,
        doc: 'Allow listeners.admin on an address other than loopback.',
      },
    },
  },
  store: {
    doc: 'Where account data (metadata, change log) is kept.',
    keys: {
      type: {
        type: 'enum',
        values: ['sqlite', 'postgres'],
        default: 'sqlite',
        env: 'BULWARK_STORE_TYPE',
        doc: 'Embedded SQLite in the data directory, or PostgreSQL for a cluster.',
      },
      url: {
        type: 'postgresUrl',
        default: '',
        env: 'BULWARK_STORE_URL',
        isSecret: true,
        doc: 'PostgreSQL connection string; required when type = "postgres".',
      },
      schema: {
        type: 'pgSchema',
        default: '',
        env: 'BULWARK_STORE_SCHEMA',
        doc: 'PostgreSQL schema holding this installation\'s tables (and naming its change channel); "" = the search_path\'s, usually public. Every node of one installation uses the same.',
      },
    },
  },
  blobs: {
    doc: 'Where raw messages and attachments are kept.',
    keys: {
      type: {
        type: 'enum',
        values: ['fs', 'postgres'],
        default: 'fs',
        doc: 'Files in the data directory, or PostgreSQL (needs store.type = "postgres").',
      },
    },
  },
  bus: {
    doc: 'How changes are announced to waiting sessions (IDLE, push) and other nodes.',
    keys: {
      type: {
        type: 'enum',
        values: ['local', 'postgres'],
        default: 'local',
        doc: 'In-process, or PostgreSQL LISTEN/NOTIFY for a cluster (needs store.type = "postgres").',
      },
    },
  },
  tls: {
    doc: 'Certificates. Relative paths are relative to the data directory.',
    keys: {
      cert: {
        type: 'path',
        default: 'tls/cert.pem',
        doc: 'Default certificate chain (PEM), used when no per-domain certificate matches.',
      },
      key: {
        type: 'path',
        default: 'tls/key.pem',
        doc: 'Private key (PEM) of the default certificate.',
      },
      acme: {
        type: 'bool',
        onlyFalse: true,
        default: false,
        doc: 'Obtain certificates with ACME (RFC 8555). Not yet implemented: must be false.',
      },
      certificates: {
        type: 'tables',
        default: [],
        doc: 'Per-domain certificates chosen by the name the client asks for (SNI); one [[tls.certificates]] block each.',
        fields: {
          domains: {
            type: 'domains',
            default: [],
            doc: 'Names this certificate serves; "*.example.com" matches one label.',
          },
          cert: { type: 'path', default: '', doc: 'Certificate chain (PEM).' },
          key: { type: 'path', default: '', doc: 'Private key (PEM).' },
        },
        example: {
          domains: ['example.org', '*.example.org'],
          cert: 'tls/example.org/cert.pem',
          key: 'tls/example.org/key.pem',
        },
      },
    },
  },
  log: {
    doc: 'Structured logging to standard output.',
    keys: {
      level: {
        type: 'enum',
        values: ['trace', 'debug', 'info', 'warn', 'error'],
        default: 'info',
        env: 'BULWARK_LOG_LEVEL',
        doc: 'Least severe level written.',
      },
      format: {
        type: 'enum',
        values: ['json', 'pretty'],
        default: 'json',
        env: 'BULWARK_LOG_FORMAT',
        doc: 'One JSON object per line, or human-readable lines for a terminal.',
      },
    },
  },
  auth: {
    doc: 'Login throttling and connection security.',
    keys: {
      max_failures_per_ip: {
        type: 'int',
        default: 100,
        min: 1,
        max: 1_000_000,
        doc: 'Failed logins from one IP address within the window before it is refused.',
      },
      window_minutes: {
        type: 'int',
        default: 15,
        min: 1,
        max: 10_080,
        doc: 'Length of the window failed logins are counted in, in minutes.',
      },
      base_delay_ms: {
        type: 'int',
        default: 500,
        min: 0,
        max: 60_000,
        doc: 'Delay after the first failed login, doubled on each further failure, in milliseconds.',
      },
      max_delay_ms: {
        type: 'int',
        default: 30_000,
        min: 0,
        max: 600_000,
        doc: 'Upper bound of that delay, in milliseconds; at least base_delay_ms.',
      },
      loopback_is_secure: {
        type: 'bool',
        default: true,
        doc: 'IMAP and POP3 treat connections from loopback as secure and allow plaintext login on them.',
      },
    },
  },
  retention: {
    doc: 'How long deleted data is kept and how often it is collected.',
    keys: {
      deleted_days: {
        type: 'int',
        default: 30,
        min: 0,
        max: 3650,
        doc: 'Soft-deleted accounts and messages are kept this many days before removal.',
      },
      gc_grace_minutes: {
        type: 'int',
        default: 60,
        min: 1,
        max: 10_080,
        doc: 'Unreferenced blobs younger than this are spared (in-flight deliveries, backups), in minutes.',
      },
      gc_interval_minutes: {
        type: 'int',
        default: 60,
        min: 1,
        max: 10_080,
        doc: 'Minutes between runs of the collector.',
      },
    },
  },
  limits: {
    doc: 'Size limits.',
    keys: {
      max_message_bytes: {
        type: 'int',
        default: 50 * MiB,
        min: 1024,
        max: GiB,
        doc: 'Largest message accepted by SMTP, APPEND and JMAP upload, in bytes (default 50 MiB).',
      },
      default_quota_bytes: {
        type: 'int',
        default: 10 * GiB,
        min: 0,
        max: Number.MAX_SAFE_INTEGER,
        doc: 'Quota of new accounts in bytes (default 10 GiB); 0 means unlimited.',
      },
    },
  },
  egress: {
    doc: 'Outbound connections (DESIGN rule 2): private, loopback and link-local addresses are refused unless listed here.',
    keys: {
      allow: {
        type: 'list',
        item: 'hostOrCidr',
        default: [],
        doc: 'Host names, IP addresses or CIDR networks the server may connect to despite being private, e.g. a smart host on the LAN.',
      },
    },
  },
  imap: {
    doc: 'IMAP sessions (143 and 993).',
    keys: {
      idle_timeout_seconds: {
        type: 'int',
        default: 1800,
        min: 1800,
        max: 86_400,
        doc: 'Seconds without a command (IDLE included) before the session is closed; RFC 9051 §5.4 asks for at least 30 minutes.',
      },
    },
  },
  pop3: {
    doc: 'POP3 sessions (110 and 995).',
    keys: {
      idle_timeout_seconds: {
        type: 'int',
        default: 600,
        min: 600,
        max: 86_400,
        doc: 'Seconds without a command before the session is closed (undeleted messages stay); RFC 1939 §3 asks for at least 10 minutes.',
      },
    },
  },
  smtp: {
    doc: 'SMTP in (MX, submission, LMTP) and out (the queue). See docs/smtp.md.',
    keys: {
      greeting_delay_ms: {
        type: 'int',
        default: 1000,
        min: 0,
        max: 30_000,
        doc: 'The MX listener waits this long before its greeting; clients that speak first are refused (early talkers).',
      },
      idle_timeout_seconds: {
        type: 'int',
        default: 300,
        min: 1,
        max: 3600,
        doc: 'Seconds without a byte from the client before the session is closed (RFC 5321 §4.5.3.2.7).',
      },
      session_timeout_seconds: {
        type: 'int',
        default: 3600,
        min: 1,
        max: 86_400,
        doc: 'Longest a whole session may last, in seconds.',
      },
      max_recipients: {
        type: 'int',
        default: 100,
        min: 1,
        max: 100_000,
        doc: 'Recipients per message; more get 452 and are sent later by the client (RFC 5321 §4.5.3.1.10).',
      },
      max_connections_per_ip: {
        type: 'int',
        default: 20,
        min: 1,
        max: 100_000,
        doc: 'Concurrent SMTP connections from one client address.',
      },
      max_header_bytes: {
        type: 'int',
        default: 1024 * 1024,
        min: 1024,
        max: 64 * MiB,
        doc: 'Largest message header accepted, in bytes.',
      },
      max_messages_per_hour: {
        type: 'int',
        default: 500,
        min: 0,
        max: 10_000_000,
        doc: 'Messages an account may submit per hour; 0 means unlimited.',
      },
      check_authentication: {
        type: 'bool',
        default: true,
        doc: 'Check SPF, DKIM, DMARC and ARC of inbound mail and apply DMARC policies (reject, quarantine to Junk).',
      },
      dns_servers: {
        type: 'list',
        item: 'hostOrCidr',
        default: [],
        doc: 'DNS servers (IP addresses) for MX, SPF, DKIM, DMARC and MTA-STS lookups; empty uses the system resolver.',
      },
      relay: {
        type: 'list',
        item: 'hostOrCidr',
        default: [],
        doc: 'Smart host all outbound mail goes through (first entry); empty delivers directly to MX hosts. Add it to egress.allow if it is private.',
      },
      relay_port: {
        type: 'int',
        default: 587,
        min: 1,
        max: 65_535,
        doc: 'Port of the smart host.',
      },
      relay_auth_file: {
        type: 'path',
        default: 'relay-auth.txt',
        doc: 'File holding "username:password" for the smart host (AUTH PLAIN over required STARTTLS); not used when it does not exist.',
      },
      queue_retry_base_seconds: {
        type: 'int',
        default: 300,
        min: 1,
        max: 86_400,
        doc: 'First retry delay of a deferred message; it doubles after each attempt (RFC 5321 §4.5.4.1).',
      },
      queue_retry_max_seconds: {
        type: 'int',
        default: 14_400,
        min: 1,
        max: 86_400,
        doc: 'Longest delay between two attempts.',
      },
      queue_max_age_hours: {
        type: 'int',
        default: 120,
        min: 1,
        max: 720,
        doc: 'A message not delivered after this many hours is returned to its sender (RFC 5321 §4.5.4.1 suggests 4-5 days).',
      },
      queue_delay_notice_hours: {
        type: 'int',
        default: 4,
        min: 1,
        max: 720,
        doc: 'Hours after which the sender gets one "still trying" notice (RFC 3464 action delayed).',
      },
      queue_remote_port: {
        type: 'int',
        default: 25,
        min: 1,
        max: 65_535,
        doc: 'Port of remote MX hosts. Change only for tests.',
      },
      mta_sts: {
        type: 'bool',
        default: true,
        doc: 'Honour MTA-STS policies of recipient domains (RFC 8461).',
      },
      tls_ca_file: {
        type: 'path',
        default: 'outbound-ca.pem',
        doc: 'Extra CA certificates (PEM) trusted, besides the system roots, when verifying outbound TLS: MX hosts under MTA-STS, the smart host, MTA-STS policy fetches. Not used when it does not exist.',
      },
    },
  },
} as const satisfies Readonly<Record<string, SectionSpec>>;

/** The schema's type, for code that walks it. */
export type Schema = typeof SCHEMA;

/** The validated configuration, read once at startup and passed down. Docs: SCHEMA. */
export interface Config {
  readonly server: { readonly hostname: string };
  readonly listeners: {
    readonly [N in ListenerName]: ListenAddress | null;
  } & {
    readonly proxyProtocol: readonly ListenerName[];
    readonly proxyTrusted: readonly string[];
  };
  readonly admin: { readonly allowPublic: boolean };
  readonly store: { readonly type: 'sqlite' | 'postgres'; readonly url: string; readonly schema: string };
  readonly blobs: { readonly type: 'fs' | 'postgres' };
  readonly bus: { readonly type: 'local' | 'postgres' };
  readonly tls: {
    /** Absolute path. */
    readonly cert: string;
    /** Absolute path. */
    readonly key: string;
    readonly acme: boolean;
    readonly certificates: readonly TlsCertificateConfig[];
  };
  readonly log: {
    readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
    readonly format: 'json' | 'pretty';
  };
  readonly auth: {
    readonly maxFailuresPerIp: number;
    readonly windowMinutes: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
    readonly loopbackIsSecure: boolean;
  };
  readonly retention: {
    readonly deletedDays: number;
    readonly gcGraceMinutes: number;
    readonly gcIntervalMinutes: number;
  };
  readonly limits: { readonly maxMessageBytes: number; readonly defaultQuotaBytes: number };
  readonly egress: { readonly allow: readonly string[] };
  readonly imap: { readonly idleTimeoutSeconds: number };
  readonly pop3: { readonly idleTimeoutSeconds: number };
  readonly smtp: {
    readonly greetingDelayMs: number;
    readonly idleTimeoutSeconds: number;
    readonly sessionTimeoutSeconds: number;
    readonly maxRecipients: number;
    readonly maxConnectionsPerIp: number;
    readonly maxHeaderBytes: number;
    readonly maxMessagesPerHour: number;
    readonly checkAuthentication: boolean;
    readonly dnsServers: readonly string[];
    readonly relay: readonly string[];
    readonly relayPort: number;
    /** Absolute path. */
    readonly relayAuthFile: string;
    readonly queueRetryBaseSeconds: number;
    readonly queueRetryMaxSeconds: number;
    readonly queueMaxAgeHours: number;
    readonly queueDelayNoticeHours: number;
    readonly queueRemotePort: number;
    readonly mtaSts: boolean;
    /** Absolute path. */
    readonly tlsCaFile: string;
  };
}

/** One `[[tls.certificates]]` entry: lower-cased names and absolute paths. */
export interface TlsCertificateConfig {
  readonly domains: readonly string[];
  readonly cert: string;
  readonly key: string;
}

// ---- Compile-time proof that Config is exactly what SCHEMA describes ----

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type ValueOf<K> = K extends { type: 'hostname' | 'path' | 'postgresUrl' | 'pgSchema' }
  ? string
  : K extends { type: 'listen' }
    ? ListenAddress | null
    : K extends { type: 'bool' }
      ? boolean
      : K extends { type: 'int' }
        ? number
        : K extends { type: 'enum'; values: readonly (infer V)[] }
          ? V
          : K extends { type: 'domains' }
            ? readonly string[]
            : K extends { type: 'list'; item: 'listener' }
              ? readonly ListenerName[]
              : K extends { type: 'list' }
                ? readonly string[]
                : K extends { type: 'tables'; fields: infer F }
                  ? readonly SectionValue<F>[]
                  : never;

type SectionValue<Keys> = { readonly [N in keyof Keys & string as CamelCase<N>]: ValueOf<Keys[N]> };

type SchemaConfig = {
  readonly [S in keyof Schema & string as CamelCase<S>]: SectionValue<Schema[S]['keys']>;
};

type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Fails to compile when `Config` and `SCHEMA` disagree on a key or a type. */
const configMatchesSchema: MutuallyAssignable<Config, SchemaConfig> = true;
void configMatchesSchema;
