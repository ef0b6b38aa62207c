// lanchat's web page: joins the lobby over a WebSocket and keeps the view in
// step with the server, without losing or repeating a message.
//
// Order: message types, constants, state, element refs, the socket, one
// handler per server frame, render functions (each safe to run twice), then
// setup. User text reaches the page only through `textContent` and text nodes.
'use strict';

// ---------------------------------------------------------------------------
// Message types (see the README's "Protocol" section)

/**
 * @typedef {object} MessageFrame
 * @property {'message'} type
 * @property {string} id
 * @property {number} seq       increases strictly within the room
 * @property {string} room
 * @property {string} username
 * @property {string} message
 * @property {number} timestamp milliseconds since the epoch, from the server
 * @property {string} [cid]     the sender's id for this message
 *
 * @typedef {{type: 'welcome', protocol: number, username: string, room: string, users: string[], seq: number}} WelcomeFrame
 * @typedef {{type: 'history', room: string, messages: MessageFrame[], has_more: boolean}} HistoryFrame
 * @typedef {{type: 'join' | 'leave', room: string, username: string, timestamp: number}} PresenceFrame
 * @typedef {{type: 'rename', room: string, from: string, to: string, timestamp: number}} RenameFrame
 * @typedef {{type: 'typing', room: string, username: string, active: boolean}} TypingFrame
 * @typedef {{type: 'error', code: string, message: string, cid?: string}} ErrorFrame
 *
 * A message written here that the server has not acknowledged yet. Kept in
 * localStorage so it survives a reload.
 * @typedef {object} OutboxEntry
 * @property {string} cid
 * @property {string} text
 * @property {number} createdAt
 * @property {string} sentAs      the name it was written under
 * @property {'pending' | 'failed'} status
 * @property {string} [reason]    why the server refused it
 * @property {number} [sentAt]    when it last went out on a connection
 *
 * One row of the timeline: a stored message or a system notice.
 * @typedef {{kind: 'message', key: string, frame: MessageFrame} | {kind: 'notice', key: string, text: string, timestamp: number, tone: string}} TimelineEntry
 */

// ---------------------------------------------------------------------------
// Constants

const APP_TITLE = 'lanchat';
const NAME_KEY = 'lanchat.name';
const OUTBOX_KEY = 'lanchat.outbox';
const MAX_NAME_CHARS = 32;
const MAX_MESSAGE_CHARS = 4000;
/** Reconnect delays grow from about 1 s to 30 s, with jitter. */
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
/** A connection not welcomed by then is given up and retried. */
const CONNECT_TIMEOUT_MS = 10000;
/**
 * A sent message not echoed by then means the connection is dead without
 * having closed (a server that vanished from the network, a laptop that
 * slept): drop it and reconnect. Re-sending with the same cid is safe.
 */
const ACK_TIMEOUT_MS = 10000;
/** The server passes a typing refresh on at most every 2 s. */
const TYPING_REFRESH_MS = 2000;
/** The server ends typing after 5 s; this clears one whose end we missed. */
const TYPING_EXPIRY_MS = 7000;
const PAGE_SIZE = 50;
/** Within this many pixels of an edge counts as being at it. */
const NEAR_BOTTOM_PX = 48;
const NEAR_TOP_PX = 160;
/** Consecutive messages from one sender this close together share a header. */
const GROUP_GAP_MS = 5 * 60 * 1000;
const COMPOSER_MAX_PX = 160;
/** What a screen reader hears when the connection changes. */
const CONNECTION_WORDS = {
  connected: 'Connected.',
  waiting: 'Connection lost. Reconnecting.',
  refused: 'Not connected.',
};
/** Hues for names and avatars: blue, violet, pink, red, orange, green, teal, cyan. */
const NAME_HUES = [212, 262, 328, 4, 24, 140, 172, 192];
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'")\]}]+$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
});

// ---------------------------------------------------------------------------
// State

