// `room`: a room we belong to, after creating, joining or a direct message
// (both sides get it), and again whenever its members change.

import { changed, state, announce } from '../state.js';
import { phrase } from '../i18n.js';
import { requestRoom, upsertRoom } from '../rooms.js';
import { pruneUsers } from '../people.js';
import { navigate } from '../navigation.js';
import { closeDialogs, focusComposer } from '../actions.js';

/** @param {import('../protocol.js').RoomFrame} frame */
export function room(frame) {
  const known = state.rooms.has(frame.room);
  const room = upsertRoom(frame);
  state.invitations.delete(frame.room);
  // Past the roster limit we hear only of people we share rooms with, so
  // a new member who was online already is known from the frame's
  // `online`; someone who left our last shared room will not be heard of.
  if (!state.complete) {
    const here = new Set(frame.online);
    const users = new Set(state.users);
    for (const name of frame.members) {
      if (here.has(name)) users.add(name);
      else if (name !== state.me) users.delete(name);
    }
    state.users = [...users];
  }
  pruneUsers();
  // Opened here if this tab asked for it; news of a member joining or
  // leaving (sent to every member) opens nothing.
  const pending = state.pendingAction;
  // A private room gets its id from the server, so its creation is matched
  // by the name asked for.
  const asked = pending !== null && (
    (['create', 'join', 'open'].includes(pending.kind) && pending.room === frame.room) ||
    (pending.kind === 'create' && frame.kind === 'private' && pending.room === frame.name) ||
    (pending.kind === 'dm' && frame.kind === 'dm' && pending.username === frame.peer));
  const linked = state.pendingLink !== null && state.pendingLink.room === frame.room;
  if (asked || linked) {
    state.pendingAction = null;
    state.pendingLink = null;
    closeDialogs();
    navigate(room.name);
    focusComposer();
  } else if (room.name === state.active && !room.loaded) {
    requestRoom(room);
  }
  if (!known && !asked && frame.kind === 'dm' && frame.peer) {
    announce(phrase('announce.direct_opened', { name: frame.peer }));
  }
  changed('room');
}
