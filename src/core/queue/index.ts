/**
 * The outbound queue: messages for remote recipients wait here (in the store, migration 3)
 * until a runner delivers them. Enqueue is durable before the submitting client gets 250;
 * a SIGKILL or restart loses nothing and the runner resumes where it was. Every outbound
 * connection goes through the egress guard (DESIGN.md rule 2).
 *
 * RFCs: 5321 §4.5.4 (retry strategy), §5.1 (MX), 7505 (null MX), 8461 (MTA-STS),
 * 3207 (STARTTLS), 3461/3464/6522 (DSN).
 */
export { enqueue, listQueue, getQueued, retryQueued, deleteQueued, claimDue, recordAttempt } from './store.js';
export type { EnqueueInput, QueueRecipientInput, QueuedMessage, QueuedRecipient, RecipientStatus, Notify, RecipientResult } from './store.js';
export { QueueRunner, type QueueRunnerOptions, type RelayHost, type Timers } from './runner.js';
export { sendDsn } from './notify.js';
export { buildDsn, rfc5322Date, statusOf, type DsnInput, type DsnRecipient } from './dsn.js';
export { resolveRoute, parseMtaStsPolicy, mxMatches, MtaStsCache, type Route, type MtaStsPolicy, type MtaStsFetchOptions } from './routing.js';
export { sendTransaction, dotStuff, type ClientOptions, type Transaction, type TransactionResult } from './client.js';
