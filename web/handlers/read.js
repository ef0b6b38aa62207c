// `read`: our read mark moved, here or in another tab.

import { changed, state } from '../state.js';

/** @param {import('../protocol.js').ReadFrame} frame */
export function read(frame) {
  const room = state.rooms.get(frame.room);
  if (!room) return;
  room.lastRead = Math.max(room.lastRead, frame.seq);
  room.seq = Math.max(room.seq, frame.seq + frame.unread);
  changed('read');
}
