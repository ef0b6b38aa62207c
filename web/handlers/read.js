// `read`: our read mark moved, here or in another tab.

import { changed, state } from '../state.js';

/** @param {import('../protocol.js').ReadFrame} frame */
export function read(frame) {
  const room = state.rooms.get(frame.room);
  if (!room) return;
  // An older mark (from another tab, overtaken by ours) says nothing new.
  if (frame.seq < room.lastRead) return;
  room.lastRead = frame.seq;
  room.unread = frame.unread;
  room.mentions = frame.mentions || 0;
  changed('read');
}
