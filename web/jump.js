// Jumping into a room's past: to a message (a search result, a notification)
// with `history` `around`, or to a date with `at`. The room then shows a page
// of the past, not its latest messages: it pages back with `before` as
// usual, and forward with `after` as the reader scrolls down, until the
// server says nothing is newer (`has_newer: false`) and the room is live
// again. Meanwhile live messages are not added (they would leave a hole),
// the room is not marked read, and "Jump to latest" goes straight back.

import { PAGE_SIZE } from './protocol.js';
import { changed, state } from './state.js';
import { isReady, send } from './connection.js';
import { activeRoom, addMessage, markReadIfSeen, resetTimeline } from './rooms.js';
import { navigate } from './navigation.js';
import { els } from './dom.js';
import { onRendered } from './render/index.js';

/** @typedef {import('./state.js').Room} Room */

/** Within this many pixels of the end, newer messages are fetched. */
const NEAR_END_PX = 160;

const latestButton = /** @type {HTMLButtonElement} */ (document.getElementById('jump-latest'));
const dateForm = /** @type {HTMLFormElement} */ (document.getElementById('date-form'));
const dateInput = /** @type {HTMLInputElement} */ (document.getElementById('date-input'));
const searchDialog = /** @type {HTMLDialogElement} */ (document.getElementById('search-dialog'));

/** Whether live messages belong at the end of the room's timeline. @param {Room} room */
export function showsLive(room) {
  return !room.hasNewer && room.request !== 'around';
}

/**
 * Opens `name` at message `seq` and highlights it: at once when the
 * timeline has it, else after the page around it comes.
 * @param {string} name
 * @param {number} seq
 */
export function jumpTo(name, seq) {
  const room = state.rooms.get(name);
  if (!room) return;
  state.highlight = { room: name, seq };
  state.view.jumpTo = seq;
  if (room.loaded && room.seqs.has(seq) && room.request !== 'around') {
    navigate(name);
    changed('jump');
    return;
  }
  room.jump = { around: seq };
  // Asked before the room opens, so opening it asks for nothing else.
  sendJump(room);
  navigate(name);
}

/** Opens the room on screen at the first message on or after `day` (ms, local midnight). @param {number} day */
export function jumpToDate(day) {
  const room = activeRoom();
  state.highlight = { room: room.name, seq: 0 };
  state.view.jumpTo = 0;
  room.jump = { at: day };
  sendJump(room);
}

/** Back to the room's latest messages, live. */
export function jumpToLatest() {
  const room = activeRoom();
  room.jump = null;
  state.highlight = { room: '', seq: 0 };
  if (room.request || !isReady()) return;
  resetTimeline(room);
  room.hasNewer = false;
  room.loaded = false;
  room.request = 'latest';
  state.view.toEnd = true;
  send({ type: 'history', room: room.name, limit: PAGE_SIZE });
  changed('jump');
  els.messages.focus();
}

/** Sends the room's waiting jump, unless another request is out. @param {Room} room */
function sendJump(room) {
  const jump = room.jump;
  if (!jump || room.request || !isReady()) return;
  room.jump = null;
  room.request = 'around';
  const where = jump.at !== undefined ? { at: jump.at } : { around: jump.around };
  room.jumpAt = jump.at;
  send({ type: 'history', room: room.name, limit: PAGE_SIZE, ...where });
  changed('history');
}

/** Pages forward through a room shown after a jump. */
export function requestNewer() {
  const room = activeRoom();
  if (!room.hasNewer || room.request || !isReady()) return;
  room.request = 'newer';
  send({ type: 'history', room: room.name, after: room.lastSeq, limit: PAGE_SIZE });
  changed('history');
}

/**
 * The answer to a jump (`around`, `at`) or to paging forward.
 * @param {Room} room
 * @param {'around' | 'newer'} request
 * @param {import('./protocol.js').HistoryFrame} frame
 */
export function applyJumpPage(room, request, frame) {
  if (request === 'around') {
    resetTimeline(room);
    room.loaded = true;
    room.hasOlder = frame.has_more;
    // A date past the last message gets the latest page, which says nothing of newer ones.
    const at = room.jumpAt;
    room.jumpAt = undefined;
    if (at !== undefined) {
      const first = frame.messages.find((message) => message.timestamp >= at) ||
        frame.messages[frame.messages.length - 1];
      state.highlight = { room: room.name, seq: first ? first.seq : 0 };
      state.view.jumpTo = state.highlight.seq;
      if (!first) state.view.toEnd = true;
    }
  } else {
    // A page came below the rows in view: they stay where they are.
    state.view.keepPlace = room.name === state.active;
  }
  room.hasNewer = frame.has_newer === true;
  for (const message of frame.messages) addMessage(room, message);
  if (!room.hasNewer && room.seq > room.lastSeq) {
    // Live messages came while we were in the past; fetch them.
    room.request = 'since';
    send({ type: 'history', room: room.name, since: room.lastSeq });
  }
  changed('history');
  markReadIfSeen();
}

/** After any `history`: a jump that waited for it goes now. @param {Room} room */
export function afterHistory(room) {
  sendJump(room);
}

/** Whether the end of the view is close: time for newer messages, if any. */
function nearEnd() {
  const view = els.messages;
  return view.scrollHeight - view.scrollTop - view.clientHeight < NEAR_END_PX;
}

export function setUpJump() {
  els.messages.addEventListener('scroll', () => {
    if (els.timeline.dataset.room === state.active && nearEnd()) requestNewer();
  }, { passive: true });
  // A page too short to scroll could never be scrolled down to.
  onRendered(() => {
    if (state.screen === 'app' && nearEnd()) requestNewer();
  });
  latestButton.addEventListener('click', jumpToLatest);
  dateForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const day = dateInput.valueAsDate;
    if (!day) return;
    // The input's date is a UTC midnight; the day meant is the reader's.
    jumpToDate(new Date(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()).getTime());
    searchDialog.close();
  });
}