const state = {
  /** The name to connect with: remembered, typed, or confirmed by the server. */
  name: readStorage(NAME_KEY) || '',
  /** The name the server knows us by, once welcomed. */
  me: '',
  /** Every name we had in this tab, so our messages stay ours after a rename. */
  myNames: new Set(),
  /** @type {WebSocket | null} */
  socket: null,
  /** 'connecting' | 'connected' | 'waiting' | 'refused' */
  connection: 'connecting',
  /** Failed attempts since the last welcome; drives the backoff. */
  attempt: 0,
  retryAt: 0,
  /** @type {number | undefined} */
  retryTimer: undefined,
  /** @type {number | undefined} */
  countdownTimer: undefined,
  /** @type {number | undefined} */
  connectTimer: undefined,
  /** @type {number | undefined} */
  ackTimer: undefined,
  /** True between `welcome` and the replay that follows it. */
  awaitingReplay: false,
  /** True when this connection asked to resume with `since`. */
  resuming: false,
  /** Highest seq shown; everything up to it is here, so resume after it. */
  lastSeq: 0,
  /** Lowest seq shown; older pages are requested before it. */
  oldestSeq: 0,
  hasOlder: false,
  loadingOlder: false,
  /** @type {TimelineEntry[]} oldest first */
  timeline: [],
  /** Seqs in the timeline, so each message shows once. */
  seqs: new Set(),
  noticeCount: 0,
  /** @type {OutboxEntry[]} */
  outbox: loadOutbox(),
  /** @type {string[]} */
  users: [],
  /** Who is typing, each with the timer that clears them. @type {Map<string, number>} */
  typing: new Map(),
  /** When we last told the server we are typing; 0 when we are not. */
  typingSentAt: 0,
  /** Messages from others that arrived while the tab was hidden. */
  unread: 0,
  /** Messages from others that arrived below the view. */
  newBelow: 0,
  renamePending: false,
  /** Rendered rows, by entry key. @type {Map<string, HTMLElement>} */
  rows: new Map(),
};

