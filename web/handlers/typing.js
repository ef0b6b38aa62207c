// `typing`: someone started or stopped typing in a room.

import { changed, state } from '../state.js';
import { stopTypingOf } from '../rooms.js';

/** The server ends typing after 5 s; this clears one whose end we missed. */
const TYPING_EXPIRY_MS = 7000;

/** @param {import('../protocol.js').TypingFrame} frame */
export function typing(frame) {
  if (frame.username === state.me) return;
  const room = state.rooms.get(frame.room);
  if (!room) return;
  stopTypingOf(room, frame.username);
  if (frame.active) {
    room.typing.set(frame.username, setTimeout(() => stopTypingOf(room, frame.username), TYPING_EXPIRY_MS));
  }
  changed('typing');
}
