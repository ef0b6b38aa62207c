// The room on screen: its messages (each filled by message.js) and notices
// with day separators, what waits in the outbox ("sending…", its files'
// progress, or refused with Retry and Discard), the top edge ("Load older
// messages" or the beginning), who is typing, and the "new messages" pill.
// It keeps the view where the reader left it: at the end while they are
// there, else still on the same row as rows come and go; a jump brings its
// message into view.

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { currentLanguage, t } from '../i18n.js';
import { dayKey, dayLabel, formatList } from '../format.js';
import { activeRoom, roomLabel } from '../rooms.js';
import {
  appendLinkified, els, isOwnName, nameHue, setText, timeElement,
} from '../dom.js';
import { fillUploadList } from './uploads.js';
import { revealJump } from './jump.js';
import { fillMessage, messageRowFor, quoteButton } from './message.js';
import { fillSystem, systemRowFor } from './system.js';

/** Within this many pixels of the end counts as being at it. */
const NEAR_BOTTOM_PX = 48;
/** Consecutive messages from one sender this close together share a header. */
const GROUP_GAP_MS = 5 * 60 * 1000;

/** Rendered rows of the room on screen, by entry key. @type {Map<string, HTMLElement>} */
const rows = new Map();

/** Whether the view shows the end of the timeline. */
export function viewAtBottom() {
  const view = els.messages;
  return view.scrollHeight - view.scrollTop - view.clientHeight <= NEAR_BOTTOM_PX;
}

export function renderTimeline() {
  const room = activeRoom();
  const view = els.messages;
  const list = els.timeline;
  // Another room, or the same in another language: every row is drawn anew.
  const drawn = `${currentLanguage()}\n${room.name}`;
  const switched = list.dataset.drawn !== drawn;
  const sameRoom = list.dataset.room === room.name;
  // Where the reader is, before anything moves. The end of a page of the
  // past (after a jump) is not the room's: rows coming below it stay below.
  const follow = !state.view.keepPlace && !room.hasNewer;
  const stick = switched && !sameRoom ? room.atBottom : state.view.toEnd || (follow && viewAtBottom());
  const anchor = switched || stick ? null : firstVisibleRow();
  const anchorBottom = anchor ? anchor.getBoundingClientRect().bottom : 0;
  const keptTop = view.scrollTop;
  if (switched) {
    // Nothing to reuse.
    list.dataset.room = room.name;
    list.dataset.drawn = drawn;
    list.replaceChildren();
    rows.clear();
  }
  renderRows(room);
  renderHistoryEdge(room);
  if (revealJump()) {
    // The message jumped to is in the middle of the view.
  } else if (stick) {
    view.scrollTop = view.scrollHeight;
  } else if (switched) {
    view.scrollTop = sameRoom ? keptTop : room.scrollTop;
  } else if (anchor && anchor.isConnected) {
    // Rows came above (an older page) or changed: keep the anchor still.
    // Only when it moved, so a smooth scroll under way goes on.
    const moved = anchor.getBoundingClientRect().bottom - anchorBottom;
    if (Math.abs(moved) >= 1) view.scrollTop += moved;
  }
  state.view.toEnd = false;
  state.view.keepPlace = false;
  state.view.atBottom = viewAtBottom();
  if (state.screen === 'app') {
    room.atBottom = state.view.atBottom;
    room.scrollTop = view.scrollTop;
  }
  renderTyping(room);
  renderPill();
}

/** The first message or notice at least partly in view. */
function firstVisibleRow() {
  const top = els.messages.getBoundingClientRect().top;
  for (const row of els.timeline.querySelectorAll(':scope > .msg, :scope > .notice')) {
    if (row.getBoundingClientRect().bottom > top) return row;
  }
  return null;
}

/**
 * Makes the list match the room's timeline plus its outbox, reusing rows by
 * key, with day separators between days.
 * @param {import('../state.js').Room} room
 */
