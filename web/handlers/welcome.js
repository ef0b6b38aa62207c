// `welcome`: the first frame of a connection. Who we are, who is online, our
// rooms and invitations, the server's limits; the lobby's replay follows.

import { LOBBY } from '../protocol.js';
import { changed, state } from '../state.js';
import { phrase } from '../i18n.js';
import { NAME_KEY, readToken, writeStorage, writeToken } from '../storage.js';
import { setFileCookies } from '../cookies.js';
import { dropConnection, welcomed } from '../connection.js';
import { clearTyping, historyWasReset, resetRooms, syncRooms } from '../rooms.js';
import { setComplete } from '../people.js';
import { callsWelcomed } from './call.js';

/** @param {import('../protocol.js').WelcomeFrame} frame */
export function welcome(frame) {
  welcomed();
  if (historyWasReset(frame)) {
    // Seqs are reused by a history that started over: start over too.
    state.historyId = frame.history_id;
    resetRooms();
    state.attempt = 0;
    dropConnection(phrase('close.reset'));
    return;
  }
  state.historyId = frame.history_id;
  if (frame.token) writeToken(frame.username, frame.token);
  state.code = '';
  state.me = frame.username;
  state.myNames.add(frame.username);
  state.name = frame.username;
  state.claimed = frame.claimed;
  state.limits = { ...frame.limits };
  callsWelcomed(frame);
  // Before the replay, whose pictures the page fetches with them.
  setFileCookies(frame.claimed ? readToken(frame.username) || '' : '', state.key);
  writeStorage(NAME_KEY, frame.username);
  state.attempt = 0;
  state.reached = true;
  state.connection = 'connected';
  state.lastClose = null;
  state.awaitingReplay = true;
  state.users = frame.users.slice();
  state.online = frame.online;
  setComplete(frame.complete);
  syncRooms(frame);
  if (state.rooms.has(state.wanted)) {
    state.active = state.wanted;
    state.wanted = '';
  }
  if (!state.rooms.has(state.active)) state.active = LOBBY;
  state.invitations = new Map((frame.invitations || [])
    .map(({ room, name }) => [room, { name: name || room, by: '' }]));
  for (const room of state.rooms.values()) clearTyping(room);
  changed('welcome');
}
