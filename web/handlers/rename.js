// `rename`: someone changed their name, perhaps us (then the token moves too).

import { LOBBY } from '../protocol.js';
import { changed, state } from '../state.js';
import { phrase } from '../i18n.js';
import { NAME_KEY, moveToken, readToken, writeStorage } from '../storage.js';
import { setFileCookies } from '../cookies.js';
import { addNotice, lobbyRoom, stopTypingOf } from '../rooms.js';

/** @param {import('../protocol.js').RenameFrame} frame */
export function rename(frame) {
  const { from, to } = frame;
  const swap = (name) => (name === from ? to : name);
  state.users = state.users.map(swap);
  state.who.results = state.who.results.map(swap);
  for (const room of state.rooms.values()) {
    room.members = room.members.map(swap);
    if (room.peer === from) room.peer = to;
    stopTypingOf(room, from);
  }
  if (from === state.me) {
    moveToken(from, to);
    if (state.claimed) setFileCookies(readToken(to) || '', state.key);
    state.me = to;
    state.myNames.add(to);
    state.name = to;
    writeStorage(NAME_KEY, to);
    state.renamePending = false;
    state.forms.renameOpen = false;
    state.forms.renameError = null;
    state.forms.move = null;
    addNotice(lobbyRoom(), phrase('notice.renamed_you', { name: to }), frame.timestamp, 'rename');
  } else {
    for (const room of state.rooms.values()) {
      if (room.name === LOBBY || room.members.includes(to)) {
        addNotice(room, phrase('notice.renamed', { from, to }), frame.timestamp, 'rename');
      }
    }
  }
  changed('rename');
}
