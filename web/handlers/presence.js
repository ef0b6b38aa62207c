// `presence`: many joins and leaves at once (a connect storm), applied as a set.

import { applyPresence } from '../people.js';

/** @param {import('../protocol.js').PresenceSetFrame} frame */
export function presence(frame) {
  applyPresence(frame.joined || [], frame.left || [], frame.timestamp);
}
