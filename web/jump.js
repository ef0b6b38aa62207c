// Jumping to a message: a reply's quote takes the reader to the message it
// answers. One the page has is brought into view; one further back is
// paged in first, older page by older page (history `before`), until it
// is there or the room's beginning is reached.

import { changed, state } from './state.js';
import { activeRoom, noticeHere, requestOlder } from './rooms.js';
import { findMessage } from './changes.js';

/** @param {number} seq a message of the room on screen */
export function jumpTo(seq) {
  const room = activeRoom();
  if (findMessage(room, seq)) {
    room.jumpTo = 0;
    state.view.reveal = seq;
    changed('jump');
    return;
  }
  room.jumpTo = seq;
  changed('jump');
  requestOlder();
}

/**
 * An older page came: the jump under way is over if it brought the
 * message (or there is nothing older), else it asks for the next page.
 * @param {import('./state.js').Room} room
 */
export function continueJump(room) {
  if (!room.jumpTo || room.name !== state.active) return;
  const seq = room.jumpTo;
  if (findMessage(room, seq) || !room.hasOlder || room.oldestSeq <= seq) {
    room.jumpTo = 0;
    state.view.reveal = findMessage(room, seq) ? seq : 0;
    if (!state.view.reveal) noticeHere('That message is not in the history anymore.');
    changed('jump');
    return;
  }
  requestOlder();
}
