// lanchat's web page, the entry module: rooms, private rooms and direct
// messages over one WebSocket, kept in step with the server without losing
// or repeating a message. This file wires the page's events to actions and
// starts it; the rest lives in one module per part:
//
//   protocol.js  frame types, limits, plain words for codes
//   state.js     the store, and `changed()` that asks for a render
//   storage.js   localStorage: name, key, tokens
//   outbox.js    unsent messages, shared by tabs, paced to the server
//   uploads.js, tus.js, upload_store.js  files on their way: resumable
//                uploads, kept in IndexedDB; cookies.js lets the page fetch them
//   connection.js the socket: connect, backoff, close reasons, liveness
//   handlers/    one file per server frame
//   rooms.js, people.js, navigation.js  rooms and timelines, who is online, the address
//   search.js, jump.js  searching messages; jumping to one, or to a date
//   badges.js, notify.js  unread counts and mentions; sound, desktop
//                notifications and each room's settings
//   trust_hint.js  whether the browser trusts the chat's certificate (--tls)
//   actions.js   what the person does
//   changes.js   edits, deletions and reactions, applied in order
//   message_actions.js  a message's action bar, reactions, quote, delete dialog
//   emoji.js, picker.js  the server's emoji, and the picker
//   composer/    replying and editing, `@name` and `:shortcode:` suggestions
//   calls/       calls: their part of the store, the media this tab sends,
//                its WebRTC session with the server's SFU, what the person does
//   dom.js       element refs and builders
//   render/      one render per part of the page, once per animation frame
//                (html.js: the one place a message's server-made HTML goes in)
//   offline.js   the service worker (sw.js): the page kept on this device

// First: the page's words load before anything renders (see i18n.js).
import './i18n.js';
import { changed, state } from './state.js';
import { checkAccess, checkAlive, retryNow } from './connection.js';
import { discardEntry, loadOutbox, onStorage, releaseLease, retryEntry, startLeaseTimer } from './outbox.js';
import { loadUploads, runUploads } from './uploads.js';
import { markReadIfSeen, requestOlder } from './rooms.js';
import { requestWho, searchIfShown } from './people.js';
import { followLink, openRoom, readAddress, roomFromHash } from './navigation.js';
import * as act from './actions.js';
import { els, peopleDrawer } from './dom.js';
import { onRendered } from './render/index.js';
import { viewAtBottom } from './render/timeline.js';
import { setUpSearch } from './search.js';
import { setUpJump } from './jump.js';
import { setUpNotify } from './notify.js';
import { autoGrow, composerKey, replyingTo, submitEdit, cancelComposing } from './composer/context.js';
import { setUpSuggestions, suggestionKey } from './composer/autocomplete.js';
import { setUpPicker } from './picker.js';
import { askDelete, setUpMessageActions } from './message_actions.js';
import { phrase } from './i18n.js';
import { languagePickers } from './render/language.js';
import { checkTrust } from './trust_hint.js';
import { keepPageOffline } from './offline.js';
import { setUpCalls } from './calls/actions.js';
import { touchOnly } from './calls/state.js';
import { setUpHost } from './host/actions.js';

/** Within this many pixels of the top, older messages are fetched. */
const NEAR_TOP_PX = 160;
/** A search for people goes out once typing pauses this long. */
const WHO_DEBOUNCE_MS = 200;

/** @param {Event} event @param {string} selector */
function closest(event, selector) {
  const found = /** @type {HTMLElement} */ (event.target).closest(selector);
  return found instanceof HTMLElement ? found : null;
}

/** Asks for older messages while the view is not full enough to scroll. */
function fillView() {
  if (state.screen !== 'app') return;
  if (els.messages.scrollHeight <= els.messages.clientHeight + NEAR_TOP_PX) requestOlder();
}

// Joining

els.keyForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = /** @type {HTMLButtonElement} */ (els.keyForm.querySelector('button[type=submit]'));
  button.disabled = true;
  await act.submitKey(els.keyInput.value);
  button.disabled = false;
});

els.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = els.joinCodeBox.open ? els.joinCode.value.replace(/[^a-z0-9]/gi, '').toUpperCase() : '';
  act.submitJoin(els.joinName.value.trim(), code);
});

// Writing

