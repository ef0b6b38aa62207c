// `history`: the lobby's replay after `welcome`, a room's latest page or
// resume, an older page asked for by scrolling up, or a jump's page (and
// the newer pages after it; see jump.js).

import { LOBBY } from '../protocol.js';
import { changed, state } from '../state.js';
import { addMessage, lobbyRoom, markReadIfSeen, requestRoom, resetTimeline } from '../rooms.js';
import { searchIfShown } from '../people.js';
import { followLink, openRoom } from '../navigation.js';
import { outboxConnected } from '../outbox.js';
import { afterHistory, applyJumpPage } from '../jump.js';

/** @param {import('../protocol.js').HistoryFrame} frame */
export function history(frame) {
  if (state.awaitingReplay && frame.room === LOBBY) {
    state.awaitingReplay = false;
    applyReplay(frame);
    afterReplay();
    return;
  }
  const room = state.rooms.get(frame.room);
  if (!room) return;
  const request = room.request;
  room.request = '';
  if (request === 'around' || request === 'newer') {
    applyJumpPage(room, request, frame);
    afterHistory(room);
    return;
  }
  if (request === 'older') {
    room.hasOlder = frame.has_more;
  } else {
    // Too much missed to join up: show the latest page instead.
    const gap = request === 'since' && frame.has_more;
    if (gap) resetTimeline(room);
    if (request !== 'since' || gap) {
      room.hasOlder = frame.has_more;
      if (room.name === state.active) state.view.toEnd = true;
    }
    room.loaded = true;
    // The latest page, or everything since the last one shown: live.
    room.hasNewer = false;
  }
  for (const message of frame.messages) addMessage(room, message);
  changed('history');
  markReadIfSeen();
  afterHistory(room);
}

/** The first `history` after `welcome`: everything since we last saw, or the latest. */
function applyReplay(frame) {
  const lobby = lobbyRoom();
  const gap = state.resuming && frame.has_more;
  if (!state.resuming || gap) {
    resetTimeline(lobby);
    lobby.hasOlder = frame.has_more;
    if (state.active === LOBBY) state.view.toEnd = true;
  }
  lobby.loaded = true;
  // Resumed up to now, or replaced by the latest: live, even after a jump.
  lobby.hasNewer = false;
  for (const message of frame.messages) addMessage(lobby, message);
  changed('history');
}

/** After the lobby replay: send what waited, and catch up every room. */
function afterReplay() {
  outboxConnected();
  searchIfShown();
  for (const room of state.rooms.values()) {
    if (room.loaded || room.name === state.active) requestRoom(room);
  }
  if (state.pendingLink) {
    followLink();
  } else if (state.wanted) {
    const wanted = state.wanted;
    state.wanted = '';
    openRoom(wanted);
  }
  markReadIfSeen();
}
