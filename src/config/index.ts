/**
 * Configuration: `<dataDir>/bulwark.toml` plus BULWARK_* environment overrides, read once at
 * startup into a typed, read-only `Config` that is passed down (no module reads the
 * environment itself).
 *
 * One schema (schema.ts) gives validation, defaults and the reference text of the generated
 * template. Invariants:
 * - loadConfig returns a complete, valid Config or throws ConfigError; nothing else escapes.
 * - Unknown keys are errors, with the nearest known key suggested.
 * - A ConfigError message is one line naming the file (or environment variable), the key, the
 *   value and what is allowed; passwords in connection strings are hidden.
 * - The admin listener stays on loopback unless admin.allow_public = true (DESIGN rule 5).
 * - renderConfigTemplate's output loads back to the Config it describes.
 */
export { ConfigError, type ConfigErrorDetails } from './errors.js';
export { CONFIG_FILE_NAME, loadConfig, parseConfig } from './load.js';
export {
  LISTENER_NAMES,
  SCHEMA,
  type Config,
  type ListenAddress,
  type ListenerName,
  type TlsCertificateConfig,
} from './schema.js';
export { renderConfigTemplate, type ConfigTemplateOptions, type TomlSetting } from './template.js';
export { formatListenAddress, isLoopbackHost, parseCidr, parseListenAddress } from './values.js';
