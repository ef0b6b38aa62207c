// `room_list`: the public rooms, for the rooms dialog.

import { LOBBY } from '../protocol.js';
import { changed, state } from '../state.js';

/** @param {import('../protocol.js').RoomListFrame} frame */
export function room_list(frame) {
  // Everyone is in the lobby already; the list is for finding others.
  state.publicRooms = frame.rooms.filter(({ room }) => room !== LOBBY)
    .sort((a, b) => a.room.localeCompare(b.room));
  changed('room_list');
}
