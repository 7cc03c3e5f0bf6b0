/**
 * Benches that run the server in their own process size libuv's thread pool as the `bulwark`
 * command does (bin/bulwark.cjs). libuv reads UV_THREADPOOL_SIZE when the pool is first used,
 * which loading this module already did, so the bench runs itself again with it set.
 */
import { spawnSync } from 'node:child_process';

/** Returns when the pool is sized; otherwise runs this process again with it and exits. */
export function ensureThreadPool(): void {
  if (process.env.UV_THREADPOOL_SIZE) return;
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: '16' } });
  process.exit(r.status ?? 1);
}
