// `invited`: someone invited us to a room; we answer with `join_room`.

import { changed, state, announce } from '../state.js';
import { phrase } from '../i18n.js';

/** @param {import('../protocol.js').InvitedFrame} frame */
export function invited(frame) {
  if (state.rooms.has(frame.room)) return;
  const name = frame.name || frame.room;
  state.invitations.set(frame.room, { name, by: frame.by });
  announce(phrase('announce.invited', { name: frame.by, room: `#${name}` }));
  changed('invited');
}
