// `room_left`: we left a room (sent to all our tabs).

import { LOBBY } from '../protocol.js';
import { changed, state } from '../state.js';
import { pruneUsers } from '../people.js';
import { dropRoomOutbox } from '../outbox.js';
import { navigate } from '../navigation.js';

/** @param {import('../protocol.js').RoomLeftFrame} frame */
export function room_left(frame) {
  if (!state.rooms.delete(frame.room)) return;
  pruneUsers();
  dropRoomOutbox(frame.room);
  if (state.active === frame.room) {
    if (state.pendingAction && state.pendingAction.kind === 'leave') state.pendingAction = null;
    navigate(LOBBY, true);
    state.view.toEnd = true;
  }
  changed('room_left');
}
