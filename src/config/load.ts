/**
 * Reads `<dataDir>/bulwark.toml`, applies environment overrides and validates every value
 * against SCHEMA. Invariant: the result is either a complete, valid Config or a ConfigError
 * naming the first problem; nothing else escapes.
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError } from './errors.js';
import {
  LISTENER_NAMES,
  SCHEMA,
  type Config,
  type KeyDocs,
  type KeySpec,
  type ListenAddress,
  type ListenerName,
} from './schema.js';
import { checkValue, describeAllowed, isLoopbackHost, nearest, redactSecret } from './values.js';

/** The configuration file's name inside the data directory. */
export const CONFIG_FILE_NAME = 'bulwark.toml';

/** What `file` says for values that came from environment variables. */
const ENVIRONMENT = 'environment';

type Table = Record<string, unknown>;
type Spec = KeySpec & KeyDocs;

/** Where one key's value came from, so later checks can name the right source. */
interface Source {
  readonly file: string;
  readonly envVar?: string;
  /** The value as written, for messages. */
  readonly raw: unknown;
}

interface LoadContext {
  readonly file: string;
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly sources: Map<string, Source>;
}

/** Loads and validates the configuration of `dataDir`; a missing file means all defaults. */
export function loadConfig(dataDir: string, env: NodeJS.ProcessEnv): Config {
  const file = join(dataDir, CONFIG_FILE_NAME);
  return parseConfig(readConfigText(file) ?? '', { dataDir, env, file });
}

/** Validates configuration text as if it were `<dataDir>/bulwark.toml`. */
export function parseConfig(
  text: string,
  options: { dataDir: string; env: NodeJS.ProcessEnv; file?: string },
): Config {
  const file = options.file ?? join(options.dataDir, CONFIG_FILE_NAME);
  const doc = parseTomlText(text, file);
  const ctx: LoadContext = { file, dataDir: options.dataDir, env: options.env, sources: new Map() };
  rejectUnknownKeys(doc, file);
  const config: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, section] of Object.entries(SCHEMA)) {
    const table = (doc[sectionName] ?? {}) as Table;
    const values: Record<string, unknown> = {};
    for (const [keyName, spec] of Object.entries(section.keys) as [string, Spec][]) {
      values[camelCase(keyName)] = readKey(ctx, `${sectionName}.${keyName}`, spec, table[keyName]);
    }
    config[camelCase(sectionName)] = values;
  }
  // Safe: the loop above builds exactly the shape schema.ts proves Config to have.
  const result = config as unknown as Config;
  checkRelations(result, ctx);
  return result;
}

function readConfigText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(
      {
        file,
        key: '',
        value: undefined,
        allowed: 'a readable file',
        reason: `cannot read the file (${code ?? 'error'})`,
      },
      { cause: err },
    );
  }
}

function parseTomlText(text: string, file: string): Table {
  try {
    // A leading byte-order mark is common from Windows editors and harmless.
    return parseToml(text.replace(/^\uFEFF/, ''), { unsafeKeyBehaviour: 'throw' }) as Table;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const detail = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    throw new ConfigError(
      {
        file,
        key: '',
        value: undefined,
        allowed: 'valid TOML',
        reason: `invalid TOML at line ${err.line}, column ${err.column}: ${detail}`,
      },
      { cause: err },
    );
  }
}

// ---- Unknown keys ----

const SECTION_NAMES = Object.keys(SCHEMA);
const FULL_KEYS = Object.entries(SCHEMA).flatMap(([s, section]) =>
  Object.keys(section.keys).map((k) => `${s}.${k}`),
);

