// `read`: our read mark moved, here or in another tab (or every room's, after
// "Mark all as read"), with what is still unread after it.

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
  room.seq = Math.max(room.seq, frame.seq + frame.unread);
  changed('read');
}
