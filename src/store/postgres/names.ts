/**
 * The PostgreSQL schema names Bulwark accepts, in one place for the adapters and the config
 * (this module imports nothing, so the config need not load the driver): lower-case letters,
 * digits and "_", not starting with a digit, at most 63 bytes (PostgreSQL's identifier limit),
 * so a name can be written into SQL and a NOTIFY channel without quoting surprises.
 */
export function isSchemaName(name: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(name);
}
