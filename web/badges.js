// What the page counts for the person: unread messages per room (none for
// a muted room), and the ones that ask for them (mentions, and every message
// of a direct message), which the tab's title and icon show. The server
// keeps the counts (`unread`, `mentions` in rooms and `read` frames); live
// messages add to them here until the next `read` says how many are left.

import { state } from './state.js';
import { unreadOf } from './rooms.js';

/** @typedef {import('./state.js').Room} Room */

/**
 * Whether a message asks for us: it names us, `@room` or `@here`, or it is
 * in a direct message.
 * @param {Room} room
 * @param {import('./protocol.js').MessageFrame} frame
 */
export function mentionsMe(room, frame) {
  if (room.kind === 'dm' || frame.everyone || frame.here) return true;
  const me = state.me.toLowerCase();
  return (frame.mentions || []).some((name) => name.toLowerCase() === me);
}

/**
 * Counts a message from someone else, new to us. Returns whether it
 * mentions us.
 * @param {Room} room
 * @param {import('./protocol.js').MessageFrame} frame
 */
export function countMessage(room, frame) {
  const mention = mentionsMe(room, frame);
  if (frame.seq > room.lastRead) {
    room.unread += 1;
    if (mention) room.mentions += 1;
  }
  // The title's plain count is of messages that came while the tab was hidden.
  if (document.hidden && !room.muted && !mention) state.unread += 1;
  return mention;
}

/** The badge beside a room: its unread messages, none when it is muted. @param {Room} room */
export function badgeOf(room) {
  return room.muted ? 0 : unreadOf(room);
}

/** Whether a room's badge is for mentions (shown stronger). @param {Room} room */
export function mentionedIn(room) {
  return !room.muted && room.mentions > 0 && badgeOf(room) > 0;
}

/** Unread mentions and direct messages in every room not muted: the title's "(3)". */
export function mentionCount() {
  let count = 0;
  for (const room of state.rooms.values()) {
    if (!room.muted && badgeOf(room) > 0) count += Math.min(room.mentions, badgeOf(room));
  }
  return count;
}

/** Whether anything not muted is unread (the icon's dot). */
export function anyUnread() {
  if (state.unread > 0) return true;
  for (const room of state.rooms.values()) if (badgeOf(room) > 0) return true;
  return false;
}
