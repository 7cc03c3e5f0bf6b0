/**
 * The command table (STYLE.md "Commands are data"): each verb's handler, the states it is
 * allowed in (RFC 9051 §3, §6), and whether expunges may be announced after it (§7.5.1).
 */
import type { CommandTable } from '../session.js';
import * as mb from './mailbox-commands.js';
import * as msg from './message-commands.js';
import * as sess from './session-commands.js';

const ANY = ['notAuthenticated', 'authenticated', 'selected'] as const;
const NOT_AUTH = ['notAuthenticated'] as const;
const AUTH = ['authenticated', 'selected'] as const;
const SELECTED = ['selected'] as const;

/** Every command Bulwark's IMAP server knows. */
export const COMMANDS: CommandTable = {
  CAPABILITY: { states: ANY, run: sess.capability },
  NOOP: { states: ANY, run: sess.noop },
  LOGOUT: { states: ANY, run: sess.logout, noSync: true, after: async (s) => s.close() },
  STARTTLS: {
    states: NOT_AUTH,
    run: sess.starttls,
    after: async (s) => {
      if (!s.isTls) s.startTls();
    },
  },
  LOGIN: { states: NOT_AUTH, run: sess.loginCommand },
  AUTHENTICATE: { states: NOT_AUTH, run: sess.authenticate },
  ENABLE: { states: AUTH, run: sess.enable },
  ID: { states: ANY, run: sess.id },
  NAMESPACE: { states: AUTH, run: sess.namespace },
  COMPRESS: { states: AUTH, run: sess.compress, after: async (s) => s.startCompress() },
  IDLE: { states: AUTH, run: sess.idle },
  GETQUOTAROOT: { states: AUTH, run: sess.getQuotaRoot },
  GETQUOTA: { states: AUTH, run: sess.getQuota },
  SELECT: { states: AUTH, run: mb.select, noSync: true },
  EXAMINE: { states: AUTH, run: mb.select, noSync: true },
  CREATE: { states: AUTH, run: mb.create },
  DELETE: { states: AUTH, run: mb.del },
  RENAME: { states: AUTH, run: mb.rename },
  SUBSCRIBE: { states: AUTH, run: mb.subscribe },
  UNSUBSCRIBE: { states: AUTH, run: mb.subscribe },
  LIST: { states: AUTH, run: mb.list },
  LSUB: { states: AUTH, run: mb.lsub },
  STATUS: { states: AUTH, run: mb.status },
  APPEND: { states: AUTH, run: mb.append },
  CHECK: { states: SELECTED, run: async () => ({ status: 'OK', text: 'CHECK completed' }) },
  CLOSE: { states: SELECTED, run: mb.close, noSync: true },
  UNSELECT: { states: SELECTED, run: mb.unselect, noSync: true },
  EXPUNGE: { states: SELECTED, run: msg.expungeCommand },
  'UID EXPUNGE': { states: SELECTED, run: msg.expungeCommand },
  // RFC 9051 §7.5.1: no EXPUNGE after FETCH, STORE or SEARCH (and their UID forms, to be safe).
  FETCH: { states: SELECTED, run: msg.fetch, holdsExpunges: true },
  STORE: { states: SELECTED, run: msg.store, holdsExpunges: true },
  SEARCH: { states: SELECTED, run: msg.search, holdsExpunges: true },
  SORT: { states: SELECTED, run: msg.sort, holdsExpunges: true },
  THREAD: { states: SELECTED, run: msg.thread, holdsExpunges: true },
  COPY: { states: SELECTED, run: msg.copy },
  MOVE: { states: SELECTED, run: msg.copy },
};
