// `invited`: someone invited us to a room; we answer with `join_room`.

import { changed, state, announce } from '../state.js';

/** @param {import('../protocol.js').InvitedFrame} frame */
export function invited(frame) {
  if (state.rooms.has(frame.room)) return;
  state.invitations.set(frame.room, frame.by);
  announce(`${frame.by} invited you to #${frame.room}.`);
  changed('invited');
}
