// What the person does: enter a key or a name, write, rename, open rooms,
// dialogs and drawers, invite. Each action changes the state (and sends a
// frame when the server must know); focus moves once the page shows it.

import { LOBBY, NAME_REFUSALS, ROOM_NAME, TYPING_REFRESH_MS, checkName } from './protocol.js';
import { changed, state } from './state.js';
import { phrase, setLanguage } from './i18n.js';
import { refusalPhrase } from './errors.js';
import { ACCESS_KEY, NAME_KEY, removeStorage, writeStorage } from './storage.js';
import { checkAccess, clearRetry, connect, isReady, send } from './connection.js';
import { dropFile, queueMessage, spendToken } from './outbox.js';
import { attachFiles, cancelUpload, takeTray, trayOf } from './uploads.js';
import { activeRoom } from './rooms.js';
import { searchIfShown } from './people.js';
import { navigate } from './navigation.js';
import { els, isLoopback } from './dom.js';
import { afterRender } from './render/index.js';

const coarsePointer = window.matchMedia('(pointer: coarse)');

/** Moves focus to `element` once the page shows it. @param {HTMLElement} element */
function focusLater(element, select = false) {
  afterRender(() => {
    element.focus();
    if (select && element instanceof HTMLInputElement) element.select();
  });
}

/** On a keyboard, back to writing; a phone's keyboard stays down. */
export function focusComposer() {
  if (!coarsePointer.matches) focusLater(els.input);
}

/** @typedef {import('./i18n.js').Phrase} Phrase */

/** Asks for the access key. @param {Phrase | null} [error] */
export function showKeyGate(error = null) {
  state.screen = 'key';
  state.forms.keyError = error;
  changed('screen');
  focusLater(els.keyInput);
}

/** @param {Phrase | null} [error] */
export function showJoin(error = null) {
  state.screen = 'join';
  state.forms.joinError = error;
  changed('screen');
  focusLater(els.joinName);
}

/** After the key (if any): straight in with a remembered name, else the join form. */
export function enter() {
  if (!state.name) {
    showJoin();
    return;
  }
  state.screen = 'app';
  state.view.toEnd = true;
  changed('screen');
  focusComposer();
  connect();
}

/** @param {string} key */
export async function submitKey(key) {
  if (key === '') {
    showKeyGate(phrase('key.empty'));
    return;
  }
  const access = await checkAccess(key);
  if (access === 'denied') {
    showKeyGate(phrase('key.wrong'));
    focusLater(els.keyInput, true);
    return;
  }
  if (access === 'unknown') {
    showKeyGate(phrase('key.unreachable'));
    return;
  }
  state.key = key;
  writeStorage(ACCESS_KEY, key);
  els.keyInput.value = '';
  state.connection = 'connecting';
  state.attempt = 0;
  enter();
}

/** @param {string} name @param {string} code a transfer code, or '' */
export function submitJoin(name, code) {
  const problem = checkName(name);
  if (problem) {
    showJoin(problem);
    return;
  }
  state.code = code;
  state.name = name;
  writeStorage(NAME_KEY, name);
  state.connection = 'connecting';
  state.attempt = 0;
  enter();
}

/**
 * The server refused the name we connected with.
 * @param {import('./protocol.js').ErrorFrame} frame its code one of NAME_REFUSALS
 */
export function refuseName(frame) {
  const { code } = frame;
  if (!NAME_REFUSALS.has(code)) return;
  state.connection = 'refused';
  clearRetry();
  removeStorage(NAME_KEY);
  els.joinName.value = state.name;
  const name = state.name;
  state.name = '';
  state.code = '';
  if (code === 'name_taken') {
    els.joinCodeBox.open = true;
    const like = frame.detail === 'looks_like' && frame.params?.name ? String(frame.params.name) : '';
    showJoin(like ? phrase('join.looks_like', { name, like }) : phrase('join.taken', { name }));
  } else if (code === 'invalid_code') {
    els.joinCodeBox.open = true;
    showJoin(phrase('join.bad_code'));
  } else {
    showJoin(phrase('join.invalid', { why: refusalPhrase(frame) }));
  }
}

/**
 * Sends what the composer says, with the files of the room's tray (the
 * message waits for them in the outbox). Files alone are a message too.
 * @param {string} text
 * @param {number} [replyTo] the seq of the message it answers
 * @returns {boolean} whether there was something to send
 */