// ---------------------------------------------------------------------------
// Element refs

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const els = {
  join: byId('join'),
  joinForm: /** @type {HTMLFormElement} */ (byId('join-form')),
  joinName: /** @type {HTMLInputElement} */ (byId('join-name')),
  joinError: byId('join-error'),
  app: byId('app'),
  connDot: byId('conn-dot'),
  connText: byId('conn-text'),
  connLive: byId('conn-live'),
  retryNow: byId('retry-now'),
  peopleToggle: byId('people-toggle'),
  peopleToggleCount: byId('people-toggle-count'),
  messages: byId('messages'),
  loadOlder: byId('load-older'),
  historyStart: byId('history-start'),
  timeline: byId('timeline'),
  newPill: byId('new-pill'),
  newPillText: byId('new-pill-text'),
  typing: byId('typing'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  input: /** @type {HTMLTextAreaElement} */ (byId('message-input')),
  people: byId('people'),
  peopleCount: byId('people-count'),
  peopleList: byId('people-list'),
  peopleClose: byId('people-close'),
  peopleBackdrop: byId('people-backdrop'),
  meName: byId('me-name'),
  renameOpen: byId('rename-open'),
  renameForm: /** @type {HTMLFormElement} */ (byId('rename-form')),
  renameInput: /** @type {HTMLInputElement} */ (byId('rename-input')),
  renameError: byId('rename-error'),
  renameCancel: byId('rename-cancel'),
  announcer: byId('announcer'),
};

// ---------------------------------------------------------------------------
// The socket

function connect() {
  clearRetry();
  if (state.socket) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  state.resuming = state.lastSeq > 0;
  const since = state.resuming ? `?since=${state.lastSeq}` : '';
  const url = `${scheme}//${location.host}/ws/${encodeURIComponent(state.name)}${since}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  state.me = '';
  state.connection = 'connecting';
  renderConnection();
  socket.addEventListener('message', (event) => {
    if (socket === state.socket) receive(event.data);
  });
  socket.addEventListener('close', () => {
    if (socket === state.socket) onClose();
  });
  // A server that vanished from the network can leave a connect hanging for
  // minutes; give up sooner and retry.
  state.connectTimer = setTimeout(() => {
    if (socket === state.socket && state.me === '') dropConnection();
  }, CONNECT_TIMEOUT_MS);
}

/**
 * Gives up on the current socket now, without waiting for a closing
 * handshake that a dead connection would never finish.
 */
function dropConnection() {
  const socket = state.socket;
  if (!socket) return;
  onClose();
  socket.close();
}

function onClose() {
  clearTimeout(state.connectTimer);
  clearTimeout(state.ackTimer);
  state.socket = null;
  state.me = '';
  state.awaitingReplay = false;
  state.loadingOlder = false;
  state.typingSentAt = 0;
  clearTyping();
  renderTyping();
  if (state.connection === 'refused') return;
  scheduleRetry();
}

/** Waits about 1, 2, 4 … 30 s (each halved at random, so tabs spread out). */
function scheduleRetry() {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
  const delay = cap / 2 + Math.random() * (cap / 2);
  state.attempt += 1;
  state.retryAt = Date.now() + delay;
  state.retryTimer = setTimeout(connect, delay);
  state.countdownTimer = setInterval(renderConnection, 250);
  state.connection = 'waiting';
  renderConnection();
}

function clearRetry() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  state.retryTimer = undefined;
  state.countdownTimer = undefined;
}

/** Skips the wait: for "Retry now", a visible tab, or the network coming back. */
function retryNow() {
  if (state.connection === 'waiting') connect();
}

function isReady() {
  return state.socket !== null && state.socket.readyState === WebSocket.OPEN &&
    state.me !== '' && !state.awaitingReplay;
}

/** @param {object} frame */
function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(frame));
  }
}

/** @param {string} data */
function receive(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return;
  }
  const handler = handlers[frame && frame.type];
  if (handler) handler(frame);
}

/** Sends what waits in the outbox, each with its original cid. */
function flushOutbox() {
  for (const entry of state.outbox) {
    if (entry.status === 'pending') transmit(entry);
  }
}

/** @param {OutboxEntry} entry */
function transmit(entry) {
  if (!isReady()) return;
  send({ type: 'message', message: entry.text, cid: entry.cid });
  entry.sentAt = Date.now();
  if (state.ackTimer === undefined) state.ackTimer = setTimeout(checkAcks, ACK_TIMEOUT_MS);
}

/** Reconnects if a message sent on this connection is overdue. */
function checkAcks() {
  state.ackTimer = undefined;
  const now = Date.now();
  const waiting = state.outbox.filter((entry) => entry.status === 'pending' && entry.sentAt);
  if (waiting.some((entry) => now - (entry.sentAt ?? now) >= ACK_TIMEOUT_MS)) {
    dropConnection();
  } else if (waiting.length > 0) {
    const oldest = Math.min(...waiting.map((entry) => entry.sentAt ?? now));
    state.ackTimer = setTimeout(checkAcks, oldest + ACK_TIMEOUT_MS - now);
  }
}

function requestOlder() {
  if (!state.hasOlder || state.loadingOlder || !isReady()) return;
  state.loadingOlder = true;
  send({ type: 'history', before: state.oldestSeq, limit: PAGE_SIZE });
  renderHistoryEdge();
}

// ---------------------------------------------------------------------------
// One handler per server frame

const handlers = {
  /** @param {WelcomeFrame} frame */
  welcome(frame) {
    clearTimeout(state.connectTimer);
    if (frame.seq < state.lastSeq) {
      // The server has fewer messages than we showed: its history was reset
      // (a new database, or a restarted --memory server). Seqs are reused,
      // so start over with a plain connect.
      resetTimeline();
      state.attempt = 0;
      dropConnection();
      return;
    }
    state.me = frame.username;
    state.myNames.add(frame.username);
    state.name = frame.username;
    writeStorage(NAME_KEY, frame.username);
    state.attempt = 0;
    state.connection = 'connected';
    state.awaitingReplay = true;
    state.users = frame.users.slice();
    clearTyping();
    renderConnection();
    renderPeople();
    renderTyping();
    renderTimeline();
  },

  /** @param {HistoryFrame} frame */
  history(frame) {
    if (state.awaitingReplay) {
      state.awaitingReplay = false;
      applyReplay(frame);
      flushOutbox();
    } else {
      applyOlderPage(frame);
    }
  },

  /** @param {MessageFrame} frame */
  message(frame) {
    const stick = isAtBottom() || isOwn(frame);
    if (!addMessage(frame, 'end')) {
      renderTimeline();
      return;
    }
    stopTypingOf(frame.username);
    if (!isOwn(frame)) {
      announce(`${frame.username}: ${frame.message}`);
      if (document.hidden) {
        state.unread += 1;
        renderTitle();
      }
      if (!stick) state.newBelow += 1;
    }
    renderTimeline();
    renderTyping();
    if (stick) scrollToBottom();
    renderPill();
  },

  /** @param {PresenceFrame} frame */
  join(frame) {
    if (!state.users.includes(frame.username)) state.users.push(frame.username);
    if (frame.username !== state.me) {
      addNotice(`${frame.username} joined`, frame.timestamp, 'join');
    }
    renderPeople();
  },

  /** @param {PresenceFrame} frame */
  leave(frame) {
    state.users = state.users.filter((user) => user !== frame.username);
    stopTypingOf(frame.username);
    if (frame.username !== state.me) {
      addNotice(`${frame.username} left`, frame.timestamp, 'leave');
    }
    renderPeople();
    renderTyping();
  },

  /** @param {RenameFrame} frame */
  rename(frame) {
    state.users = state.users.map((user) => (user === frame.from ? frame.to : user));
    stopTypingOf(frame.from);
    if (frame.from === state.me) {
      state.me = frame.to;
      state.myNames.add(frame.to);
      state.name = frame.to;
      writeStorage(NAME_KEY, frame.to);
      state.renamePending = false;
      closeRename();
      addNotice(`You are now ${frame.to}`, frame.timestamp, 'rename');
    } else {
      addNotice(`${frame.from} is now ${frame.to}`, frame.timestamp, 'rename');
    }
    renderPeople();
    renderTyping();
  },

  /** @param {TypingFrame} frame */
  typing(frame) {
    if (frame.username === state.me) return;
    stopTypingOf(frame.username);
    if (frame.active) {
      const timer = setTimeout(() => {
        state.typing.delete(frame.username);
        renderTyping();
      }, TYPING_EXPIRY_MS);
      state.typing.set(frame.username, timer);
    }
    renderTyping();
  },

  /** @param {ErrorFrame} frame */
  error(frame) {
    const entry = frame.cid ? state.outbox.find((item) => item.cid === frame.cid) : undefined;
    if (entry) {
      entry.status = 'failed';
      entry.reason = frame.message;
      saveOutbox();
      renderTimeline();
      return;
    }
    if (state.renamePending && (frame.code === 'name_taken' || frame.code === 'invalid_username')) {
      state.renamePending = false;
      showRenameError(frame.message);
      return;
    }
    if (frame.code === 'invalid_username') {
      // The server refused the name we connected with and closes with 1008.
      refuseName(frame.message);
      return;
    }
    if (state.loadingOlder) {
      state.loadingOlder = false;
      renderHistoryEdge();
    }
    addNotice(`The server said: ${frame.message}`, Date.now(), 'error');
  },
};

/** The first `history` after `welcome`: everything since we last saw, or the latest. */
function applyReplay(frame) {
  const gap = state.resuming && frame.has_more;
  if (!state.resuming || gap) {
    // A fresh start, or too much was missed to join up: show the latest page.
    resetTimeline();
    state.hasOlder = frame.has_more;
  }
  const stick = !state.resuming || gap || isAtBottom();
  for (const message of frame.messages) addMessage(message, 'end');
  renderTimeline();
  if (stick) scrollToBottom();
  renderPill();
  fillView();
}

/** A reply to `requestOlder`: older messages go on top, and the view stays put. */
function applyOlderPage(frame) {
  state.loadingOlder = false;
  state.hasOlder = frame.has_more;
  const older = frame.messages.filter((message) => !state.seqs.has(message.seq));
  const fromBottom = els.messages.scrollHeight - els.messages.scrollTop;
  for (const message of older.reverse()) addMessage(message, 'start');
  renderTimeline();
  els.messages.scrollTop = els.messages.scrollHeight - fromBottom;
  fillView();
}

function resetTimeline() {
  state.timeline = [];
  state.seqs.clear();
  state.lastSeq = 0;
  state.oldestSeq = 0;
  state.hasOlder = false;
  renderTimeline();
}

/**
 * Adds a message unless it is already shown, and settles its outbox entry.
 * @param {MessageFrame} frame
 * @param {'start' | 'end'} where
 * @returns {boolean} whether it was new
 */
function addMessage(frame, where) {
  settleOutbox(frame);
  if (state.seqs.has(frame.seq)) return false;
  state.seqs.add(frame.seq);
  const entry = { kind: 'message', key: `m${frame.seq}`, frame };
  if (where === 'start') state.timeline.unshift(entry);
  else state.timeline.push(entry);
  state.lastSeq = Math.max(state.lastSeq, frame.seq);
  state.oldestSeq = state.oldestSeq === 0 ? frame.seq : Math.min(state.oldestSeq, frame.seq);
  return true;
}

/** @param {MessageFrame} frame */
function settleOutbox(frame) {
  if (!frame.cid) return;
  const index = state.outbox.findIndex((entry) => entry.cid === frame.cid &&
    (frame.username === entry.sentAs || frame.username === state.me));
  if (index === -1) return;
  state.outbox.splice(index, 1);
  saveOutbox();
}

/**
 * @param {string} text
 * @param {number} timestamp
 * @param {string} tone
 */
function addNotice(text, timestamp, tone) {
  const stick = isAtBottom();
  state.noticeCount += 1;
  state.timeline.push({ kind: 'notice', key: `n${state.noticeCount}`, text, timestamp, tone });
  renderTimeline();
  if (stick) scrollToBottom();
}

/** @param {string} username */
function stopTypingOf(username) {
  clearTimeout(state.typing.get(username));
  state.typing.delete(username);
}

function clearTyping() {
  for (const timer of state.typing.values()) clearTimeout(timer);
  state.typing.clear();
}

/** @param {MessageFrame} frame */
function isOwn(frame) {
  return isOwnName(frame.username);
}

// ---------------------------------------------------------------------------
// User actions

/** @param {string} text */
function sendMessage(text) {
  /** @type {OutboxEntry} */
  const entry = {
    cid: newCid(),
    text,
    createdAt: Date.now(),
    sentAs: state.me || state.name,
    status: 'pending',
  };
  state.outbox.push(entry);
  saveOutbox();
  state.typingSentAt = 0;
  transmit(entry);
  renderTimeline();
  scrollToBottom();
}

/** @param {string} cid */
function retryEntry(cid) {
  const entry = state.outbox.find((item) => item.cid === cid);
  if (!entry) return;
  entry.status = 'pending';
  delete entry.reason;
  saveOutbox();
  transmit(entry);
  renderTimeline();
}

/** @param {string} cid */
function discardEntry(cid) {
  state.outbox = state.outbox.filter((item) => item.cid !== cid);
  saveOutbox();
  renderTimeline();
  els.input.focus();
}

/** Tells the server we are typing (at most every 2 s) or that we stopped. */
function noteTyping() {
  const typing = els.input.value.trim() !== '';
  const now = Date.now();
  if (typing && now - state.typingSentAt >= TYPING_REFRESH_MS && isReady()) {
    state.typingSentAt = now;
    send({ type: 'typing', active: true });
  } else if (!typing && state.typingSentAt !== 0) {
    state.typingSentAt = 0;
    send({ type: 'typing', active: false });
  }
}

/** @param {string} name @returns {string} what is wrong with it, or '' */
function checkName(name) {
  const length = [...name].length;
  if (length === 0) return 'Please enter a name.';
  if (length > MAX_NAME_CHARS) return `Names can be at most ${MAX_NAME_CHARS} characters.`;
  if (CONTROL_CHARS.test(name)) return 'Names cannot contain invisible or control characters.';
  if (name.toLowerCase() === 'system') return '"system" is reserved; please pick another name.';
  return '';
}

/** @param {string} reason */
function refuseName(reason) {
  state.connection = 'refused';
  clearRetry();
  removeStorage(NAME_KEY);
  els.joinName.value = state.name;
  state.name = '';
  showJoin(`That name does not work: ${reason}`);
}

// ---------------------------------------------------------------------------
// Render functions: each brings one part of the page in line with the state

function renderConnection() {
  const { connection } = state;
  let text = 'Connecting…';
  if (connection === 'connected') {
    text = 'Connected';
  } else if (connection === 'waiting') {
    const seconds = Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000));
    text = navigator.onLine
      ? `Reconnecting in ${seconds} s`
      : `Offline · retrying in ${seconds} s`;
  } else if (connection === 'connecting' && state.attempt > 0) {
    text = 'Reconnecting…';
  } else if (connection === 'refused') {
    text = 'Not connected';
  }
  if (els.connText.textContent !== text) els.connText.textContent = text;
  if (els.connDot.dataset.state !== connection) {
    els.connDot.dataset.state = connection;
    els.connLive.textContent = CONNECTION_WORDS[connection] || '';
  }
  els.retryNow.hidden = connection !== 'waiting';
  // While disconnected the list of who is online may be out of date.
  els.people.classList.toggle('stale', connection !== 'connected');
}

/**
 * Makes the list match `state.timeline` plus the outbox, reusing rows by key,
 * with day separators between days.
 */
function renderTimeline() {
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
  const rows = [
    ...state.timeline,
    ...state.outbox.map((entry) => ({ kind: 'outbox', key: `o${entry.cid}`, entry })),
  ];
  for (const item of rows) {
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
      row = messageRow(item.key, item.frame);
      author = item.frame.username;
    } else if (item.kind === 'outbox') {
      row = outboxRow(item.key, item.entry);
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
  for (const key of state.rows.keys()) {
    if (!used.has(key)) state.rows.delete(key);
  }
  renderHistoryEdge();
}

/** @param {string} key @param {number} timestamp */
function dayRow(key, timestamp) {
  let row = state.rows.get(key);
  if (!row) {
    row = document.createElement('li');
    row.className = 'day';
    row.append(document.createElement('span'));
    state.rows.set(key, row);
  }
  const label = dayLabel(timestamp);
  const span = /** @type {HTMLElement} */ (row.firstElementChild);
  if (span.textContent !== label) span.textContent = label;
  return row;
}

/** @param {string} key @param {MessageFrame} frame */
function messageRow(key, frame) {
  let row = state.rows.get(key);
  if (!row) {
    row = bubble(frame.username, frame.message, frame.timestamp);
    row.dataset.seq = String(frame.seq);
    if (frame.cid) row.dataset.cid = frame.cid;
    state.rows.set(key, row);
  }
  // Our name can change, so whose message it is is decided on every render.
  const own = isOwnName(frame.username);
  row.classList.toggle('own', own);
  row.classList.toggle('other', !own);
  return row;
}

/** @param {string} key @param {OutboxEntry} entry */
function outboxRow(key, entry) {
  let row = state.rows.get(key);
  if (!row) {
    row = bubble(entry.sentAs, entry.text, entry.createdAt);
    row.dataset.cid = entry.cid;
    row.classList.add('own');
    const status = document.createElement('div');
    status.className = 'status';
    row.querySelector('.bubble-wrap')?.append(status);
    state.rows.set(key, row);
  }
  const failed = entry.status === 'failed';
  row.classList.toggle('pending', !failed);
  row.classList.toggle('failed', failed);
  const status = /** @type {HTMLElement} */ (row.querySelector('.status'));
  const shown = failed ? `failed:${entry.reason}` : 'pending';
  if (status.dataset.shown !== shown) {
    status.dataset.shown = shown;
    status.replaceChildren();
    if (failed) {
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = `Not sent: ${entry.reason || 'refused by the server'}`;
      status.append(reason, actionButton('Retry', 'retry', entry.cid),
        actionButton('Discard', 'discard', entry.cid));
    } else {
      status.textContent = 'sending…';
    }
  }
  return row;
}

/**
 * @param {string} label
 * @param {string} action
 * @param {string} cid
 */
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
 * A message row: sender, time (full date on hover) and text with links.
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
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = username;
  meta.append(author, ' ', timeElement(timestamp));
  const body = document.createElement('div');
  body.className = 'bubble';
  const content = document.createElement('p');
  content.className = 'text';
  appendLinkified(content, text);
  body.append(content);
  wrap.append(meta, body);
  row.append(wrap);
  return row;
}

/**
 * @param {string} key
 * @param {string} text
 * @param {number} timestamp
 * @param {string} tone
 */
function noticeRow(key, text, timestamp, tone) {
  let row = state.rows.get(key);
  if (!row) {
    row = document.createElement('li');
    row.className = `notice ${tone}`;
    const span = document.createElement('span');
    span.textContent = text;
    row.append(span, ' ', timeElement(timestamp));
    state.rows.set(key, row);
  }
  return row;
}

/** @param {number} timestamp */
function timeElement(timestamp) {
  const date = new Date(timestamp);
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.title = fullFormat.format(date);
  time.textContent = timeFormat.format(date);
  return time;
}

/**
 * Appends `text` to `parent` as text nodes, with http(s) URLs as links.
 * @param {HTMLElement} parent
 * @param {string} text
 */
function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    const raw = match[0].replace(TRAILING_PUNCTUATION, '');
    const link = safeLink(raw);
    if (!link) continue;
    parent.append(text.slice(last, start), link);
    last = start + raw.length;
  }
  parent.append(text.slice(last));
}

/** @param {string} raw @returns {HTMLAnchorElement | null} */
function safeLink(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const link = document.createElement('a');
  link.href = url.href;
  link.textContent = raw;
  link.target = '_blank';
  link.rel = 'noopener noreferrer nofollow';
  return link;
}

/** The top of the list: "load older", or the start of the chat. */
function renderHistoryEdge() {
  const any = state.timeline.some((entry) => entry.kind === 'message');
  els.loadOlder.hidden = !state.hasOlder;
  els.loadOlder.textContent = state.loadingOlder ? 'Loading older messages…' : 'Load older messages';
  els.loadOlder.disabled = state.loadingOlder;
  els.historyStart.hidden = state.hasOlder || state.me === '';
  els.historyStart.textContent = any
    ? 'This is the beginning of the chat.'
    : 'No messages yet. Say hello!';
}

function renderPeople() {
  const users = [...state.users].sort((a, b) => {
    if (a === state.me) return -1;
    if (b === state.me) return 1;
    return a.localeCompare(b);
  });
  const items = users.map((user) => {
    const item = document.createElement('li');
    item.style.setProperty('--hue', String(nameHue(user)));
    const avatar = document.createElement('span');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = initial(user);
    const name = document.createElement('span');
    name.className = 'person';
    name.textContent = user;
    item.append(avatar, name);
    if (user === state.me) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = '(you)';
      item.append(' ', you);
    }
    return item;
  });
  els.peopleList.replaceChildren(...items);
  const count = String(users.length);
  els.peopleCount.textContent = count;
  els.peopleToggleCount.textContent = count;
  els.meName.textContent = state.me || state.name;
}

function renderTyping() {
  const names = [...state.typing.keys()].filter((name) => name !== state.me);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  if (els.typing.textContent !== text) els.typing.textContent = text;
}

function renderPill() {
  if (isAtBottom()) state.newBelow = 0;
  els.newPill.hidden = state.newBelow === 0;
  els.newPillText.textContent = state.newBelow === 1 ? '1 new message'
    : `${state.newBelow} new messages`;
}

function renderTitle() {
  document.title = state.unread > 0 ? `(${state.unread}) ${APP_TITLE}` : APP_TITLE;
}

/** @param {string} text */
function announce(text) {
  els.announcer.textContent = text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** @param {string} [error] */
function showJoin(error = '') {
  els.app.hidden = true;
  els.join.hidden = false;
  els.joinError.textContent = error;
  els.joinName.setAttribute('aria-invalid', String(error !== ''));
  els.joinName.focus();
}

function showApp() {
  els.join.hidden = true;
  els.app.hidden = false;
  renderConnection();
  renderPeople();
  renderTimeline();
  scrollToBottom();
  els.input.focus();
}

/** @param {boolean} open */
function setPeopleOpen(open) {
  els.app.classList.toggle('people-open', open);
  els.peopleToggle.setAttribute('aria-expanded', String(open));
  els.peopleBackdrop.hidden = !open;
  if (open) els.peopleClose.focus();
}

function openRename() {
  els.renameForm.hidden = false;
  els.renameOpen.hidden = true;
  els.renameInput.value = state.me || state.name;
  els.renameError.textContent = '';
  els.renameInput.focus();
  els.renameInput.select();
}

function closeRename() {
  els.renameForm.hidden = true;
  els.renameOpen.hidden = false;
  els.renameError.textContent = '';
  els.renameInput.removeAttribute('aria-invalid');
}

/** @param {string} message */
function showRenameError(message) {
  els.renameError.textContent = message;
  els.renameInput.setAttribute('aria-invalid', 'true');
  els.renameInput.focus();
}

function autoGrow() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, COMPOSER_MAX_PX)}px`;
}

/** Asks for older messages while the view is not full enough to scroll. */
function fillView() {
  if (els.messages.scrollHeight <= els.messages.clientHeight + NEAR_TOP_PX) requestOlder();
}

function isAtBottom() {
  const view = els.messages;
  return view.scrollHeight - view.scrollTop - view.clientHeight <= NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  els.messages.scrollTop = els.messages.scrollHeight;
  state.newBelow = 0;
  renderPill();
}

// ---------------------------------------------------------------------------
// Small helpers

/** @param {number} timestamp */
function dayKey(timestamp) {
  const date = new Date(timestamp);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** @param {number} timestamp */
function dayLabel(timestamp) {
  const key = dayKey(timestamp);
  const now = Date.now();
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(now - 86400000)) return 'Yesterday';
  return dayFormat.format(new Date(timestamp));
}

/** @param {string} username */
function isOwnName(username) {
  return username === state.name || state.myNames.has(username);
}

/** A stable colour for a name, from a palette that reads well. @param {string} name */
function nameHue(name) {
  let hash = 2166136261; // FNV-1a
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619) >>> 0;
  return NAME_HUES[hash % NAME_HUES.length];
}