els.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  // An edit puts its draft back itself.
  if (submitEdit(els.input.value, askDelete)) return;
  if (!act.sendMessage(els.input.value, replyingTo())) return;
  cancelComposing();
  els.input.value = '';
  autoGrow();
});
els.input.addEventListener('keydown', (event) => {
  if (suggestionKey(event) || composerKey(event)) return;
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    els.composer.requestSubmit();
  }
});
els.input.addEventListener('input', () => {
  autoGrow();
  act.noteTyping(els.input.value);
});
// A narrower composer (a phone turned, the camera button shown) wraps the
// text anew; on the next frame, so growing it is not a resize in the loop.
let composerWidth = 0;
new ResizeObserver(([entry]) => {
  if (entry.contentRect.width === composerWidth) return;
  composerWidth = entry.contentRect.width;
  requestAnimationFrame(autoGrow);
}).observe(els.input);
els.timeline.addEventListener('click', (event) => {
  const picture = closest(event, 'button[data-picture]');
  if (picture) {
    act.openLightbox(picture);
    return;
  }
  const cancel = closest(event, 'button[data-cancel-upload]');
  if (cancel) {
    act.cancelFile(cancel.dataset.cancelUpload || '', cancel.dataset.cid || '');
    return;
  }
  const button = closest(event, 'button[data-action]');
  if (!button) return;
  const cid = button.dataset.cid || '';
  if (button.dataset.action === 'retry') {
    retryEntry(cid);
  } else {
    discardEntry(cid);
    els.input.focus();
  }
});

// Files: the paperclip (and the camera on phones), dropping anywhere on the
// page, pasting; the tray's cancel buttons; the lightbox.

els.attach.addEventListener('click', () => els.fileInput.click());
els.camera.addEventListener('click', () => els.cameraInput.click());
for (const input of [els.fileInput, els.cameraInput]) {
  input.addEventListener('change', () => {
    act.attach([...(input.files || [])]);
    input.value = '';
  });
}
els.trayList.addEventListener('click', (event) => {
  const cancel = closest(event, 'button[data-cancel-upload]');
  if (cancel) act.cancelFile(cancel.dataset.cancelUpload || '', '');
});
/** @param {DragEvent} event */
const carriesFiles = (event) => Boolean(event.dataTransfer?.types.includes('Files'));
/** dragenter and dragleave come for every element crossed: count them. */
let dragDepth = 0;
els.app.addEventListener('dragenter', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  act.setDragging(true);
});
els.app.addEventListener('dragleave', (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) act.setDragging(false);
});
// Dropped anywhere, a file is ours: never let the browser open it instead.
window.addEventListener('dragover', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = state.screen === 'app' ? 'copy' : 'none';
});
window.addEventListener('drop', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  act.setDragging(false);
  if (state.screen === 'app') act.attach([...(event.dataTransfer?.files || [])]);
});
document.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files || [])];
  if (state.screen !== 'app' || files.length === 0) return;
  // A picture pasted; text pastes as usual.
  event.preventDefault();
  act.attach(files);
});
els.lightbox.addEventListener('click', (event) => {
  if (event.target === els.lightbox || closest(event, '[data-close]')) els.lightbox.close();
});
els.lightbox.addEventListener('close', act.lightboxClosed);

// The timeline's view

els.messages.addEventListener('scroll', () => {
  if (els.timeline.dataset.room !== state.active) return;
  const atBottom = viewAtBottom();
  const room = state.rooms.get(state.active);
  if (room) {
    room.atBottom = atBottom;
    room.scrollTop = els.messages.scrollTop;
  }
  if (atBottom !== state.view.atBottom || (atBottom && state.newBelow > 0)) {
    state.view.atBottom = atBottom;
    if (atBottom) state.newBelow = 0;
    changed('view');
  }
  if (els.messages.scrollTop < NEAR_TOP_PX) requestOlder();
  markReadIfSeen();
}, { passive: true });
els.loadOlder.addEventListener('click', requestOlder);
els.newPill.addEventListener('click', () => {
  els.messages.scrollTo({ top: els.messages.scrollHeight, behavior: 'smooth' });
  state.newBelow = 0;
  changed('view');
  els.input.focus();
});
onRendered(fillView);
onRendered(markReadIfSeen);

// Rooms