export function sendMessage(text, replyTo = 0) {
  const room = activeRoom().name;
  const files = trayOf(room).some((upload) => upload.status !== 'failed');
  const blank = text.trim() === '';
  if ((blank && !files) || [...text].length > state.limits.message_chars) return false;
  state.typingSentAt = 0;
  state.view.toEnd = true;
  state.attachError = null;
  queueMessage(blank ? '' : text, room, files ? (cid) => takeTray(room, cid) : undefined, replyTo);
  return true;
}

/** Files picked, dropped or pasted: to the tray of the room on screen. @param {File[]} files */
export function attach(files) {
  if (files.length === 0) return;
  state.attachError = attachFiles(files, activeRoom().name);
  changed('uploads');
  focusComposer();
}

/**
 * A file's cancel button: out of the tray, or off the message it waits
 * with. Focus goes back to writing.
 * @param {string} id @param {string} cid '' in the tray
 */
export function cancelFile(id, cid) {
  if (cid) dropFile(cid, id);
  else cancelUpload(id);
  state.attachError = null;
  changed('uploads');
  focusLater(els.input);
}

/** Files dragged over the page, or not any more. @param {boolean} dragging */
export function setDragging(dragging) {
  if (state.dragging === dragging) return;
  state.dragging = dragging;
  changed('drag');
}

/** The element that opened the lightbox, to give focus back to. @type {HTMLElement | null} */
let lightboxOpener = null;

/** Opens a picture whole, from its button in the timeline. @param {HTMLElement} button */
export function openLightbox(button) {
  lightboxOpener = button;
  state.lightbox = {
    url: button.dataset.picture || '',
    name: button.dataset.name || '',
    width: Number(button.dataset.width) || 0,
    height: Number(button.dataset.height) || 0,
  };
  state.dialog = 'lightbox';
  changed('dialog');
  els.lightbox.showModal();
}

/** The lightbox closed (Escape, its button, a click beside the picture). */
export function lightboxClosed() {
  state.lightbox = null;
  state.dialog = '';
  changed('dialog');
  if (lightboxOpener?.isConnected) lightboxOpener.focus();
  lightboxOpener = null;
}

/** Tells the server we are typing (at most every 2 s) or that we stopped. @param {string} text */
export function noteTyping(text) {
  const typing = text.trim() !== '';
  const now = Date.now();
  const room = state.active;
  if (typing && (now - state.typingSentAt >= TYPING_REFRESH_MS || room !== state.typingRoom) && isReady()) {
    state.typingSentAt = now;
    state.typingRoom = room;
    send({ type: 'typing', active: true, room });
  } else if (!typing && state.typingSentAt !== 0) {
    state.typingSentAt = 0;
    send({ type: 'typing', active: false, room: state.typingRoom });
  }
}

/**
 * Opens a drawer on narrow screens ('sidebar' or 'people'), or closes both
 * (''). Focus goes into an opened drawer, and back to its button on closing.
 * @param {'' | 'sidebar' | 'people'} which
 */
export function setDrawer(which) {
  const was = state.drawer;
  if (was === which) return;
  state.drawer = which;
  changed('drawer');
  if (which === 'people') {
    focusLater(els.peopleClose);
    searchIfShown();
  } else if (which === 'sidebar') {
    focusLater(els.sidebarClose);
  } else if (was === 'sidebar') {
    focusLater(els.roomsToggle);
  } else if (was === 'people') {
    focusLater(els.peopleToggle);
  }
}

export function openRoomDialog() {
  state.forms.createError = null;
  els.createForm.reset();
  state.publicRooms = null;
  send({ type: 'list_rooms' });
  state.dialog = 'rooms';
  els.roomDialog.showModal();
  changed('dialog');
  els.createName.focus();
}

export function openInviteDialog() {
  Object.assign(state.forms, { inviteStatus: null, inviteError: false, link: '', linkStatus: null });
  els.inviteForm.reset();
  state.dialog = 'invite';
  els.inviteDialog.showModal();
  changed('dialog');
  els.inviteName.focus();
}

export function closeDialogs() {
  if (els.roomDialog.open) els.roomDialog.close();
  if (els.inviteDialog.open) els.inviteDialog.close();
}

/** A dialog closed (Escape, its button, a click beside it, or done). */
export function dialogClosed() {
  state.dialog = els.roomDialog.open ? 'rooms' : els.inviteDialog.open ? 'invite' : '';
  // An answer that comes after the dialog closed goes to the timeline.
  const kind = state.pendingAction ? state.pendingAction.kind : '';
  if (['create', 'join', 'invite', 'link'].includes(kind)) state.pendingAction = null;
  changed('dialog');
}

