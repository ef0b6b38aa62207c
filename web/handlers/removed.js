// `removed`: the host removed this connection, which closes next. A kick
// reconnects after the usual wait for a closed connection; a ban stays
// disconnected (coming back would only be refused).

import { changed, state } from '../state.js';
import { host } from '../host/state.js';

/** @param {{type: 'removed', reason: string, banned: boolean, until?: number}} frame */
export function removed(frame) {
  host.removed = { reason: frame.reason, banned: frame.banned, until: frame.until };
  if (frame.banned) state.connection = 'refused';
  changed('host');
}
