// `error`: a refused frame. A refused message goes to the outbox (later, or
// failed); a refused name on connecting goes back to the join form; a
// refused rename, room action or invite link is said beside what was asked.

import { LOBBY, NAME_REFUSALS } from '../protocol.js';
import { changed, state } from '../state.js';
import { phrase } from '../i18n.js';
import { refusalPhrase } from '../errors.js';
import { activeRoom, addNotice, lobbyRoom, noticeHere } from '../rooms.js';
import { refuseOutbox } from '../outbox.js';
import { navigate } from '../navigation.js';
import { refuseName } from '../actions.js';
import { searchRefused } from '../search.js';
import { settingsRefused } from '../notify.js';
import { callRefused } from '../calls/actions.js';
import { hostRefused } from '../host/state.js';

/** @param {import('../protocol.js').ErrorFrame} frame */
export function error(frame) {
  if (hostRefused(frame)) {
    // The server printed a new host link: this page is no longer the host's.
    if (frame.code === 'forbidden') noticeHere(phrase('host.link_gone'));
    return;
  }
  if (frame.cid) {
    // Ours, or one this browser no longer has (sent by another tab, or a
    // raw frame): either way nothing to show.
    refuseOutbox(frame);
    return;
  }
  if (searchRefused(frame) || settingsRefused(frame) || callRefused(frame)) return;
  if (state.me === '' && NAME_REFUSALS.has(frame.code)) {
    refuseName(frame);
    return;
  }
  if (state.renamePending && (frame.code === 'name_taken' || frame.code === 'invalid_username')) {
    state.renamePending = false;
    state.forms.renameError = frame.code === 'name_taken' && frame.detail !== 'looks_like'
      ? phrase('me.rename_taken') : refusalPhrase(frame);
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
    noticeHere(room.startsWith('p:') ? phrase('notice.link_dead') : phrase('notice.link_dead_room', { room: `#${room}` }));
    return;
  }
  const named = frame.room ? state.rooms.get(frame.room) : undefined;
  const room = named || activeRoom();
  if (room.request) {
    room.request = '';
    changed('history');
  }
  addNotice(room, phrase('notice.refused', { why: refusalPhrase(frame) }), Date.now(), 'error');
}

/**
 * Shows a refusal beside what the user just asked for. Returns false when
 * it belongs in the timeline instead.
 * @param {{kind: string, room?: string, username?: string}} pending
 * @param {import('../protocol.js').ErrorFrame} frame
 */
function showActionError(pending, frame) {
  const words = refusalPhrase(frame);
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
        ? phrase('invite.nobody', { name: pending.username })
        : words;
      forms.inviteError = true;
      changed('error');
      return true;
    case 'dm':
      noticeHere(frame.code === 'not_found'
        ? phrase('notice.direct_unclaimed', { name: pending.username || '' })
        : words);
      return true;
    case 'open':
      // A link to a room we cannot open: say so, in the lobby.
      navigate(LOBBY, true);
      addNotice(lobbyRoom(), phrase('notice.no_room', { room: `#${pending.room}` }), Date.now(), 'error');
      return true;
    default:
      break;
  }
  if (frame.code === 'not_found' && pending.room) {
    noticeHere(phrase('notice.no_room', { room: `#${pending.room}` }));
    return true;
  }
  return false;
}