/** @param {string} name what the create field says @param {boolean} isPrivate */
export function createRoom(name, isPrivate) {
  const room = name.trim().replace(/^#/, '').toLowerCase();
  if (!ROOM_NAME.test(room)) {
    state.forms.createError = phrase('errors.invalid_room');
    changed('form');
    els.createName.focus();
    return;
  }
  if (!isReady()) {
    state.forms.createError = phrase('errors.offline');
    changed('form');
    return;
  }
  state.forms.createError = null;
  state.pendingAction = { kind: 'create', room };
  send({ type: 'create_room', room, private: isPrivate });
  changed('form');
}

/** Joins a public room or an invitation, or opens one we are in. @param {string} room */
export function joinRoom(room) {
  if (state.rooms.has(room)) {
    closeDialogs();
    navigate(room);
    return;
  }
  state.pendingAction = { kind: 'join', room };
  send({ type: 'join_room', room });
}

export function leaveRoom() {
  const room = activeRoom();
  if (room.name === LOBBY || room.kind === 'dm' || !isReady()) return;
  state.pendingAction = { kind: 'leave', room: room.name };
  send({ type: 'leave_room', room: room.name });
}

/** @param {string} username */
export function invite(username) {
  const { forms } = state;
  forms.inviteError = false;
  if (username === '') {
    forms.inviteStatus = phrase('invite.type_name');
  } else if (!isReady()) {
    forms.inviteStatus = phrase('errors.offline');
  } else {
    const room = activeRoom().name;
    state.pendingAction = { kind: 'invite', room, username };
    send({ type: 'invite', room, username });
    // The server answers only a refusal; no news is good news.
    forms.inviteStatus = phrase('invite.sent', { name: username });
    els.inviteName.value = '';
  }
  changed('form');
}

export function makeLink() {
  if (!isReady()) return;
  const room = activeRoom().name;
  state.pendingAction = { kind: 'link', room };
  send({ type: 'invite_link', room });
}

/** Copies the invite link, with the clipboard API where the page may use it. */
export async function copyLink() {
  const link = state.forms.link;
  let copied = false;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(link);
      copied = true;
    } catch {
      copied = false;
    }
  }
  if (!copied) {
    // Plain-http LAN pages have no clipboard API; the old way still works.
    els.linkInput.focus();
    els.linkInput.select();
    copied = document.execCommand('copy');
  }
  let words = phrase('invite.copy_by_hand');
  if (copied && isLoopback(location.hostname)) {
    words = phrase('invite.copied_loopback', { host: location.hostname });
  } else if (copied) {
    words = phrase('invite.copied');
  }
  state.forms.linkStatus = words;
  changed('form');
}

/** @param {string} username */
export function openDirect(username) {
  const existing = [...state.rooms.values()].find((room) => room.kind === 'dm' && room.peer === username);
  setDrawer('');
  if (existing) {
    navigate(existing.name);
    return;
  }
  if (!isReady()) return;
  state.pendingAction = { kind: 'dm', username };
  send({ type: 'dm', username });
}

export function openRename() {
  state.forms.renameOpen = true;
  state.forms.renameError = null;
  els.renameInput.value = state.me || state.name;
  changed('form');
  focusLater(els.renameInput, true);
}

export function closeRename() {
  state.forms.renameOpen = false;
  state.forms.renameError = null;
  changed('form');
  focusLater(els.renameOpen);
}

/** @param {string} name */
export function submitRename(name) {
  const problem = checkName(name) ||
    (name !== state.me && !isReady() ? phrase('errors.offline') : null);
  if (problem) {
    state.forms.renameError = problem;
    changed('form');
    focusLater(els.renameInput);
    return;
  }
  if (name === state.me) {
    closeRename();
    return;
  }
  // A rename counts against the same per-user rate as messages.
  spendToken();
  state.renamePending = true;
  send({ type: 'rename', username: name });
}

export function askTransferCode() {
  if (isReady()) send({ type: 'transfer_code' });
}

/**
 * The person picked a language: the page speaks it at once (every
 * renderer draws again) and this browser remembers it.
 * @param {string} code
 */
export function chooseLanguage(code) {
  setLanguage(code, { remember: true }).catch(() => {
    // The catalog could not be fetched (the server is gone): stay as we are.
  });
}