function rejectUnknownKeys(doc: Table, file: string): void {
  for (const [name, value] of Object.entries(doc)) {
    const section = (SCHEMA as Record<string, { keys: Record<string, Spec> }>)[name];
    if (section === undefined) {
      // A table is a misspelt [section]; a bare value is a key written above every section.
      throw isPlainTable(value)
        ? unknown({
            file,
            key: name,
            value,
            allowed: `a section: ${SECTION_NAMES.join(', ')}`,
            what: 'section',
            suggestion: nearest(name, SECTION_NAMES),
          })
        : unknown({ file, key: name, value, allowed: 'a key inside a [section]', suggestion: suggestKey(name) });
    }
    if (!isPlainTable(value)) {
      throw new ConfigError({ file, key: name, value, allowed: `a table [${name}]` });
    }
    for (const [keyName, keyValue] of Object.entries(value)) {
      if (Object.hasOwn(section.keys, keyName)) continue;
      throw unknown({
        file,
        key: `${name}.${keyName}`,
        value: keyValue,
        allowed: `a key of [${name}]: ${Object.keys(section.keys).join(', ')}`,
        suggestion: suggestKey(`${name}.${keyName}`),
      });
    }
  }
}

/** The known key a misspelt or misplaced one most likely meant. */
function suggestKey(dotted: string): string | undefined {
  const leaf = dotted.slice(dotted.lastIndexOf('.') + 1);
  // Right name in the wrong section ([server] level = …) beats a near spelling.
  const sameLeaf = FULL_KEYS.filter((k) => k.endsWith(`.${leaf}`));
  if (sameLeaf.length === 1) return sameLeaf[0];
  return nearest(dotted, FULL_KEYS);
}

function unknown(d: {
  file: string;
  key: string;
  value: unknown;
  allowed: string;
  suggestion: string | undefined;
  what?: 'key' | 'section';
}): ConfigError {
  const what = d.what ?? 'key';
  const shown = what === 'section' ? `[${d.suggestion}]` : d.suggestion;
  const hint = d.suggestion === undefined ? '' : `; did you mean ${shown}?`;
  return new ConfigError({ file: d.file, key: d.key, value: d.value, allowed: d.allowed, reason: `unknown ${what}${hint}` });
}

function isPlainTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

// ---- Values ----

function readKey(ctx: LoadContext, key: string, spec: Spec, fileValue: unknown): unknown {
  const envVar = spec.env;
  const envValue = envVar !== undefined ? ctx.env[envVar] : undefined;
  const source: Source =
    envVar !== undefined && envValue !== undefined
      ? { file: ENVIRONMENT, envVar, raw: envValue }
      : { file: ctx.file, raw: fileValue };
  ctx.sources.set(key, source);
  const raw = source.raw === undefined ? spec.default : source.raw;

  if (spec.type === 'tables') return readTables(ctx, key, spec, raw);
  const checked = checkValue(spec, raw, ctx.dataDir);
  if (checked.ok) return checked.value;
  const shown = spec.isSecret === true ? redactSecret(raw) : raw;
  throw new ConfigError({
    file: source.file,
    key: checked.at !== undefined ? `${key}[${checked.at.index}]` : key,
    value: checked.at !== undefined ? checked.at.value : shown,
    allowed: describeAllowed(spec) + (checked.hint ?? ''),
    ...(source.envVar !== undefined ? { envVar: source.envVar } : {}),
  });
}

function readTables(
  ctx: LoadContext,
  key: string,
  spec: Extract<Spec, { type: 'tables' }>,
  raw: unknown,
): unknown[] {
  if (!Array.isArray(raw) || !raw.every(isPlainTable)) {
    throw new ConfigError({ file: ctx.file, key, value: raw, allowed: describeAllowed(spec) });
  }
  const fieldNames = Object.keys(spec.fields);
  return raw.map((entry, index) => {
    const entryKey = `${key}[${index}]`;
    for (const [name, value] of Object.entries(entry)) {
      if (Object.hasOwn(spec.fields, name)) continue;
      const near = nearest(name, fieldNames);
      throw unknown({
        file: ctx.file,
        key: `${entryKey}.${name}`,
        value,
        allowed: `a key of ${key}: ${fieldNames.join(', ')}`,
        suggestion: near === undefined ? undefined : `${entryKey}.${near}`,
      });
    }
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(spec.fields) as [string, Spec][]) {
      const fieldKey = `${entryKey}.${name}`;
      const value = entry[name];
      if (field.type === 'tables') throw new Error('nested tables are not supported by the schema');
      if (value === undefined) {
        const allowed = describeAllowed(field);
        throw new ConfigError({ file: ctx.file, key: fieldKey, value: undefined, allowed });
      }
      const checked = checkValue(field, value, ctx.dataDir);
      if (!checked.ok) {
        throw new ConfigError({
          file: ctx.file,
          key: checked.at !== undefined ? `${fieldKey}[${checked.at.index}]` : fieldKey,
          value: checked.at !== undefined ? checked.at.value : value,
          allowed: describeAllowed(field) + (checked.hint ?? ''),
        });
      }
      out[camelCase(name)] = checked.value;
    }
    return out;
  });
}

