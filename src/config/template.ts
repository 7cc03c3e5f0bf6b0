/**
 * Writes a commented bulwark.toml from SCHEMA: every key with its description, allowed values
 * and environment variable. Keys the caller sets are written out; every other key appears
 * commented out with its default. Invariant: the text loads back (parseConfig) to the same
 * Config as the settings it was made from; renderConfigTemplate checks this before returning.
 */
import { stringify } from 'smol-toml';
import { ConfigError } from './errors.js';
import { CONFIG_FILE_NAME, parseConfig } from './load.js';
import { SCHEMA, type KeyDocs, type KeySpec, type ListenerName } from './schema.js';
import { describeAllowed, nearest } from './values.js';

/** A value as written in bulwark.toml. */
export type TomlSetting = string | number | boolean | readonly string[];

/** What `bulwark init` knows when it writes the first configuration. */
export interface ConfigTemplateOptions {
  /** server.hostname. */
  readonly hostname: string;
  /** Listener addresses to write, "" for off; the rest stay at their defaults. */
  readonly listeners?: Partial<Record<ListenerName, string>>;
  /** Further keys by their dotted name in the file, e.g. `{ "store.type": "postgres" }`. */
  readonly settings?: Readonly<Record<string, TomlSetting>>;
  /** `[[tls.certificates]]` entries to write. */
  readonly tlsCertificates?: readonly {
    readonly domains: readonly string[];
    readonly cert: string;
    readonly key: string;
  }[];
}

type Spec = KeySpec & KeyDocs;

const HEADER = `# Bulwark configuration.
#
# Every setting is listed below with what it does and what it accepts. Lines written as
# "# key = value" show the default and have no effect until the "# " is removed.
# Environment variables named below override this file. Relative paths are relative to the
# data directory, the folder holding this file.
`;

/** Renders a commented bulwark.toml; throws ConfigError if the given settings are invalid. */
export function renderConfigTemplate(opts: ConfigTemplateOptions): string {
  const set = collectSettings(opts);
  const out: string[] = [HEADER];
  for (const [sectionName, section] of Object.entries(SCHEMA)) {
    out.push(`# ${section.doc}`, `[${sectionName}]`, '');
    const keys = Object.entries(section.keys) as [string, Spec][];
    // [[tls.certificates]] blocks end the section's own keys, so they go last.
    for (const [keyName, spec] of keys.filter(([, s]) => s.type !== 'tables')) {
      out.push(...describeKey(spec));
      const dotted = `${sectionName}.${keyName}`;
      const value = set.get(dotted);
      out.push(value !== undefined ? `${keyName} = ${tomlValue(value)}` : `# ${keyName} = ${tomlValue(spec.default)}`, '');
    }
    for (const [keyName, spec] of keys) {
      if (spec.type !== 'tables') continue;
      out.push(...describeKey(spec));
      const header = `[[${sectionName}.${keyName}]]`;
      const entries = sectionName === 'tls' && keyName === 'certificates' ? (opts.tlsCertificates ?? []) : [];
      for (const entry of entries) {
        out.push(header);
        for (const field of Object.keys(spec.fields)) {
          out.push(`${field} = ${tomlValue((entry as Record<string, TomlSetting>)[field] ?? '')}`);
        }
        out.push('');
      }
      if (entries.length === 0) {
        out.push(`# ${header}`);
        for (const [field, value] of Object.entries(spec.example)) out.push(`#   ${field} = ${tomlValue(value)}`);
        out.push('');
      }
    }
  }
  const text = out.join('\n').replace(/\n+$/, '\n');
  // Never hand out a file that would not load; this throws the same ConfigError serve would.
  parseConfig(text, { dataDir: '/', env: {}, file: CONFIG_FILE_NAME });
  return text;
}

function describeKey(spec: Spec): string[] {
  const env = spec.env !== undefined ? ` Env: ${spec.env}.` : '';
  return [`# ${spec.doc}`, `# Allowed: ${describeAllowed(spec)}.${env}`];
}

/** The dotted keys to write uncommented, checked against the schema. */
function collectSettings(opts: ConfigTemplateOptions): Map<string, TomlSetting> {
  const set = new Map<string, TomlSetting>([['server.hostname', opts.hostname]]);
  for (const [name, value] of Object.entries(opts.listeners ?? {})) {
    if (value !== undefined) set.set(`listeners.${name}`, value);
  }
  const known = Object.entries(SCHEMA).flatMap(([s, section]) =>
    Object.entries(section.keys as Record<string, Spec>)
      .filter(([, spec]) => spec.type !== 'tables')
      .map(([k]) => `${s}.${k}`),
  );
  for (const [key, value] of Object.entries({ ...opts.settings })) {
    if (!known.includes(key)) {
      const near = nearest(key, known);
      throw new ConfigError({
        file: CONFIG_FILE_NAME,
        key,
        value,
        allowed: 'a key of the schema',
        reason: `unknown key${near !== undefined ? `; did you mean ${near}?` : ''}`,
      });
    }
    set.set(key, value);
  }
  return set;
}

/** One value in TOML syntax, escaped by the TOML library rather than by hand. */
function tomlValue(value: TomlSetting): string {
  return stringify({ v: value }).trim().replace(/^v = /, '');
}
