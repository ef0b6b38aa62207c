// `join`: a name came online (its first connection).

import { applyPresence } from '../people.js';

/** @param {import('../protocol.js').PresenceFrame} frame */
export function join(frame) {
  applyPresence([frame.username], [], frame.timestamp);
}
