#!/usr/bin/env node
/**
 * The `bulwark` command (package.json "bin"): sizes libuv's thread pool, then runs
 * dist/cli/main.js.
 *
 * The pool runs file system calls, and every fsync (blob files, their folders, the SQLite
 * WAL) holds one of its threads for a disk flush (1-2 ms here). With libuv's default of 4,
 * the flushes of concurrent deliveries queue behind each other and every other file operation
 * waits behind them (bench/imap, 20 clients: about 12% fewer commands/s). libuv reads
 * UV_THREADPOOL_SIZE when the pool is first used, and loading an ES module already uses it:
 * hence this CommonJS launcher. An operator's own UV_THREADPOOL_SIZE wins.
 */
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '16';
import('../dist/cli/main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`bulwark: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
