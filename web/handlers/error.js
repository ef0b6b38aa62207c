// `error`: a refused frame. A refused message goes to the outbox (later, or
// failed); a refused name on connecting goes back to the join form; a
// refused rename, room action or invite link is said beside what was asked.

import { LOBBY, NAME_REFUSALS, ROOM_ERRORS } from '../protocol.js';
import { changed, state } from '../state.js';
import { activeRoom, addNotice, lobbyRoom, noticeHere } from '../rooms.js';
import { refuseOutbox } from '../outbox.js';
import { navigate } from '../navigation.js';
import { refuseName } from '../actions.js';
import { searchRefused } from '../search.js';
import { settingsRefused } from '../notify.js';

/** @param {import('../protocol.js').ErrorFrame} frame */
export function error(frame) {
  if (frame.cid) {
    // Ours, or one this browser no longer has (sent by another tab, or a
    // raw frame): either way nothing to show.
    refuseOutbox(frame);
    return;
  }
  if (searchRefused(frame) || settingsRefused(frame)) return;
  if (state.me === '' && NAME_REFUSALS.has(frame.code)) {
    refuseName(frame.code, frame.message);
    return;
  }
  if (state.renamePending && (frame.code === 'name_taken' || frame.code === 'invalid_username')) {
    state.renamePending = false;
    state.forms.renameError = frame.message;
    changed('error');
    return;
  }
  const pending = state.pendingAction;
  if (pending) {
    state.pendingAction = null;
    if (showActionError(pending, frame)) return;
  }
  if (state.pendingLink) {
    const { room } = state.pendingLink;
    state.pendingLink = null;
    // A private room's id says nothing to a reader; its name is not ours to know yet.
    const which = room.startsWith('p:') ? '' : ` to #${room}`;
    noticeHere(`This invite link${which} does not work anymore. Ask for a new one.`);
    return;
  }
  const named = frame.room ? state.rooms.get(frame.room) : undefined;
  const room = named || activeRoom();
  if (room.request) {
    room.request = '';
    changed('history');
  }
  addNotice(room, `The server said: ${frame.message}`, Date.now(), 'error');
}

/**
 * Shows a refusal beside what the user just asked for. Returns false when
 * it belongs in the timeline instead.
 * @param {{kind: string, room?: string, username?: string}} pending
 * @param {import('../protocol.js').ErrorFrame} frame
 */
function showActionError(pending, frame) {
  const words = ROOM_ERRORS[frame.code] || frame.message;
  const { forms } = state;
  switch (pending.kind) {
    case 'create':
    case 'join':
      if (state.dialog !== 'rooms') break;
      forms.createError = words;
      changed('error');
      return true;
    case 'invite':
    case 'link':
      if (state.dialog !== 'invite') break;
      forms.inviteStatus = frame.code === 'not_found' && pending.username
        ? `Nobody owns the name "${pending.username}" here. Check the spelling; they need to have joined from their browser.`
        : words;
      forms.inviteError = true;
      changed('error');
      return true;
    case 'dm':
      noticeHere(frame.code === 'not_found'
        ? `You can't write privately to ${pending.username}: they have not claimed their name.`
        : words);
      return true;
    case 'open':
      // A link to a room we cannot open: say so, in the lobby.
      navigate(LOBBY, true);
      addNotice(lobbyRoom(), `There is no room #${pending.room} you can open.`, Date.now(), 'error');
      return true;
    default:
      break;
  }
  if (frame.code === 'not_found' && pending.room) {
    noticeHere(`There is no room #${pending.room} you can open.`);
    return true;
  }
  return false;
}
