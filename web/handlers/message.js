// `message`: a stored message, live. Ours settles the outbox entry it
// acknowledges (and forgets the uploads it shared); others' are counted
// while unseen (mentions of us apart) and read out.

import { changed, state, announce } from '../state.js';
import { phrase } from '../i18n.js';
import { addMessage, markRead, markReadIfSeen, roomFor, stopTypingOf } from '../rooms.js';
import { settleOutbox } from '../outbox.js';
import { mentionsMe } from '../changes.js';
import { isOwnName } from '../dom.js';
import { showsLive } from '../jump.js';
import { countMessage } from '../badges.js';
import { alertFor } from '../notify.js';

/** @param {import('../protocol.js').MessageFrame} frame */
export function message(frame) {
  const room = roomFor(frame.room);
  const active = room.name === state.active;
  const own = isOwnName(frame.username);
  const settled = settleOutbox(frame);
  const fresh = !room.seqs.has(frame.seq) && frame.seq > room.readSent;
  const unreadBefore = room.unread;
  room.seq = Math.max(room.seq, frame.seq);
  // A room not loaded yet gets its latest page when opened; one showing its
  // past (after a jump) gets it when paged to.
  const live = showsLive(room);
  if ((room.loaded || room.request !== '') && live) addMessage(room, frame);
  if (room.typing.has(frame.username)) stopTypingOf(room, frame.username);
  if (settled && unreadBefore === 0) {
    // Our own message, with nothing unread before it: it is read.
    markRead(room, frame.seq);
  }
  if (active && own) state.view.toEnd = true;
  // A call's events ring (or not) through the call frames, not as messages.
  if (fresh && !own && !frame.system?.event.startsWith('call_')) {
    // A message with no words of its own says which files it shares; one with a caption says how many.
    const count = frame.files?.length || 0;
    const names = (frame.files || []).map((file) => file.name).join(', ');
    const text = count === 0 ? frame.message
      : frame.generated ? phrase('announce.files', { count, names })
        : phrase('announce.with_files', { text: frame.message, count });
    const name = frame.username;
    if (active) announce(phrase('announce.message', { name, text }));
    else if (room.kind === 'dm') announce(phrase('announce.direct', { name, text }));
    else if (mentionsMe(room, frame)) announce(phrase('announce.mention', { name, room: `#${room.title}`, text }));
    if (active && live && !state.view.atBottom) state.newBelow += 1;
    alertFor(room, frame, countMessage(room, frame));
  }
  changed('message');
  markReadIfSeen();
}