// The sidebar's links carry the room in their href; the address decides.
window.addEventListener('hashchange', () => {
  if (location.hash.slice(1).includes('=')) {
    readAddress();
    followLink();
    return;
  }
  openRoom(roomFromHash());
});
els.sidebar.addEventListener('click', (event) => {
  const join = closest(event, 'button[data-join]');
  if (join) {
    act.joinRoom(join.dataset.join || '');
    return;
  }
  const link = closest(event, 'a[data-room]');
  // Opening the room on screen again just closes the drawer.
  if (link && link.dataset.room === state.active) act.setDrawer('');
});
els.roomsToggle.addEventListener('click', () => act.setDrawer(state.drawer === 'sidebar' ? '' : 'sidebar'));
els.sidebarClose.addEventListener('click', () => act.setDrawer(''));
els.sidebarBackdrop.addEventListener('click', () => act.setDrawer(''));
els.roomAdd.addEventListener('click', act.openRoomDialog);
els.publicList.addEventListener('click', (event) => {
  const button = closest(event, 'button[data-join]');
  if (button) act.joinRoom(button.dataset.join || '');
});
els.createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  act.createRoom(els.createName.value, els.createPrivate.checked);
});
for (const dialog of [els.roomDialog, els.inviteDialog]) {
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog || closest(event, '[data-close]')) dialog.close();
  });
  dialog.addEventListener('close', act.dialogClosed);
}
els.roomInvite.addEventListener('click', act.openInviteDialog);
els.roomLeave.addEventListener('click', act.leaveRoom);
els.inviteForm.addEventListener('submit', (event) => {
  event.preventDefault();
  act.invite(els.inviteName.value.trim());
});
els.linkMake.addEventListener('click', act.makeLink);
els.linkCopy.addEventListener('click', act.copyLink);

// People

els.peopleToggle.addEventListener('click', () => act.setDrawer(state.drawer === 'people' ? '' : 'people'));
els.peopleClose.addEventListener('click', () => act.setDrawer(''));
els.peopleBackdrop.addEventListener('click', () => act.setDrawer(''));
/** @type {number | undefined} */
let whoTimer;
// Past the roster limit: search as the user types, once typing pauses.
els.peopleSearchInput.addEventListener('input', () => {
  state.who.query = els.peopleSearchInput.value;
  changed('who');
  clearTimeout(whoTimer);
  whoTimer = setTimeout(requestWho, WHO_DEBOUNCE_MS);
});
els.peopleSearchInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') {
    event.preventDefault();
    clearTimeout(whoTimer);
    requestWho();
  } else if (event.key === 'Escape' && state.who.query !== '') {
    // Escape empties the search first; a second one closes the panel.
    event.preventDefault();
    event.stopPropagation();
    state.who.query = '';
    changed('who');
    clearTimeout(whoTimer);
    requestWho();
  }
});
// A window widened past the drawer shows the panel, and its search.
peopleDrawer.addEventListener('change', searchIfShown);
els.people.addEventListener('click', (event) => {
  const button = closest(event, 'button[data-dm]');
  if (button) act.openDirect(button.dataset.dm || '');
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.drawer !== '') act.setDrawer('');
});
els.renameOpen.addEventListener('click', act.openRename);
els.renameCancel.addEventListener('click', act.closeRename);
els.renameInput.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') act.closeRename();
});
els.renameForm.addEventListener('submit', (event) => {
  event.preventDefault();
  act.submitRename(els.renameInput.value.trim());
});
els.moveOpen.addEventListener('click', act.askTransferCode);

// The language, from any of its pickers.

for (const picker of languagePickers()) {
  picker.addEventListener('change', () => act.chooseLanguage(picker.value));
}

// The connection, the tab and the other tabs

els.retryNow.addEventListener('click', retryNow);
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  state.unread = 0;
  changed('visible');
  retryNow();
  checkAlive();
  markReadIfSeen();
});
window.addEventListener('online', retryNow);
window.addEventListener('offline', () => changed('offline'));
// A laptop folded into a tablet loses (or gets back) sharing its screen.
touchOnly.addEventListener('change', () => changed('call'));
window.addEventListener('storage', onStorage);
window.addEventListener('online', runUploads);
window.addEventListener('pagehide', releaseLease);

setUpSearch();
setUpJump();
setUpNotify();
setUpSuggestions();
setUpPicker();
setUpMessageActions();
setUpCalls();
setUpHost();
loadOutbox();
loadUploads();
readAddress();
startLeaseTimer();
keepPageOffline();
changed('start');
checkTrust();
checkAccess().then((access) => {
  if (access === 'denied') act.showKeyGate(state.key ? phrase('key.stale') : null);
  else act.enter();
});
