/**
 * Sizes libuv's thread pool, which runs file system calls. Its default of 4 threads is too few
 * for a mail server: every fsync (blob files, their folders, the SQLite WAL) holds a thread for
 * a disk flush (1–2 ms here), so with 4 the flushes of concurrent deliveries queue behind each
 * other and every other file operation waits behind them (bench/imap, 20 clients: 1,480 →
 * 1,660 commands/s with 16). The pool is created on first use: import this module first.
 * An operator's own UV_THREADPOOL_SIZE wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
