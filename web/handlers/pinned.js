// `pinned`: a room's pinned announcement, shown at the top until
// dismissed (the lobby's over every room).

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {import('../host/state.js').Pin & {type: 'pinned'}} frame */
export function pinned(frame) {
  const { room, seq, message, html, timestamp } = frame;
  host.pins.set(room, { room, seq, message, html, timestamp });
  changed('host');
}