function renderRows(room) {
  const list = els.timeline;
  const used = new Set();
  let cursor = list.firstElementChild;
  /** @param {HTMLElement} row */
  const place = (row) => {
    if (row === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(row, cursor);
  };
  let previousDay = '';
  /** @type {{username: string, timestamp: number} | null} */
  let previous = null;
  /** @type {Map<number, import('../protocol.js').MessageFrame>} */
  const bySeq = new Map();
  for (const item of room.timeline) if (item.kind === 'message') bySeq.set(item.frame.seq, item.frame);
  /** @param {number} seq */
  const lookup = (seq) => bySeq.get(seq);
  // Edits, deletions and reactions on their way show on their message, not as rows.
  const items = [
    ...room.timeline,
    ...state.outbox.filter((entry) => entry.room === room.name && !entry.kind)
      .map((entry) => ({ kind: /** @type {const} */ ('outbox'), key: `o${entry.cid}`, entry })),
  ];
  for (const item of items) {
    const timestamp = item.kind === 'message' ? item.frame.timestamp
      : item.kind === 'outbox' ? item.entry.createdAt : item.timestamp;
    const day = dayKey(timestamp);
    if (day !== previousDay) {
      previousDay = day;
      previous = null;
      const key = `d${day}`;
      used.add(key);
      place(dayRow(key, timestamp));
    }
    used.add(item.key);
    let row;
    let author = null;
    if (item.kind === 'message') {
      row = messageRow(item.key, item.frame, room, lookup);
      author = item.frame.username;
    } else if (item.kind === 'outbox') {
      row = outboxRow(item.key, item.entry, lookup);
      author = item.entry.sentAs;
    } else {
      row = noticeRow(item.key, item.text, item.timestamp, item.tone);
    }
    const continued = author !== null && previous !== null && previous.username === author &&
      timestamp - previous.timestamp < GROUP_GAP_MS;
    row.classList.toggle('continued', continued);
    previous = author === null ? null : { username: author, timestamp };
    place(row);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
  for (const key of rows.keys()) {
    if (!used.has(key)) rows.delete(key);
  }
}

/** @param {string} key @param {number} timestamp */
function dayRow(key, timestamp) {
  let row = rows.get(key);
  if (!row) {
    row = document.createElement('li');
    row.className = 'day';
    row.append(document.createElement('span'));
    rows.set(key, row);
  }
  setText(/** @type {HTMLElement} */ (row.firstElementChild), dayLabel(timestamp));
  return row;
}

/**
 * @param {string} key @param {import('../protocol.js').MessageFrame} frame
 * @param {import('../state.js').Room} room
 * @param {(seq: number) => import('../protocol.js').MessageFrame | undefined} lookup
 */
function messageRow(key, frame, room, lookup) {
  let row = rows.get(key);
  if (!row) {
    row = frame.system ? systemRowFor(frame) : messageRowFor(frame);
    rows.set(key, row);
  }
  // A host action or a call's start or end: a line of its own, worded by the page.
  if (frame.system) {
    fillSystem(row, frame);
    return row;
  }
  // Our name can change, so whose message it is is decided on every render.
  const own = isOwnName(frame.username);
  row.classList.toggle('own', own);
  row.classList.toggle('other', !own);
  fillMessage(row, frame, room, lookup);
  return row;
}

/**
 * @param {string} key @param {import('../state.js').OutboxEntry} entry
 * @param {(seq: number) => import('../protocol.js').MessageFrame | undefined} lookup
 */
function outboxRow(key, entry, lookup) {
  let row = rows.get(key);
  if (!row) {
    row = bubble(entry.sentAs, entry.text, entry.createdAt);
    row.dataset.cid = entry.cid;
    if (entry.replyTo) row.querySelector('.meta')?.after(quoteButton(entry.replyTo, lookup(entry.replyTo)));
    row.classList.add('own');
    const uploads = document.createElement('ul');
    uploads.className = 'upload-list';
    row.querySelector('.bubble')?.prepend(uploads);
    const status = document.createElement('div');
    status.className = 'status';
    row.querySelector('.bubble-wrap')?.append(status);
    rows.set(key, row);
  }
  const failed = entry.status === 'failed';
  const uploads = /** @type {HTMLElement} */ (row.querySelector('.upload-list'));
  fillUploadList(uploads, entry.files || [], entry.cid);
  uploads.hidden = !entry.files;
  row.classList.toggle('pending', !failed);
  row.classList.toggle('failed', failed);
  const status = /** @type {HTMLElement} */ (row.querySelector('.status'));
  const shown = failed ? `failed:${JSON.stringify(entry.reason)}` : `pending:${Boolean(entry.files)}`;
  if (status.dataset.shown !== shown) {
    status.dataset.shown = shown;
    status.replaceChildren();
    if (failed) {
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = t('outbox.not_sent', { why: entry.reason || { key: 'errors.refused' } });
      status.append(reason, actionButton(t('outbox.retry'), 'retry', entry.cid),
        actionButton(t('outbox.discard'), 'discard', entry.cid));
    } else {
      status.textContent = entry.files ? t('outbox.sending_files') : t('outbox.sending');
    }
  }
  return row;
}

/** @param {string} label @param {string} action @param {string} cid */
function actionButton(label, action, cid) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link-button';
  button.textContent = label;
  button.dataset.action = action;
  button.dataset.cid = cid;
  return button;
}

/**
 * A row for a message not stored yet: sender, time (full date on hover)
 * and its text as written, with links (none when it has only files).
 * @param {string} username
 * @param {string} text
 * @param {number} timestamp
 */
function bubble(username, text, timestamp) {
  const row = document.createElement('li');
  row.className = 'msg';
  row.style.setProperty('--hue', String(nameHue(username)));
  const wrap = document.createElement('div');
  wrap.className = 'bubble-wrap';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const author = document.createElement('bdi');
  author.className = 'author';
  author.textContent = username;
  meta.append(author, ' ', timeElement(timestamp));
  const body = document.createElement('div');
  body.className = 'bubble';
  if (text !== '') {
    const content = document.createElement('p');
    content.className = 'text';
    content.dir = 'auto';
    appendLinkified(content, text);
    body.append(content);
  }
  wrap.append(meta, body);
  row.append(wrap);
  return row;
}

/** @param {string} key @param {import('../i18n.js').Phrase} text @param {number} timestamp @param {string} tone */
function noticeRow(key, text, timestamp, tone) {
  let row = rows.get(key);
  if (!row) {
    row = document.createElement('li');
    row.className = `notice ${tone}`;
    const span = document.createElement('span');
    span.textContent = t(text);
    row.append(span, ' ', timeElement(timestamp));
    rows.set(key, row);
  }
  return row;
}

/** The top of the list: "load older", or the start of the room. @param {import('../state.js').Room} room */
function renderHistoryEdge(room) {
  const loading = room.request === 'older';
  const any = room.timeline.some((entry) => entry.kind === 'message');
  els.loadOlder.hidden = !room.hasOlder;
  setText(els.loadOlder, loading ? t('timeline.loading_older') : t('timeline.load_older'));
  els.loadOlder.disabled = loading;
  els.historyStart.hidden = room.hasOlder || state.me === '' || !room.loaded;
  let start = t('timeline.start_lobby');
  if (room.kind === 'dm') start = t('timeline.start_direct', { name: room.peer });
  else if (room.name !== LOBBY) start = t('timeline.start_room', { room: `#${roomLabel(room)}` });
  setText(els.historyStart, any ? start : t('timeline.empty'));
}

/** @param {import('../state.js').Room} room */
function renderTyping(room) {
  const names = [...room.typing.keys()].filter((name) => name !== state.me);
  let text = '';
  if (names.length > 3) text = t('timeline.typing_several');
  else if (names.length > 0) text = t('timeline.typing', { count: names.length, names: formatList(names) });
  setText(els.typing, text);
}

function renderPill() {
  const count = state.view.atBottom || activeRoom().hasNewer ? 0 : state.newBelow;
  els.newPill.hidden = count === 0;
  setText(els.newPillText, t('timeline.new_pill', { count }));
}
