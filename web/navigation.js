// The address and the room on screen: `#projects`, `#dm:…` (the lobby has
// none), invite links (`#join=room:secret`) and access keys (`#key=…`), so
// reload, the back button and shared links work.

import { LOBBY, ROOM_NAME } from './protocol.js';
import { changed, state } from './state.js';
import { phrase } from './i18n.js';
import { ACCESS_KEY, writeStorage } from './storage.js';
import { keepHostSecret } from './host/state.js';
import { isReady, send } from './connection.js';
import { activeRoom, lobbyRoom, addNotice, markReadIfSeen, requestRoom } from './rooms.js';
import { searchIfShown } from './people.js';
import { setDrawer } from './actions.js';
import { cancelComposing } from './composer/context.js';

/** The room the address names: `#random`, `#dm:…`, or the lobby. */
export function roomFromHash() {
  let hash = location.hash.slice(1);
  try {
    hash = decodeURIComponent(hash);
  } catch {
    // Not percent-encoded after all; take it as it is.
  }
  if (hash === '' || hash.includes('=')) return LOBBY;
  return hash.startsWith('dm:') ? hash : hash.toLowerCase();
}

/**
 * Shows `name` and puts it in the address, so a reload or a shared link
 * comes back to it.
 * @param {string} name
 * @param {boolean} [replace] replace the history entry instead of adding one
 */
export function navigate(name, replace = false) {
  const hash = name === LOBBY && replace ? '' : `#${name}`;
  if (location.hash !== hash) {
    const url = `${location.pathname}${location.search}${hash}`;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
  }
  openRoom(name);
}

/**
 * Puts a room on screen; each room comes back scrolled where it was. A room
 * we are not in yet is joined (public rooms open to anyone with the link).
 * @param {string} name
 */
export function openRoom(name) {
  if (!state.rooms.has(name)) {
    if (!isReady()) {
      state.wanted = name; // once connected
      return;
    }
    if (name.startsWith('dm:') || !ROOM_NAME.test(name)) {
      navigate(LOBBY, true);
      addNotice(lobbyRoom(), phrase('notice.no_room', { room: `#${name}` }), Date.now(), 'error');
      return;
    }
    // Until the server says we are in, keep showing where we were.
    state.pendingAction = { kind: 'open', room: name };
    send({ type: 'join_room', room: name });
    return;
  }
  const switched = state.active !== name;
  state.active = name;
  const room = activeRoom();
  if (!room.loaded) requestRoom(room);
  if (switched) {
    // A reply or an edit belongs to the room it was started in.
    cancelComposing();
    state.newBelow = 0;
    state.view.atBottom = room.atBottom;
    if (state.drawer === 'sidebar') setDrawer('');
    searchIfShown();
  }
  changed('room');
  markReadIfSeen();
}

/**
 * Reads the address on load: an access key (`#key=…`) and the host secret
 * (`#host=…`) are kept and taken out of the address bar, an invite link (`#join=room:secret`) is accepted once
 * connected, and anything else names the room to show.
 */
export function readAddress() {
  const hash = location.hash.slice(1);
  if (!hash.includes('=')) {
    state.wanted = roomFromHash();
    return;
  }
  const params = new URLSearchParams(hash);
  const key = params.get('key');
  if (key !== null) {
    state.key = key;
    writeStorage(ACCESS_KEY, key);
  }
  const secret = params.get('host');
  if (secret) keepHostSecret(secret);
  const join = params.get('join');
  let room = LOBBY;
  if (join) {
    const split = join.lastIndexOf(':');
    if (split > 0) {
      room = join.slice(0, split);
      state.pendingLink = { room, secret: join.slice(split + 1) };
    }
  }
  state.wanted = room;
  // Secrets stay out of the address bar, the history and shared screens.
  history.replaceState(null, '', `${location.pathname}${location.search}${room === LOBBY ? '' : `#${room}`}`);
}

/** Accepts the invite link the page was opened with. */
export function followLink() {
  if (!state.pendingLink || !isReady()) return;
  const { room, secret } = state.pendingLink;
  if (state.rooms.has(room)) {
    state.pendingLink = null;
    navigate(room);
  } else {
    send({ type: 'join_room', room, invite: secret });
  }
}
