// `leave`: a name went offline (its last connection closed).

import { applyPresence } from '../people.js';

/** @param {import('../protocol.js').PresenceFrame} frame */
export function leave(frame) {
  applyPresence([], [frame.username], frame.timestamp);
}