/** @param {string} name */
function initial(name) {
  return ([...name.trim()][0] || '?').toUpperCase();
}

/**
 * A random UUID. `crypto.randomUUID` exists only on secure (https) pages, and
 * a LAN page is usually plain http, so build it from `getRandomValues`.
 */
function newCid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** @returns {OutboxEntry[]} */
function loadOutbox() {
  try {
    const entries = JSON.parse(readStorage(OUTBOX_KEY) || '[]');
    return Array.isArray(entries)
      ? entries.filter((entry) => entry && typeof entry.cid === 'string' && typeof entry.text === 'string')
      : [];
  } catch {
    return [];
  }
}

function saveOutbox() {
  if (state.outbox.length === 0) removeStorage(OUTBOX_KEY);
  else writeStorage(OUTBOX_KEY, JSON.stringify(state.outbox));
}

// Storage can be missing or full (private windows); the chat still works.
/** @param {string} key */
function readStorage(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** @param {string} key @param {string} value */
function writeStorage(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not kept across reloads, but still sent.
  }
}

/** @param {string} key */
function removeStorage(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing to remove.
  }
}

// ---------------------------------------------------------------------------
// Setup

els.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = els.joinName.value.trim();
  const problem = checkName(name);
  if (problem) {
    showJoin(problem);
    return;
  }
  state.name = name;
  writeStorage(NAME_KEY, name);
  state.connection = 'connecting';
  state.attempt = 0;
  showApp();
  connect();
});

