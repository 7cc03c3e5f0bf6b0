/**
 * The one error configuration loading throws. Its message is a single line fit for an admin:
 * where the value came from, the key, the value and what is allowed.
 */

/** Fields of a ConfigError. */
export interface ConfigErrorDetails {
  /** Path of the file the value came from, or "environment". */
  readonly file: string;
  /** Dotted snake_case key as written in the file, with list indexes (`tls.certificates[0].cert`). */
  readonly key: string;
  /** The offending value (passwords hidden), or undefined when the key is missing. */
  readonly value: unknown;
  /** What would have been accepted, e.g. `host:port (port 1-65535) or "" to turn it off`. */
  readonly allowed: string;
  /** The environment variable that supplied the value, if any. */
  readonly envVar?: string;
  /** Replaces "expected <allowed>" in the message (unknown keys, syntax errors). */
  readonly reason?: string;
}

/** A configuration value is missing, malformed or out of range; the CLI exits with code 2. */
export class ConfigError extends Error {
  readonly file: string;
  readonly key: string;
  readonly value: unknown;
  readonly allowed: string;
  readonly envVar: string | undefined;

  constructor(details: ConfigErrorDetails, options?: { cause?: unknown }) {
    super(formatMessage(details), options);
    this.name = 'ConfigError';
    this.file = details.file;
    this.key = details.key;
    this.value = details.value;
    this.allowed = details.allowed;
    this.envVar = details.envVar;
  }
}

function formatMessage(d: ConfigErrorDetails): string {
  const reason = d.reason ?? `expected ${d.allowed}`;
  // The message names the file by its base name, as the admin wrote it; `file` keeps the path.
  const where = baseName(d.file);
  const name = d.envVar !== undefined ? `${d.envVar} (${d.key})` : d.key;
  if (name === '') return `${where}: ${reason}`;
  if (d.value === undefined) return `${where}: ${name} is missing: ${reason}`;
  return `${where}: ${name} = ${formatValue(d.value)}: ${reason}`;
}

function baseName(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i >= 0 ? file.slice(i + 1) : file;
}

/** Renders a value in TOML-like syntax for a message, shortened to keep the message one line. */
export function formatValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (Array.isArray(value)) text = `[${value.map(formatValue).join(', ')}]`;
  else if (value instanceof Date) text = value.toISOString();
  else if (value !== null && typeof value === 'object') text = '{…}';
  else text = String(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
