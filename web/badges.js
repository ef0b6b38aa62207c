// What the page counts for the person: unread messages per room (none for
// a muted room), and the ones that ask for them (mentions, and every message
// of a direct message), which the tab's title and icon show. The server
// keeps the counts (`unread`, `mentions` in rooms and `read` frames); live
// messages add to them here until the next `read` says how many are left.

import { state } from './state.js';
import { unreadOf } from './rooms.js';
import { mentionsMe } from './changes.js';

/** @typedef {import('./state.js').Room} Room */

/**
 * Counts a message from someone else, new to us. Returns whether it
 * mentions us.
 * @param {Room} room
 * @param {import('./protocol.js').MessageFrame} frame
 */
export function countMessage(room, frame) {
  const mention = mentionsMe(room, frame);
  // Owners' counts are the server's, carried on from; a guest has none.
  if (state.claimed && frame.seq > room.lastRead) {
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

/** Of a room's unread messages, those that mention us; none when it is muted. @param {Room} room */
export function mentionsIn(room) {
  return Math.min(room.mentions, badgeOf(room));
}

/** Unread mentions and direct messages in every room not muted: the title's "(3)". */
export function mentionCount() {
  let count = 0;
  for (const room of state.rooms.values()) count += mentionsIn(room);
  return count;
}

/** Whether anything not muted is unread (the icon's dot). */
export function anyUnread() {
  if (state.unread > 0) return true;
  for (const room of state.rooms.values()) if (badgeOf(room) > 0) return true;
  return false;
}