els.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = els.input.value;
  if (text.trim() === '') return;
  if (text.length > MAX_MESSAGE_CHARS) return;
  els.input.value = '';
  autoGrow();
  sendMessage(text);
});

els.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    els.composer.requestSubmit();
  }
});

els.input.addEventListener('input', () => {
  autoGrow();
  noteTyping();
});

els.timeline.addEventListener('click', (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = target.closest('button[data-action]');
  if (!(button instanceof HTMLElement)) return;
  const cid = button.dataset.cid || '';
  if (button.dataset.action === 'retry') retryEntry(cid);
  else discardEntry(cid);
});

els.messages.addEventListener('scroll', () => {
  if (els.messages.scrollTop < NEAR_TOP_PX) requestOlder();
  if (state.newBelow > 0) renderPill();
}, { passive: true });

els.loadOlder.addEventListener('click', requestOlder);
els.newPill.addEventListener('click', () => {
  els.messages.scrollTo({ top: els.messages.scrollHeight, behavior: 'smooth' });
  state.newBelow = 0;
  els.newPill.hidden = true;
  els.input.focus();
});
els.retryNow.addEventListener('click', retryNow);

els.peopleToggle.addEventListener('click', () => {
  setPeopleOpen(!els.app.classList.contains('people-open'));
});
els.peopleClose.addEventListener('click', () => {
  setPeopleOpen(false);
  els.peopleToggle.focus();
});
els.peopleBackdrop.addEventListener('click', () => setPeopleOpen(false));
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && els.app.classList.contains('people-open')) {
    setPeopleOpen(false);
    els.peopleToggle.focus();
  }
});

els.renameOpen.addEventListener('click', openRename);
els.renameCancel.addEventListener('click', () => {
  closeRename();
  els.renameOpen.focus();
});
els.renameInput.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    closeRename();
    els.renameOpen.focus();
  }
});
els.renameForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = els.renameInput.value.trim();
  const problem = checkName(name);
  if (problem) {
    showRenameError(problem);
    return;
  }
  if (name === state.me) {
    closeRename();
    return;
  }
  if (!isReady()) {
    showRenameError('You are offline; try again once connected.');
    return;
  }
  state.renamePending = true;
  send({ type: 'rename', username: name });
});

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  state.unread = 0;
  renderTitle();
  retryNow();
});
window.addEventListener('online', retryNow);
window.addEventListener('offline', renderConnection);

if (state.name) {
  showApp();
  connect();
} else {
  showJoin();
}