// ---- Rules that span keys ----

function checkRelations(config: Config, ctx: LoadContext): void {
  const fail = (key: string, value: unknown, allowed: string, reason?: string): never => {
    const source = ctx.sources.get(key.replace(/\[.*$/, '')) ?? { file: ctx.file, raw: value };
    throw new ConfigError({
      file: source.file,
      key,
      value,
      allowed,
      ...(source.envVar !== undefined ? { envVar: source.envVar } : {}),
      ...(reason !== undefined ? { reason } : {}),
    });
  };
  const rawOf = (key: string): unknown => ctx.sources.get(key)?.raw;

  if (config.store.type === 'postgres' && config.store.url === '') {
    const allowed = 'a connection string such as "postgres://user:password@host:5432/bulwark"';
    fail('store.url', undefined, allowed, `required when store.type = "postgres"; expected ${allowed}`);
  }
  for (const port of ['blobs', 'bus'] as const) {
    if (config[port].type === 'postgres' && config.store.type !== 'postgres') {
      const fallback = SCHEMA[port].keys.type.default;
      fail(`${port}.type`, 'postgres', `"${fallback}", or set store.type = "postgres" as well`);
    }
  }

  // DESIGN rule 5: no admin surface on a public address unless the admin says so.
  const admin = config.listeners.admin;
  if (admin !== null && !isLoopbackHost(admin.host) && !config.admin.allowPublic) {
    fail(
      'listeners.admin',
      rawOf('listeners.admin') ?? SCHEMA.listeners.keys.admin.default,
      'a loopback address such as "127.0.0.1:8081" or "[::1]:8081", or set admin.allow_public = true',
    );
  }

  const seen: { name: ListenerName; address: ListenAddress }[] = [];
  for (const name of LISTENER_NAMES) {
    const address = config.listeners[name];
    if (address === null) continue;
    const clash = seen.find((s) => sameSocket(s.address, address));
    if (clash !== undefined) {
      fail(
        `listeners.${name}`,
        rawOf(`listeners.${name}`) ?? SCHEMA.listeners.keys[name].default,
        `an address no other listener uses (listeners.${clash.name} has it)`,
      );
    }
    seen.push({ name, address });
  }

  if (config.listeners.proxyProtocol.length > 0 && config.listeners.proxyTrusted.length === 0) {
    fail(
      'listeners.proxy_trusted',
      [],
      'at least one IP address or CIDR network when listeners.proxy_protocol is set',
    );
  }

  if (config.auth.maxDelayMs < config.auth.baseDelayMs) {
    const { max } = SCHEMA.auth.keys.max_delay_ms;
    const min = `${config.auth.baseDelayMs} (auth.base_delay_ms)`;
    fail('auth.max_delay_ms', config.auth.maxDelayMs, `an integer from ${min} to ${max}`);
  }

  const owners = new Map<string, number>();
  for (const [i, entry] of config.tls.certificates.entries()) {
    for (const [j, domain] of entry.domains.entries()) {
      const owner = owners.get(domain);
      if (owner !== undefined && owner !== i) {
        const allowed = `a name no other entry lists (tls.certificates[${owner}] has it)`;
        fail(`tls.certificates[${i}].domains[${j}]`, domain, allowed);
      }
      owners.set(domain, i);
    }
  }
}

/** Whether two listeners would fight over one socket. */
function sameSocket(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port !== b.port) return false;
  if (a.host === b.host) return true;
  // "" and "::" bind both families (dual-stack); "0.0.0.0" every IPv4 address.
  const covers = (wild: string, host: string): boolean =>
    wild === '' || wild === '::' || (wild === '0.0.0.0' && (isIPv4(host) || host === 'localhost'));
  return covers(a.host, b.host) || covers(b.host, a.host);
}

function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
