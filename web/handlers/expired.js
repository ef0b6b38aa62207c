// `expired`: the room's retention deleted its messages up to `through` on
// the server; the page drops what it shows of them (nothing older is left
// to page back to).

import { changed, state } from '../state.js';

/** @param {{type: 'expired', room: string, through: number}} frame */
export function expired(frame) {
  const room = state.rooms.get(frame.room);
  if (!room) return;
  const gone = (entry) => entry.kind === 'message' && entry.frame.seq <= frame.through;
  if (!room.timeline.some(gone)) return;
  room.timeline = room.timeline.filter((entry) => !gone(entry));
  for (const seq of [...room.seqs]) {
    if (seq <= frame.through) room.seqs.delete(seq);
  }
  room.hasOlder = false;
  changed('history');
}
