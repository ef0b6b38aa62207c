// lanchat's web page: rooms, private rooms and direct messages over one
// WebSocket, kept in step with the server without losing or repeating a
// message.
//
// Order: message types, constants, state, element refs, the socket, one
// handler per server frame, user actions, render functions (each safe to run
// twice), then setup. User text reaches the page only through `textContent`
// and text nodes.
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
 * @typedef {object} RoomSummary
 * @property {string} room
 * @property {'public' | 'private' | 'dm'} kind
 * @property {number} seq        the room's latest seq
 * @property {number} last_read
 * @property {number} unread
 * @property {string[]} members  empty for the lobby
 * @property {string[]} [online] the members online when it was sent
 * @property {string} [peer]     the other person of a direct message
 *
 * `users` is everyone online while `complete`; past the server's roster
 * limit it is only this user and the people who share a room or a direct
 * message with them, and `online` counts everyone.
 * @typedef {{type: 'welcome', protocol: number, username: string, room: string, users: string[], seq: number, online?: number, complete?: boolean, claimed?: boolean, token?: string, rooms?: RoomSummary[], invitations?: string[], history_id?: string}} WelcomeFrame
 * @typedef {{type: 'history', room?: string, messages: MessageFrame[], has_more: boolean}} HistoryFrame
 * @typedef {{type: 'join' | 'leave', room: string, username: string, timestamp: number}} PresenceFrame
 * @typedef {{type: 'presence', room: string, joined?: string[], left?: string[], timestamp: number}} PresenceSetFrame
 * @typedef {{type: 'rename', room: string, from: string, to: string, timestamp: number}} RenameFrame
 * @typedef {{type: 'typing', room?: string, username: string, active: boolean}} TypingFrame
 * @typedef {{type: 'error', code: string, message: string, cid?: string, room?: string}} ErrorFrame
 * @typedef {{type: 'roster', complete: boolean, online: number, users?: string[]}} RosterFrame
 * @typedef {{type: 'online', online: number, timestamp: number}} OnlineFrame
 * @typedef {{type: 'who', prefix?: string, users: string[], online?: number}} WhoFrame
 *
 * A message written here that the server has not acknowledged yet. Kept in
 * localStorage so it survives a reload.
 * @typedef {object} OutboxEntry
 * @property {string} cid
 * @property {string} text
 * @property {number} createdAt
 * @property {string} sentAs      the name it was written under
 * @property {string} [room]      where it goes (the lobby when missing)
 * @property {'pending' | 'failed'} status
 * @property {string} [reason]    why the server refused it
 * @property {number} [sentAt]    when it last went out on a connection
 *
 * One row of a timeline: a stored message or a system notice.
 * @typedef {{kind: 'message', key: string, frame: MessageFrame} | {kind: 'notice', key: string, text: string, timestamp: number, tone: string}} TimelineEntry
 *
 * A room this user belongs to, with what the page has of it.
 * @typedef {object} Room
 * @property {string} name
 * @property {'public' | 'private' | 'dm'} kind
 * @property {string} peer        the other person, for a direct message
 * @property {string[]} members   names; empty for the lobby (everyone)
 * @property {number} seq         the room's latest seq, as far as we know
 * @property {number} lastRead    our read mark, kept by the server
 * @property {number} readSent    the highest read mark this tab sent
 * @property {boolean} loaded     whether the timeline holds the latest messages
 * @property {'latest' | 'since' | 'older' | ''} request  the history request out
 * @property {TimelineEntry[]} timeline oldest first
 * @property {Set<number>} seqs   seqs in the timeline, so each shows once
 * @property {number} lastSeq     highest seq shown
 * @property {number} oldestSeq   lowest seq shown
 * @property {boolean} hasOlder
 * @property {Map<string, number>} typing who is typing, with their expiry timers
 * @property {boolean} atBottom   where the view was when we left the room
 * @property {number} scrollTop
 */

// ---------------------------------------------------------------------------
// Constants

const APP_TITLE = 'lanchat';
const LOBBY = 'lobby';
const NAME_KEY = 'lanchat.name';
const OUTBOX_KEY = 'lanchat.outbox';
const ACCESS_KEY = 'lanchat.key';
/** Tokens of owned names, one per lowercased name, shared by every tab. */
const TOKEN_PREFIX = 'lanchat.token.';
const MAX_NAME_CHARS = 32;
const MAX_MESSAGE_CHARS = 4000;
const ROOM_NAME = /^[a-z0-9_-]{1,24}$/;
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
/** A ping (sent when the tab comes back) not answered by then: reconnect. */
const PING_TIMEOUT_MS = 5000;
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
/** Presence changes above this many names are told as one notice. */
const PRESENCE_NOTICE_MAX = 3;
/** A search for people goes out once typing pauses this long. */
const WHO_DEBOUNCE_MS = 200;
/** The server answers a search with at most this many names. */
const WHO_LIMIT = 50;
/** The longest name prefix the server searches for, in characters. */
const WHO_PREFIX_MAX = 32;
/** What a screen reader hears when the connection changes. */
const CONNECTION_WORDS = {
  connected: 'Connected.',
  waiting: 'Connection lost. Reconnecting.',
  refused: 'Not connected.',
};
/** Plain words for the server's room refusals, by error code. */
const ROOM_ERRORS = {
  not_claimed: 'Rooms need a name you own. Reload the page to claim yours.',
  invalid_room: 'Room names are 1 to 24 lowercase letters, digits, "-" or "_".',
  room_exists: 'A room with that name already exists. Pick another name, or join it.',
};
/** Hues for names and avatars: blue, violet, pink, red, orange, green, teal, cyan. */
const NAME_HUES = [212, 262, 328, 4, 24, 140, 172, 192];
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'")\]}]+$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** Below this width the people panel is a drawer (see style.css). */
const peopleDrawer = window.matchMedia('(max-width: 1000px)');
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
  /** Whether this connection owns its name (rooms need it). */
  claimed: false,
  /** The access key, when the server wants one. */
  key: readStorage(ACCESS_KEY) || '',
  /** A transfer code typed on the join form, used for the next connect only. */
  code: '',
  /** The server's history id from the first welcome; a new one means a reset. */
  historyId: '',
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
  /** @type {number | undefined} */
  pingTimer: undefined,
  /** True between `welcome` and the lobby replay that follows it. */
  awaitingReplay: false,
  /** True when this connection asked to resume the lobby with `since`. */
  resuming: false,
  /** @type {Map<string, Room>} every room we belong to, the lobby first */
  rooms: new Map(),
  /** The room on screen; always one we belong to. */
  active: LOBBY,
  /** A room the address asked for, to open once connected. */
  wanted: '',
  /** Rooms we were invited to, and by whom. @type {Map<string, string>} */
  invitations: new Map(),
  /** An invite link to accept once connected. @type {{room: string, secret: string} | null} */
  pendingLink: null,
  /**
   * What this tab asked for and waits to hear back about, so a `room` frame
   * opens the room here (not in other tabs) and an error lands beside the
   * right field. @type {{kind: string, room?: string, username?: string} | null}
   */
  pendingAction: null,
  noticeCount: 0,
  /** @type {OutboxEntry[]} */
  outbox: loadOutbox(),
  /**
   * Who is online: everyone while `complete`; otherwise only us and the
   * people we share a room or direct message with (the server tells us of
   * their comings and goings, and of no one else's).
   * @type {string[]}
   */
  users: [],
  /** Names online, us included, as the server last counted them. */
  online: 0,
  /**
   * Whether `users` is everyone. Past the server's roster limit it is not,
   * and the lobby's people panel searches (`who`) instead of listing.
   */
  complete: true,
  /**
   * The lobby's people search while the roster is incomplete: the names of
   * the last answer that matched the field, and the prefix it was for (null
   * before any). @type {{results: string[], prefix: string | null, timer: number | undefined}}
   */
  who: { results: [], prefix: null, timer: undefined },
  /** When we last told the server we are typing; 0 when we are not. */
  typingSentAt: 0,
  /** The room that typing was in. */
  typingRoom: LOBBY,
  /** Messages from others that arrived while the tab was hidden. */
  unread: 0,
  /** Messages from others that arrived below the view. */
  newBelow: 0,
  renamePending: false,
  /** Rendered rows of the room on screen, by entry key. @type {Map<string, HTMLElement>} */
  rows: new Map(),
  /** The rows each sidebar or people list showed last, by key. @type {WeakMap<HTMLElement, Map<string, HTMLElement>>} */
  listRows: new WeakMap(),
  /** The public rooms, from the last `room_list`; null while asking. @type {{room: string, members: number}[] | null} */
  publicRooms: null,
};

// ---------------------------------------------------------------------------
// Element refs

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const els = {
  keyGate: byId('key-gate'),
  keyForm: /** @type {HTMLFormElement} */ (byId('key-form')),
  keyInput: /** @type {HTMLInputElement} */ (byId('key-input')),
  keyError: byId('key-error'),
  join: byId('join'),
  joinForm: /** @type {HTMLFormElement} */ (byId('join-form')),
  joinName: /** @type {HTMLInputElement} */ (byId('join-name')),
  joinError: byId('join-error'),
  joinCodeBox: /** @type {HTMLDetailsElement} */ (byId('join-code-box')),
  joinCode: /** @type {HTMLInputElement} */ (byId('join-code')),
  app: byId('app'),
  connDot: byId('conn-dot'),
  connText: byId('conn-text'),
  connLive: byId('conn-live'),
  retryNow: byId('retry-now'),
  roomsToggle: byId('rooms-toggle'),
  roomsToggleBadge: byId('rooms-toggle-badge'),
  peopleToggle: byId('people-toggle'),
  peopleToggleCount: byId('people-toggle-count'),
  sidebar: byId('sidebar'),
  sidebarClose: byId('sidebar-close'),
  sidebarBackdrop: byId('sidebar-backdrop'),
  roomList: byId('room-list'),
  dmList: byId('dm-list'),
  dmEmpty: byId('dm-empty'),
  invitationsBox: byId('invitations'),
  invitationList: byId('invitation-list'),
  roomAdd: byId('room-add'),
  chat: byId('chat'),
  roomIcon: byId('room-icon'),
  roomName: byId('room-name'),
  roomInfo: byId('room-info'),
  roomInvite: byId('room-invite'),
  roomLeave: byId('room-leave'),
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
  peopleHeading: byId('people-heading-text'),
  peopleCount: byId('people-count'),
  peopleList: byId('people-list'),
  peopleSearch: byId('people-search'),
  peopleSearchInput: /** @type {HTMLInputElement} */ (byId('people-search-input')),
  peopleSearchHint: byId('people-search-hint'),
  peopleSearchStatus: byId('people-search-status'),
  offlineBox: byId('offline'),
  offlineList: byId('offline-list'),
  peopleClose: byId('people-close'),
  peopleBackdrop: byId('people-backdrop'),
  meName: byId('me-name'),
  renameOpen: byId('rename-open'),
  renameForm: /** @type {HTMLFormElement} */ (byId('rename-form')),
  renameInput: /** @type {HTMLInputElement} */ (byId('rename-input')),
  renameError: byId('rename-error'),
  renameCancel: byId('rename-cancel'),
  moveOpen: byId('move-open'),
  moveBox: byId('move-box'),
  moveCode: byId('move-code'),
  moveExpiry: byId('move-expiry'),
  roomDialog: /** @type {HTMLDialogElement} */ (byId('room-dialog')),
  publicList: byId('public-list'),
  publicEmpty: byId('public-empty'),
  createForm: /** @type {HTMLFormElement} */ (byId('create-form')),
  createName: /** @type {HTMLInputElement} */ (byId('create-name')),
  createPrivate: /** @type {HTMLInputElement} */ (byId('create-private')),
  createError: byId('create-error'),
  inviteDialog: /** @type {HTMLDialogElement} */ (byId('invite-dialog')),
  inviteTitle: byId('invite-title'),
  inviteForm: /** @type {HTMLFormElement} */ (byId('invite-form')),
  inviteName: /** @type {HTMLInputElement} */ (byId('invite-name')),
  inviteStatus: byId('invite-status'),
  linkMake: byId('link-make'),
  linkBox: byId('link-box'),
  linkInput: /** @type {HTMLInputElement} */ (byId('link-input')),
  linkCopy: byId('link-copy'),
  linkStatus: byId('link-status'),
  announcer: byId('announcer'),
};

// ---------------------------------------------------------------------------
// The socket

function connect() {
  clearRetry();
  if (state.socket) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const lobby = lobbyRoom();
  state.resuming = lobby.lastSeq > 0;
  const since = state.resuming ? `?since=${lobby.lastSeq}` : '';
  const url = `${scheme}//${location.host}/ws/${encodeURIComponent(state.name)}${since}`;
  const socket = new WebSocket(url, subprotocols());
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
 * What we offer beside `lanchat`: proof that the name is ours (a transfer
 * code, the token, or a request to claim it) and the access key, if any.
 */
function subprotocols() {
  const protocols = ['lanchat'];
  const token = readStorage(tokenKey(state.name));
  if (state.code) protocols.push(`code.${state.code}`);
  else if (token && /^[0-9a-f]+$/i.test(token)) protocols.push(`token.${token}`);
  else protocols.push('claim');
  if (state.key) protocols.push(`key.${hexOf(state.key)}`);
  return protocols;
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
  const welcomed = state.me !== '';
  clearTimeout(state.connectTimer);
  clearTimeout(state.ackTimer);
  clearTimeout(state.pingTimer);
  state.ackTimer = undefined;
  state.pingTimer = undefined;
  state.socket = null;
  state.me = '';
  state.awaitingReplay = false;
  state.typingSentAt = 0;
  for (const room of state.rooms.values()) {
    room.request = '';
    clearTyping(room);
  }
  renderTyping();
  renderHistoryEdge();
  if (state.connection === 'refused') return;
  scheduleRetry();
  // Refused before the welcome: perhaps the access key changed.
  if (!welcomed) checkAccess().then((access) => {
    if (access === 'denied' && state.connection === 'waiting' && !state.socket) {
      clearRetry();
      state.connection = 'refused';
      renderConnection();
      showKeyGate('The access key has changed. Please enter the new one.');
    }
  });
}

/** Waits about 1, 2, 4 … 30 s (each halved at random, so tabs spread out). */
function scheduleRetry() {
  clearRetry();
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

/**
 * Checks a connection that looks alive but may have died quietly (the tab
 * slept, the laptop changed networks): any frame back proves it, silence
 * means reconnect.
 */
function checkAlive() {
  if (!isReady() || state.pingTimer !== undefined) return;
  send({ type: 'ping' });
  state.pingTimer = setTimeout(() => {
    state.pingTimer = undefined;
    dropConnection();
  }, PING_TIMEOUT_MS);
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
  // Any frame at all answers a liveness check.
  const pinging = state.pingTimer !== undefined;
  clearTimeout(state.pingTimer);
  state.pingTimer = undefined;
  if (pinging && frame && frame.type === 'error' && frame.code === 'bad_request' && !frame.cid) {
    return; // a server that does not know `ping` yet
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
  const room = entry.room || LOBBY;
  /** @type {{type: string, message: string, cid: string, room?: string}} */
  const frame = { type: 'message', message: entry.text, cid: entry.cid };
  if (room !== LOBBY) frame.room = room;
  send(frame);
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

/** Asks the server who is online, by the start of their name. */
function requestWho() {
  clearTimeout(state.who.timer);
  state.who.timer = undefined;
  if (state.complete || !isReady()) return;
  send({ type: 'who', prefix: searchPrefix() });
}

/** Refreshes the lobby's search when it is on screen. */
function searchIfShown() {
  if (!state.complete && state.active === LOBBY && peopleShown()) requestWho();
}

/** Pages back through the room on screen. */
function requestOlder() {
  const room = activeRoom();
  if (!room.hasOlder || room.request || !isReady()) return;
  room.request = 'older';
  send({ type: 'history', room: room.name, before: room.oldestSeq, limit: PAGE_SIZE });
  renderHistoryEdge();
}

/**
 * Fetches what a room is missing: the messages after the last one shown
 * (a resume), or its latest page.
 * @param {Room} room
 */
function requestRoom(room) {
  if (room.request || !isReady() || room.name === LOBBY) return;
  if (room.loaded) {
    room.request = 'since';
    send({ type: 'history', room: room.name, since: room.lastSeq });
  } else {
    room.request = 'latest';
    send({ type: 'history', room: room.name, limit: PAGE_SIZE });
  }
  renderHistoryEdge();
}

/**
 * Asks whether the server lets us in: 'ok', 'denied' (it wants a key we do
 * not have right), or 'unknown' (it could not be reached).
 * @param {string} [key]
 * @returns {Promise<'ok' | 'denied' | 'unknown'>}
 */
async function checkAccess(key = state.key) {
  try {
    /** @type {Record<string, string>} */
    const headers = {};
    // A header carries bytes: send the key's UTF-8 bytes, one per character.
    if (key) headers.Authorization = `Bearer ${String.fromCharCode(...new TextEncoder().encode(key))}`;
    const response = await fetch('/api/access', {
      headers, cache: 'no-store', signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
    });
    if (response.status === 401) return 'denied';
    return response.ok ? 'ok' : 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------
// One handler per server frame

const handlers = {
  /** @param {WelcomeFrame} frame */
  welcome(frame) {
    clearTimeout(state.connectTimer);
    if (historyWasReset(frame)) {
      // The server's history is not the one we showed (a new database, or a
      // restarted --memory server) and seqs are reused: start over.
      state.historyId = frame.history_id || '';
      resetRooms();
      state.attempt = 0;
      dropConnection();
      return;
    }
    if (frame.history_id) state.historyId = frame.history_id;
    if (frame.token) writeStorage(tokenKey(frame.username), frame.token);
    state.code = '';
    state.me = frame.username;
    state.myNames.add(frame.username);
    state.name = frame.username;
    state.claimed = frame.claimed === true;
    writeStorage(NAME_KEY, frame.username);
    state.attempt = 0;
    state.connection = 'connected';
    state.awaitingReplay = true;
    state.users = frame.users.slice();
    state.online = typeof frame.online === 'number' ? frame.online : state.users.length;
    setComplete(frame.complete !== false);
    syncRooms(frame);
    if (state.rooms.has(state.wanted)) {
      state.active = state.wanted;
      state.wanted = '';
    }
    if (!state.rooms.has(state.active)) state.active = LOBBY;
    state.invitations = new Map((frame.invitations || []).map((room) => [room, '']));
    for (const room of state.rooms.values()) clearTyping(room);
    renderConnection();
    renderAll();
  },

  /** @param {HistoryFrame} frame */
  history(frame) {
    const name = frame.room || LOBBY;
    if (state.awaitingReplay && name === LOBBY) {
      state.awaitingReplay = false;
      applyReplay(frame);
      afterReplay();
      return;
    }
    const room = state.rooms.get(name);
    if (!room) return;
    const request = room.request;
    room.request = '';
    if (request === 'older') {
      applyOlderPage(room, frame);
    } else {
      const gap = request === 'since' && frame.has_more;
      if (gap) resetTimeline(room);
      const active = room.name === state.active;
      const stick = active && (request !== 'since' || gap || isAtBottom());
      for (const message of frame.messages) addMessage(room, message);
      if (request !== 'since' || gap) room.hasOlder = frame.has_more;
      room.loaded = true;
      if (active) {
        renderTimeline();
        if (stick) scrollToBottom();
        fillView();
      }
    }
    renderRoomLists();
    markReadIfSeen();
  },

  /** @param {MessageFrame} frame */
  message(frame) {
    const room = roomFor(frame.room || LOBBY);
    const active = room.name === state.active;
    const own = isOwn(frame);
    const stick = active && (isAtBottom() || own);
    const settled = settleOutbox(frame);
    const fresh = !room.seqs.has(frame.seq) && frame.seq > room.readSent;
    room.seq = Math.max(room.seq, frame.seq);
    // A room not loaded yet gets its latest page when opened.
    if (room.loaded || room.request !== '') addMessage(room, frame);
    if (room.typing.has(frame.username)) stopTypingOf(room, frame.username);
    if (room.name !== LOBBY && !room.members.includes(frame.username)) {
      // Someone who joined since we last heard (a server that does not send
      // member changes to every member).
      room.members.push(frame.username);
      if (active) renderRoomHead();
      if (active) renderPeople();
    }
    if (settled && room.lastRead >= frame.seq - 1) {
      // Our own message, with nothing unread before it: it is read.
      markRead(room, frame.seq);
    }
    if (fresh && !own) {
      if (active) announce(`${frame.username}: ${frame.message}`);
      else if (room.kind === 'dm') announce(`${frame.username}, privately: ${frame.message}`);
      if (document.hidden) {
        state.unread += 1;
        renderTitle();
      }
      if (active && !stick) state.newBelow += 1;
    }
    if (active) {
      renderTimeline();
      renderTyping();
      if (stick) scrollToBottom();
      renderPill();
    }
    renderRoomLists();
    markReadIfSeen();
  },

  /** @param {PresenceFrame} frame */
  join(frame) {
    applyPresence([frame.username], [], frame.timestamp);
  },

  /** @param {PresenceFrame} frame */
  leave(frame) {
    applyPresence([], [frame.username], frame.timestamp);
  },

  /** Many joins and leaves at once (a connect storm), applied as a set. @param {PresenceSetFrame} frame */
  presence(frame) {
    applyPresence(frame.joined || [], frame.left || [], frame.timestamp);
  },

  /** @param {RenameFrame} frame */
  rename(frame) {
    const { from, to } = frame;
    state.users = state.users.map((user) => (user === from ? to : user));
    state.who.results = state.who.results.map((user) => (user === from ? to : user));
    for (const room of state.rooms.values()) {
      room.members = room.members.map((member) => (member === from ? to : member));
      if (room.peer === from) room.peer = to;
      stopTypingOf(room, from);
    }
    if (from === state.me) {
      moveToken(from, to);
      state.me = to;
      state.myNames.add(to);
      state.name = to;
      writeStorage(NAME_KEY, to);
      state.renamePending = false;
      closeRename();
      hideMoveCode();
      addNotice(lobbyRoom(), `You are now ${to}`, frame.timestamp, 'rename');
    } else {
      for (const room of state.rooms.values()) {
        if (room.name === LOBBY || room.members.includes(to)) {
          addNotice(room, `${from} is now ${to}`, frame.timestamp, 'rename');
        }
      }
    }
    renderPeople();
    renderTyping();
    renderRoomLists();
    renderRoomHead();
  },

  /** @param {TypingFrame} frame */
  typing(frame) {
    if (frame.username === state.me) return;
    const room = state.rooms.get(frame.room || LOBBY);
    if (!room) return;
    stopTypingOf(room, frame.username);
    if (frame.active) {
      const timer = setTimeout(() => {
        room.typing.delete(frame.username);
        renderTyping();
      }, TYPING_EXPIRY_MS);
      room.typing.set(frame.username, timer);
    }
    renderTyping();
  },

  /**
   * A room we belong to: created, joined, a direct message, or a change to
   * its members. @param {RoomSummary & {type: 'room'}} frame
   */
  room(frame) {
    const known = state.rooms.has(frame.room);
    const room = upsertRoom(frame);
    state.invitations.delete(frame.room);
    // Past the roster limit we hear only of people we share rooms with, so
    // a new member who was online already is known from the frame's
    // `online`; someone who left our last shared room will not be heard of.
    if (!state.complete && Array.isArray(frame.online)) {
      const here = new Set(frame.online);
      const users = new Set(state.users);
      for (const name of frame.members) {
        if (here.has(name)) users.add(name);
        else if (name !== state.me) users.delete(name);
      }
      state.users = [...users];
    }
    pruneUsers();
    // Opened here if this tab asked for it; news of a member joining or
    // leaving (sent to every member) opens nothing.
    const pending = state.pendingAction;
    const asked = pending !== null && (
      (['create', 'join', 'open'].includes(pending.kind) && pending.room === frame.room) ||
      (pending.kind === 'dm' && frame.kind === 'dm' && pending.username === frame.peer));
    const linked = state.pendingLink !== null && state.pendingLink.room === frame.room;
    if (asked || linked) {
      state.pendingAction = null;
      state.pendingLink = null;
      closeDialogs();
      navigate(room.name);
      if (!window.matchMedia('(pointer: coarse)').matches) els.input.focus();
    } else if (room.name === state.active) {
      if (!room.loaded) requestRoom(room);
      renderAll();
    }
    if (!known && !asked && frame.kind === 'dm' && frame.peer) {
      announce(`${frame.peer} opened a direct message with you.`);
    }
    renderRoomLists();
  },

  /** @param {{type: 'room_left', room: string}} frame */
  room_left(frame) {
    const room = state.rooms.get(frame.room);
    if (!room) return;
    state.rooms.delete(frame.room);
    pruneUsers();
    renderPeople();
    // What waited to go there cannot go anymore.
    state.outbox = state.outbox.filter((entry) => (entry.room || LOBBY) !== frame.room);
    saveOutbox();
    if (state.active === frame.room) {
      if (state.pendingAction && state.pendingAction.kind === 'leave') state.pendingAction = null;
      navigate(LOBBY, true);
      scrollToBottom();
    }
    renderRoomLists();
  },

  /** @param {{type: 'invited', room: string, by: string}} frame */
  invited(frame) {
    if (state.rooms.has(frame.room)) return;
    state.invitations.set(frame.room, frame.by);
    announce(`${frame.by} invited you to #${frame.room}.`);
    renderRoomLists();
  },

  /** @param {{type: 'invite_link', room: string, secret: string}} frame */
  invite_link(frame) {
    if (state.pendingAction && state.pendingAction.kind === 'link') state.pendingAction = null;
    const link = `${location.origin}${location.pathname}#join=${encodeURIComponent(frame.room)}:${frame.secret}`;
    els.linkInput.value = link;
    els.linkBox.hidden = false;
    els.linkStatus.textContent = isLoopback(location.hostname)
      ? 'This link uses this computer\'s own address. For others, swap it for the network ' +
        'address lanchat printed when it started. Making a new link stops the old one.'
      : 'Anyone with this link can join. Making a new link stops the old one.';
    els.linkMake.textContent = 'Make a new link';
  },

  /** Our read mark moved, here or in another tab. @param {{type: 'read', room: string, seq: number, unread: number}} frame */
  read(frame) {
    const room = state.rooms.get(frame.room);
    if (!room) return;
    room.lastRead = Math.max(room.lastRead, frame.seq);
    room.seq = Math.max(room.seq, frame.seq + frame.unread);
    renderRoomLists();
  },

  /** @param {{type: 'room_list', rooms: {room: string, members: number}[]}} frame */
  room_list(frame) {
    // Everyone is in the lobby already; the list is for finding others.
    state.publicRooms = frame.rooms.filter(({ room }) => room !== LOBBY)
      .sort((a, b) => a.room.localeCompare(b.room));
    renderPublicRooms();
  },

  /**
   * The lobby passed the server's roster limit (we keep only ourselves and
   * the people we share rooms with, and search for the rest), or fell back
   * under it (the full list again). Nobody came or went because of it, so
   * it adds no notices.
   * @param {RosterFrame} frame
   */
  roster(frame) {
    if (frame.complete) {
      state.users = (frame.users || []).slice();
      state.online = state.users.length;
      setComplete(true);
    } else {
      state.online = frame.online;
      setComplete(false);
      pruneUsers();
      searchIfShown();
    }
    renderPeople();
    renderRoomHead();
    renderRoomLists();
  },

  /** The online count, while the roster is incomplete. @param {OnlineFrame} frame */
  online(frame) {
    state.online = frame.online;
    renderPeople();
    renderRoomHead();
  },

  /** An answer to a people search. @param {WhoFrame} frame */
  who(frame) {
    if (typeof frame.online === 'number') state.online = frame.online;
    const prefix = frame.prefix || '';
    // An answer to a search the field has moved on from is of no use.
    if (!state.complete && prefix.toLowerCase() === searchPrefix().toLowerCase()) {
      state.who.results = (frame.users || []).slice();
      state.who.prefix = prefix;
      noteOnline(state.who.results);
      renderRoomLists();
    }
    renderPeople();
    renderRoomHead();
  },

  /** @param {{type: 'transfer_code', code: string, expires: number}} frame */
  transfer_code(frame) {
    els.moveCode.textContent = frame.code;
    els.moveExpiry.textContent = `Valid once, until ${timeFormat.format(new Date(frame.expires))}.`;
    els.moveBox.hidden = false;
  },

  pong() {
    // Liveness only; `receive` already took note.
  },

  /** @param {ErrorFrame} frame */
  error(frame) {
    const entry = frame.cid ? state.outbox.find((item) => item.cid === frame.cid) : undefined;
    if (entry) {
      entry.status = 'failed';
      entry.reason = frame.message;
      saveOutbox();
      if ((entry.room || LOBBY) === state.active) renderTimeline();
      return;
    }
    if (state.me === '' && ['name_taken', 'invalid_code', 'invalid_username'].includes(frame.code)) {
      // Refused on connecting; the server closes with 1008.
      refuseName(frame.code, frame.message);
      return;
    }
    if (state.renamePending && (frame.code === 'name_taken' || frame.code === 'invalid_username')) {
      state.renamePending = false;
      showRenameError(frame.message);
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
      addNotice(activeRoom(), `This invite link to #${room} does not work anymore. Ask for a new one.`, Date.now(), 'error');
      return;
    }
    // The server names the room a refused request was about; an older
    // server does not, and then the room on screen is the best guess.
    const named = frame.room ? state.rooms.get(frame.room) : undefined;
    const room = named || activeRoom();
    if (named ? room.request : room.request === 'older') {
      room.request = '';
      renderHistoryEdge();
    }
    addNotice(room, `The server said: ${frame.message}`, Date.now(), 'error');
  },
};

/** @param {WelcomeFrame} frame */
function historyWasReset(frame) {
  if (frame.history_id && state.historyId && frame.history_id !== state.historyId) return true;
  if (frame.seq < lobbyRoom().lastSeq) return true;
  return (frame.rooms || []).some((summary) => {
    const room = state.rooms.get(summary.room);
    return room !== undefined && summary.seq < room.lastSeq;
  });
}

/**
 * Brings the rooms in line with the welcome: new ones appear, ones we left
 * meanwhile go, counts and members are the server's.
 * @param {WelcomeFrame} frame
 */
function syncRooms(frame) {
  const lobby = lobbyRoom();
  lobby.seq = Math.max(lobby.seq, frame.seq);
  const summaries = frame.rooms || [];
  const listed = new Set(summaries.map((summary) => summary.room));
  for (const name of [...state.rooms.keys()]) {
    if (name !== LOBBY && !listed.has(name)) state.rooms.delete(name);
  }
  for (const summary of summaries) upsertRoom(summary);
  // Without an owned name there are no read marks: nothing counts as unread.
  if (!state.claimed) lobby.lastRead = lobby.seq;
}

/** After the lobby replay: send what waited, and catch up every room. */
function afterReplay() {
  flushOutbox();
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

/** Accepts the invite link the page was opened with. */
function followLink() {
  if (!state.pendingLink || !isReady()) return;
  const { room, secret } = state.pendingLink;
  if (state.rooms.has(room)) {
    state.pendingLink = null;
    navigate(room);
  } else {
    send({ type: 'join_room', room, invite: secret });
  }
}

/** The first `history` after `welcome`: everything since we last saw, or the latest. */
function applyReplay(frame) {
  const lobby = lobbyRoom();
  const gap = state.resuming && frame.has_more;
  if (!state.resuming || gap) {
    // A fresh start, or too much was missed to join up: show the latest page.
    resetTimeline(lobby);
    lobby.hasOlder = frame.has_more;
  }
  lobby.loaded = true;
  const active = state.active === LOBBY;
  const stick = active && (!state.resuming || gap || isAtBottom());
  for (const message of frame.messages) addMessage(lobby, message);
  if (!active) return;
  renderTimeline();
  if (stick) scrollToBottom();
  renderPill();
  fillView();
}

/**
 * A reply to `requestOlder`: older messages go on top, and the view stays put.
 * @param {Room} room
 * @param {HistoryFrame} frame
 */
function applyOlderPage(room, frame) {
  room.hasOlder = frame.has_more;
  const active = room.name === state.active;
  const fromBottom = els.messages.scrollHeight - els.messages.scrollTop;
  for (const message of frame.messages) addMessage(room, message);
  if (!active) return;
  renderTimeline();
  els.messages.scrollTop = els.messages.scrollHeight - fromBottom;
  fillView();
}

/**
 * Online and offline changes, from single frames or a set.
 * @param {string[]} joined
 * @param {string[]} left
 * @param {number} timestamp
 */
function applyPresence(joined, left, timestamp) {
  const online = new Set(state.users);
  for (const name of left) online.delete(name);
  for (const name of joined) online.add(name);
  state.users = [...online];
  const lobby = lobbyRoom();
  for (const room of state.rooms.values()) {
    for (const name of left) stopTypingOf(room, name);
  }
  const others = (names) => names.filter((name) => name !== state.me);
  for (const [names, verb, tone] of [[others(joined), 'joined', 'join'], [others(left), 'left', 'leave']]) {
    if (names.length > PRESENCE_NOTICE_MAX) {
      addNotice(lobby, `${names.length} people ${verb}`, timestamp, tone);
    } else {
      for (const name of names) addNotice(lobby, `${name} ${verb}`, timestamp, tone);
    }
  }
  renderPeople();
  renderRoomHead();
  renderTyping();
  renderRoomLists();
}

/**
 * Enters or leaves the mode where the lobby is searched instead of listed.
 * A search in progress is forgotten when the mode changes, kept across a
 * reconnect that stays in it.
 * @param {boolean} complete
 */
function setComplete(complete) {
  if (state.complete === complete) return;
  state.complete = complete;
  clearTimeout(state.who.timer);
  state.who = { results: [], prefix: null, timer: undefined };
  els.peopleSearchInput.value = '';
}

/** How many people are online, us included. */
function onlineCount() {
  return state.complete ? state.users.length : state.online;
}

/** Whether we share a room or a direct message with `name`. @param {string} name */
function sharesRoom(name) {
  for (const room of state.rooms.values()) {
    if (room.name !== LOBBY && room.members.includes(name)) return true;
  }
  return false;
}

/**
 * Past the roster limit, keeps only the names the server still tells us
 * about: ours and those of people we share a room with. Anyone else's
 * leaving would never reach us, so they cannot be shown as online.
 */
function pruneUsers() {
  if (state.complete) return;
  state.users = state.users.filter((name) => name === state.me || sharesRoom(name));
}

/**
 * Names a search just found online: those we share a room with count as
 * online from now on (their leaving will reach us).
 * @param {string[]} names
 */
function noteOnline(names) {
  if (state.complete) return;
  const known = new Set(state.users);
  for (const name of names) {
    if (!known.has(name) && sharesRoom(name)) state.users.push(name);
  }
}

/** Forgets every timeline (the server's history was reset). */
function resetRooms() {
  for (const room of state.rooms.values()) {
    resetTimeline(room);
    room.loaded = false;
    room.seq = 0;
    room.lastRead = 0;
    room.readSent = 0;
  }
  renderTimeline();
}

/** @param {Room} room */
function resetTimeline(room) {
  room.timeline = [];
  room.seqs.clear();
  room.lastSeq = 0;
  room.oldestSeq = 0;
  room.hasOlder = false;
  if (room.name === state.active) renderTimeline();
}

/**
 * Adds a message, in seq order, unless it is already shown.
 * @param {Room} room
 * @param {MessageFrame} frame
 * @returns {boolean} whether it was new
 */
function addMessage(room, frame) {
  settleOutbox(frame);
  if (room.seqs.has(frame.seq)) return false;
  room.seqs.add(frame.seq);
  const entry = { kind: 'message', key: `m${frame.seq}`, frame };
  // Usually the newest (live) or the oldest (a page back); find its place.
  let index = room.timeline.length;
  if (frame.seq < room.lastSeq) {
    while (index > 0) {
      const before = room.timeline[index - 1];
      if (before.kind === 'message' && before.frame.seq < frame.seq) break;
      index -= 1;
    }
  }
  room.timeline.splice(index, 0, entry);
  room.lastSeq = Math.max(room.lastSeq, frame.seq);
  room.oldestSeq = room.oldestSeq === 0 ? frame.seq : Math.min(room.oldestSeq, frame.seq);
  room.seq = Math.max(room.seq, frame.seq);
  return true;
}

/**
 * Drops the outbox entry a stored message acknowledges.
 * @param {MessageFrame} frame
 * @returns {boolean} whether it was one of ours from this browser
 */
function settleOutbox(frame) {
  if (!frame.cid) return false;
  const index = state.outbox.findIndex((entry) => entry.cid === frame.cid &&
    (frame.username === entry.sentAs || frame.username === state.me));
  if (index === -1) return false;
  state.outbox.splice(index, 1);
  saveOutbox();
  return true;
}

/**
 * @param {Room} room
 * @param {string} text
 * @param {number} timestamp
 * @param {string} tone
 */
function addNotice(room, text, timestamp, tone) {
  const active = room.name === state.active;
  const stick = active && isAtBottom();
  state.noticeCount += 1;
  room.timeline.push({ kind: 'notice', key: `n${state.noticeCount}`, text, timestamp, tone });
  if (!active) return;
  renderTimeline();
  if (stick) scrollToBottom();
}

/** @param {Room} room @param {string} username */
function stopTypingOf(room, username) {
  clearTimeout(room.typing.get(username));
  room.typing.delete(username);
}

/** @param {Room} room */
function clearTyping(room) {
  for (const timer of room.typing.values()) clearTimeout(timer);
  room.typing.clear();
}

/** @param {MessageFrame} frame */
function isOwn(frame) {
  return isOwnName(frame.username);
}

/**
 * Shows a refusal beside what the user just asked for. Returns false when
 * it belongs in the timeline instead.
 * @param {{kind: string, room?: string, username?: string}} pending
 * @param {ErrorFrame} frame
 */
function showActionError(pending, frame) {
  const words = ROOM_ERRORS[frame.code] || frame.message;
  switch (pending.kind) {
    case 'create':
    case 'join':
      if (!els.roomDialog.open) break;
      els.createError.textContent = words;
      els.createName.setAttribute('aria-invalid', 'true');
      return true;
    case 'invite':
    case 'link':
      if (!els.inviteDialog.open) break;
      els.inviteStatus.textContent = frame.code === 'not_found' && pending.username
        ? `Nobody owns the name "${pending.username}" here. Check the spelling; they need to have joined from their browser.`
        : words;
      els.inviteStatus.classList.add('error');
      return true;
    case 'dm':
      addNotice(activeRoom(), frame.code === 'not_found'
        ? `You can't write privately to ${pending.username}: they have not claimed their name.`
        : words, Date.now(), 'error');
      return true;
    case 'open':
      // A link to a room we cannot open: say so, in the lobby.
      navigate(LOBBY, true);
      addNotice(lobbyRoom(), `There is no room #${pending.room} you can open.`, Date.now(), 'error');
      return true;
    default:
      break;
  }
  if (frame.code === 'not_found' && pending.room) {
    addNotice(activeRoom(), `There is no room #${pending.room} you can open.`, Date.now(), 'error');
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Rooms and navigation

/** @param {string} name @returns {Room} */
function newRoom(name) {
  return {
    name,
    kind: name.startsWith('dm:') ? 'dm' : 'public',
    peer: '',
    members: [],
    seq: 0,
    lastRead: 0,
    readSent: 0,
    loaded: false,
    request: '',
    timeline: [],
    seqs: new Set(),
    lastSeq: 0,
    oldestSeq: 0,
    hasOlder: false,
    typing: new Map(),
    atBottom: true,
    scrollTop: 0,
  };
}

/** @returns {Room} */
function lobbyRoom() {
  return roomFor(LOBBY);
}

/** @returns {Room} the room on screen */
function activeRoom() {
  return state.rooms.get(state.active) || lobbyRoom();
}

/** The room called `name`, made on first sight. @param {string} name */
function roomFor(name) {
  let room = state.rooms.get(name);
  if (!room) {
    room = newRoom(name);
    state.rooms.set(name, room);
  }
  return room;
}

/** @param {RoomSummary} summary */
function upsertRoom(summary) {
  const room = roomFor(summary.room);
  room.kind = summary.kind;
  room.peer = summary.peer || '';
  room.members = summary.members.slice();
  room.seq = Math.max(room.seq, summary.seq);
  room.lastRead = Math.max(summary.last_read, Math.min(room.readSent, summary.seq));
  return room;
}

/**
 * Sends our read mark for `room` up to `seq`, once.
 * @param {Room} room
 * @param {number} seq
 */
function markRead(room, seq) {
  if (!state.claimed || !isReady() || seq <= room.lastRead || seq <= room.readSent) return;
  room.readSent = seq;
  room.lastRead = seq;
  send({ type: 'read', room: room.name, seq });
  renderRoomLists();
}

/** The room on screen is read when the tab is visible and its end is in view. */
function markReadIfSeen() {
  const room = activeRoom();
  if (document.hidden || els.app.hidden || !room.loaded || !isAtBottom()) return;
  markRead(room, room.lastSeq);
}

/** The room the address names: `#random`, `#dm:…`, or the lobby. */
function roomFromHash() {
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
function navigate(name, replace = false) {
  const hash = name === LOBBY && replace ? '' : `#${name}`;
  const current = location.hash;
  if (current !== hash) {
    const url = `${location.pathname}${location.search}${hash}`;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
  }
  openRoom(name);
}

/**
 * Puts a room on screen, keeping where each room was scrolled to. A room we
 * are not in yet is joined (public rooms open to anyone with the link).
 * @param {string} name
 */
function openRoom(name) {
  if (!state.rooms.has(name)) {
    if (!isReady()) {
      state.wanted = name; // once connected
      return;
    }
    if (name.startsWith('dm:') || !ROOM_NAME.test(name)) {
      navigate(LOBBY, true);
      addNotice(lobbyRoom(), `There is no room #${name} you can open.`, Date.now(), 'error');
      return;
    }
    // Until the server says we are in, keep showing where we were.
    state.pendingAction = { kind: 'open', room: name };
    send({ type: 'join_room', room: name });
    return;
  }
  const leaving = activeRoom();
  const switched = leaving.name !== name;
  if (switched && !els.app.hidden) {
    leaving.atBottom = isAtBottom();
    leaving.scrollTop = els.messages.scrollTop;
  }
  state.active = name;
  const room = activeRoom();
  if (switched) state.newBelow = 0;
  if (!room.loaded) requestRoom(room);
  renderAll();
  if (switched) {
    if (room.atBottom) scrollToBottom();
    else els.messages.scrollTop = room.scrollTop;
    setSidebarOpen(false);
    searchIfShown();
  }
  markReadIfSeen();
}

/**
 * Reads the address on load: an access key (`#key=…`) is kept and taken out
 * of the address bar, an invite link (`#join=room:secret`) is accepted once
 * connected, and anything else names the room to show.
 */
function readAddress() {
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

/** Moves the token of an owned name along with a rename. @param {string} from @param {string} to */
function moveToken(from, to) {
  const token = readStorage(tokenKey(from));
  if (token === null || tokenKey(from) === tokenKey(to)) return;
  writeStorage(tokenKey(to), token);
  removeStorage(tokenKey(from));
}

/** @param {string} name */
function tokenKey(name) {
  return `${TOKEN_PREFIX}${name.toLowerCase()}`;
}

// ---------------------------------------------------------------------------
// User actions

/** What the people search field asks for: up to 24 characters, leading spaces dropped. */
function searchPrefix() {
  return [...els.peopleSearchInput.value.trimStart()].slice(0, WHO_PREFIX_MAX).join('');
}

/** @param {string} text */
function sendMessage(text) {
  /** @type {OutboxEntry} */
  const entry = {
    cid: newCid(),
    text,
    createdAt: Date.now(),
    sentAs: state.me || state.name,
    room: activeRoom().name,
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

/** @param {string} name @returns {string} what is wrong with it, or '' */
function checkName(name) {
  const length = [...name].length;
  if (length === 0) return 'Please enter a name.';
  if (length > MAX_NAME_CHARS) return `Names can be at most ${MAX_NAME_CHARS} characters.`;
  if (CONTROL_CHARS.test(name)) return 'Names cannot contain invisible or control characters.';
  if (name.toLowerCase() === 'system') return '"system" is reserved; please pick another name.';
  return '';
}

/**
 * The server refused the name we connected with.
 * @param {string} code
 * @param {string} reason
 */
function refuseName(code, reason) {
  state.connection = 'refused';
  clearRetry();
  removeStorage(NAME_KEY);
  els.joinName.value = state.name;
  const name = state.name;
  state.name = '';
  state.code = '';
  if (code === 'name_taken') {
    els.joinCodeBox.open = true;
    showJoin(`"${name}" belongs to someone else; pick another name. If it is yours, ` +
      'move it here from your other device: there, choose "Use this name on another device" ' +
      'and type the code below.');
  } else if (code === 'invalid_code') {
    els.joinCodeBox.open = true;
    showJoin('That code is wrong or has expired. Ask your other device for a new one.');
  } else {
    showJoin(`That name does not work: ${reason}`);
  }
}

function openRoomDialog() {
  els.createError.textContent = '';
  els.createName.removeAttribute('aria-invalid');
  els.createForm.reset();
  state.publicRooms = null;
  renderPublicRooms();
  send({ type: 'list_rooms' });
  els.roomDialog.showModal();
  els.createName.focus();
}

function openInviteDialog() {
  const room = activeRoom();
  els.inviteTitle.textContent = `Invite people to #${room.name}`;
  els.inviteForm.reset();
  els.inviteStatus.textContent = '';
  els.inviteStatus.classList.remove('error');
  els.linkBox.hidden = true;
  els.linkInput.value = '';
  els.linkStatus.textContent = '';
  els.linkMake.textContent = 'Make an invite link';
  els.inviteDialog.showModal();
  els.inviteName.focus();
}

function closeDialogs() {
  if (els.roomDialog.open) els.roomDialog.close();
  if (els.inviteDialog.open) els.inviteDialog.close();
}

/** Copies the invite link, with the clipboard API where the page may use it. */
async function copyLink() {
  const link = els.linkInput.value;
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
  let words = 'Select the link and copy it.';
  if (copied && isLoopback(location.hostname)) {
    words = `Copied. Before sending it, swap ${location.hostname} for the network address.`;
  } else if (copied) {
    words = 'Copied. Send it to the people you want in this room.';
  }
  els.linkStatus.textContent = words;
}

/** @param {string} username */
function openDirect(username) {
  const existing = [...state.rooms.values()].find((room) => room.kind === 'dm' && room.peer === username);
  setPeopleOpen(false);
  if (existing) {
    navigate(existing.name);
    return;
  }
  if (!isReady()) return;
  state.pendingAction = { kind: 'dm', username };
  send({ type: 'dm', username });
}

// ---------------------------------------------------------------------------
// Render functions: each brings one part of the page in line with the state

function renderAll() {
  renderRoomHead();
  renderRoomLists();
  renderPeople();
  renderTyping();
  renderTimeline();
  renderPill();
}

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

/** @param {Room} room */
function unreadOf(room) {
  return Math.max(0, room.seq - room.lastRead);
}

/** @param {Room} room */
function roomLabel(room) {
  return room.kind === 'dm' ? room.peer || 'Direct message' : room.name;
}

/** The sidebar: rooms, invitations and direct messages, with unread badges. */
function renderRoomLists() {
  const rooms = [...state.rooms.values()];
  const byName = (a, b) => {
    if (a.name === LOBBY) return -1;
    if (b.name === LOBBY) return 1;
    return roomLabel(a).localeCompare(roomLabel(b));
  };
  const channels = rooms.filter((room) => room.kind !== 'dm').sort(byName);
  const directs = rooms.filter((room) => room.kind === 'dm').sort(byName);
  const name = (room) => room.name;
  renderList(els.roomList, channels.map(name), roomItem, fillRoomItem);
  renderList(els.dmList, directs.map(name), roomItem, fillRoomItem);
  els.dmEmpty.hidden = directs.length > 0;
  const invitations = [...state.invitations].sort(([a], [b]) => a.localeCompare(b));
  els.invitationsBox.hidden = invitations.length === 0;
  const invitedBy = new Map(invitations);
  renderList(els.invitationList, [...invitedBy.keys()],
    (room) => invitationItem(room, invitedBy.get(room) || ''));
  // On phones the sidebar hides behind a button: its badge counts the rest.
  const elsewhere = rooms.filter((room) => room.name !== state.active)
    .reduce((sum, room) => sum + unreadOf(room), 0) + invitations.length;
  els.roomsToggleBadge.hidden = elsewhere === 0;
  els.roomsToggleBadge.textContent = elsewhere > 99 ? '99+' : String(elsewhere);
  els.roomsToggle.setAttribute('aria-label', elsewhere > 0
    ? `Rooms and direct messages, ${elsewhere} unread` : 'Rooms and direct messages');
}

/**
 * Makes `list` show one row per key, in order, reusing the rows of the last
 * render: a row that stays keeps its place in the page, and its focus.
 * @param {HTMLElement} list
 * @param {string[]} keys
 * @param {(key: string) => HTMLElement} make builds a new row
 * @param {(row: HTMLElement, key: string) => void} [fill] brings a row up to date
 */
function renderList(list, keys, make, fill) {
  const before = state.listRows.get(list) || new Map();
  const rows = new Map();
  let cursor = list.firstElementChild;
  for (const key of keys) {
    const row = before.get(key) || make(key);
    if (fill) fill(row, key);
    rows.set(key, row);
    if (row === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(row, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
  state.listRows.set(list, rows);
}

/** A sidebar row for a room, filled by `fillRoomItem`. */
function roomItem() {
  const item = document.createElement('li');
  item.append(document.createElement('a'));
  return item;
}

/**
 * Brings a room's row up to date. Only the link's contents are replaced, so
 * a link that has the keyboard focus keeps it.
 * @param {HTMLElement} item
 * @param {string} name
 */
function fillRoomItem(item, name) {
  const room = state.rooms.get(name);
  const link = /** @type {HTMLAnchorElement} */ (item.firstElementChild);
  if (!room || !link) return;
  const unread = unreadOf(room);
  link.className = `room-link ${room.kind}`;
  link.classList.toggle('unread', unread > 0);
  link.href = `#${room.name}`;
  link.dataset.room = room.name;
  if (room.name === state.active) link.setAttribute('aria-current', 'page');
  else link.removeAttribute('aria-current');
  /** @type {(Node | string)[]} */
  const parts = [];
  if (room.kind === 'dm') {
    link.style.setProperty('--hue', String(nameHue(room.peer)));
    const avatar = document.createElement('span');
    avatar.className = 'avatar small';
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = initial(room.peer);
    avatar.classList.toggle('offline', !state.users.includes(room.peer));
    parts.push(avatar);
  } else {
    parts.push(roomIcon(room.kind));
  }
  const label = document.createElement('span');
  label.className = 'room-label';
  label.textContent = roomLabel(room);
  parts.push(label);
  if (room.kind === 'private') parts.push(hiddenText(' (private)'));
  if (unread > 0) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = unread > 99 ? '99+' : String(unread);
    badge.append(hiddenText(' unread'));
    parts.push(badge);
  }
  link.replaceChildren(...parts);
}

/** @param {string} room @param {string} by */
function invitationItem(room, by) {
  const item = document.createElement('li');
  item.className = 'invitation';
  const text = document.createElement('span');
  text.className = 'invitation-text';
  const strong = document.createElement('strong');
  strong.textContent = `#${room}`;
  text.append(strong, by ? ` from ${by}` : '');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button small primary';
  button.textContent = 'Join';
  button.dataset.join = room;
  button.setAttribute('aria-label', `Join #${room}`);
  item.append(text, button);
  return item;
}

/** `#` for a public room, a padlock for a private one. @param {string} kind */
function roomIcon(kind) {
  const icon = document.createElement('span');
  icon.className = 'room-icon';
  icon.setAttribute('aria-hidden', 'true');
  if (kind === 'private') {
    icon.append(svgIcon('M17 9h-1V7a4 4 0 0 0-8 0v2H7a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2Zm-7-2a2 2 0 0 1 4 0v2h-4Z'));
  } else {
    icon.textContent = '#';
  }
  return icon;
}

/** @param {string} path */
function svgIcon(path) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('focusable', 'false');
  const shape = document.createElementNS(ns, 'path');
  shape.setAttribute('fill', 'currentColor');
  shape.setAttribute('d', path);
  svg.append(shape);
  return svg;
}

/** @param {string} text */
function hiddenText(text) {
  const span = document.createElement('span');
  span.className = 'visually-hidden';
  span.textContent = text;
  return span;
}

/** The bar above the messages: which room, what kind, and its actions. */
function renderRoomHead() {
  const room = activeRoom();
  const dm = room.kind === 'dm';
  els.roomIcon.replaceChildren(dm ? '@' : roomIcon(room.kind));
  els.roomName.textContent = roomLabel(room);
  const online = onlineCount();
  let info = online > 0 ? `Everyone on this network · ${online.toLocaleString()} online`
    : 'Everyone on this network';
  if (dm) info = 'Direct message · only the two of you can read it';
  else if (room.kind === 'private') info = `Private room · ${plural(room.members.length, 'member')}, by invitation`;
  else if (room.name !== LOBBY) info = `Public room · ${plural(room.members.length, 'member')}`;
  els.roomInfo.textContent = info;
  const own = room.name !== LOBBY && !dm;
  els.roomInvite.hidden = !own;
  els.roomLeave.hidden = !own;
  els.chat.setAttribute('aria-label', dm ? `Direct messages with ${room.peer}` : `#${room.name}`);
  const target = dm ? room.peer : `#${room.name}`;
  // A long name would wrap the placeholder on a phone.
  els.input.placeholder = target.length > 14 ? 'Write a message…' : `Message ${target}…`;
  document.body.dataset.room = room.name;
}

/**
 * People: everyone online in the lobby, or, past the roster limit, whom the
 * search found; a room's members, online first, elsewhere.
 */
function renderPeople() {
  const room = activeRoom();
  const online = new Set(state.users);
  const everyone = room.name === LOBBY;
  const searching = everyone && !state.complete;
  const names = everyone ? [...state.users] : room.members.slice();
  if (!everyone && state.me && !names.includes(state.me)) names.push(state.me);
  const order = (a, b) => {
    if (a === state.me) return -1;
    if (b === state.me) return 1;
    return a.localeCompare(b);
  };
  let here = names.filter((name) => everyone || online.has(name)).sort(order);
  const away = everyone ? [] : names.filter((name) => !online.has(name)).sort(order);
  if (searching) here = searchResults();
  // Keyed by how the row looks, so an unchanged row (and its focus) stays.
  const mode = (name) => (name === state.me ? 'me' : state.claimed ? 'dm' : 'plain');
  const keys = (names) => names.map((name) => `${mode(name)}:${name}`);
  const person = (online) => (key) => personItem(key.slice(key.indexOf(':') + 1), online);
  renderList(els.peopleList, keys(here), person(true));
  renderList(els.offlineList, keys(away), person(false));
  els.offlineBox.hidden = away.length === 0;
  els.peopleHeading.textContent = everyone ? 'Online' : 'Online here';
  const count = (everyone ? onlineCount() : here.length).toLocaleString();
  els.peopleCount.textContent = count;
  els.peopleToggleCount.textContent = count;
  els.meName.textContent = state.me || state.name;
  renderSearch(searching, here.length);
}

/**
 * What the lobby's search shows at once: the last answer, narrowed to what
 * the field says now (the server's answer to it follows), in its order.
 */
function searchResults() {
  const prefix = searchPrefix().toLowerCase();
  return state.who.results.filter((name) => name.toLowerCase().startsWith(prefix));
}

/**
 * The search field and what it found, past the roster limit.
 * @param {boolean} searching
 * @param {number} shown names listed
 */
function renderSearch(searching, shown) {
  els.peopleSearch.hidden = !searching;
  let status = '';
  if (searching) {
    const prefix = searchPrefix();
    const answered = state.who.prefix !== null &&
      state.who.prefix.toLowerCase() === prefix.toLowerCase();
    if (shown === 0 && !answered) status = 'Searching…';
    else if (shown === 0 && prefix) status = `No one online matches "${prefix}".`;
    else if (shown === 0) status = 'No one else is online.';
    else if (answered && state.who.results.length >= WHO_LIMIT) {
      status = `Showing the first ${WHO_LIMIT}. Type more of the name to narrow it down.`;
    }
    const hint = `${onlineCount().toLocaleString()} online: too many to list. ` +
      'Type the start of a name.';
    if (els.peopleSearchHint.textContent !== hint) els.peopleSearchHint.textContent = hint;
  }
  // A live region: it stays in the page, empty when there is nothing to say.
  if (els.peopleSearchStatus.textContent !== status) els.peopleSearchStatus.textContent = status;
}

/** @param {string} user @param {boolean} online */
function personItem(user, online) {
  const item = document.createElement('li');
  item.style.setProperty('--hue', String(nameHue(user)));
  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  avatar.classList.toggle('offline', !online);
  avatar.setAttribute('aria-hidden', 'true');
  avatar.textContent = initial(user);
  const name = document.createElement('span');
  name.className = 'person';
  name.textContent = user;
  if (user === state.me || !state.claimed) {
    item.append(avatar, name);
    if (user === state.me) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = '(you)';
      item.append(' ', you);
    }
    return item;
  }
  // Anyone else: a button that opens a direct message.
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'person-button';
  button.dataset.dm = user;
  button.title = `Write to ${user} privately`;
  button.append(avatar, name, hiddenText(': send a direct message'));
  const hint = document.createElement('span');
  hint.className = 'dm-hint';
  hint.setAttribute('aria-hidden', 'true');
  hint.append(svgIcon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2Z'));
  button.append(hint);
  item.append(button);
  return item;
}

function renderTyping() {
  const room = activeRoom();
  const names = [...room.typing.keys()].filter((name) => name !== state.me);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  if (els.typing.textContent !== text) els.typing.textContent = text;
}

function renderPublicRooms() {
  const rooms = state.publicRooms || [];
  const items = rooms.map(({ room, members }) => {
    const item = document.createElement('li');
    const label = document.createElement('span');
    label.className = 'public-room';
    const name = document.createElement('strong');
    name.textContent = `#${room}`;
    const count = document.createElement('span');
    count.className = 'muted';
    count.textContent = plural(members, 'member');
    label.append(name, ' ', count);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button small';
    const mine = state.rooms.has(room);
    button.textContent = mine ? 'Open' : 'Join';
    button.dataset.join = room;
    button.setAttribute('aria-label', `${mine ? 'Open' : 'Join'} #${room}`);
    item.append(label, button);
    return item;
  });
  els.publicList.replaceChildren(...items);
  els.publicEmpty.hidden = items.length > 0;
  els.publicEmpty.textContent = state.publicRooms === null ? 'Looking for rooms…'
    : 'No public rooms yet. Create one above.';
}

/**
 * Makes the list match the active room's timeline plus its outbox, reusing
 * rows by key, with day separators between days.
 */
function renderTimeline() {
  const room = activeRoom();
  const list = els.timeline;
  if (list.dataset.room !== room.name) {
    // Another room: nothing to reuse.
    list.dataset.room = room.name;
    list.replaceChildren();
    state.rows.clear();
  }
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
    ...room.timeline,
    ...state.outbox.filter((entry) => (entry.room || LOBBY) === room.name)
      .map((entry) => ({ kind: 'outbox', key: `o${entry.cid}`, entry })),
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

/** The top of the list: "load older", or the start of the room. */
function renderHistoryEdge() {
  const room = activeRoom();
  const loading = room.request === 'older';
  const any = room.timeline.some((entry) => entry.kind === 'message');
  els.loadOlder.hidden = !room.hasOlder;
  els.loadOlder.textContent = loading ? 'Loading older messages…' : 'Load older messages';
  els.loadOlder.disabled = loading;
  els.historyStart.hidden = room.hasOlder || state.me === '' || !room.loaded;
  let start = 'This is the beginning of the chat.';
  if (room.kind === 'dm') start = `This is the beginning of your messages with ${room.peer}.`;
  else if (room.name !== LOBBY) start = `This is the beginning of #${room.name}.`;
  els.historyStart.textContent = any ? start : 'No messages yet. Say hello!';
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
  els.keyGate.hidden = true;
  els.app.hidden = true;
  els.join.hidden = false;
  els.joinError.textContent = error;
  els.joinName.setAttribute('aria-invalid', String(error !== ''));
  els.joinName.focus();
}

function showApp() {
  els.keyGate.hidden = true;
  els.join.hidden = true;
  els.app.hidden = false;
  renderConnection();
  renderAll();
  scrollToBottom();
  if (!window.matchMedia('(pointer: coarse)').matches) els.input.focus();
}

/** Asks for the access key. @param {string} [error] */
function showKeyGate(error = '') {
  els.join.hidden = true;
  els.app.hidden = true;
  els.keyGate.hidden = false;
  els.keyError.textContent = error;
  els.keyInput.setAttribute('aria-invalid', String(error !== ''));
  els.keyInput.focus();
}

/** After the key (if any): straight in with a remembered name, else the join form. */
function enter() {
  if (state.name) {
    showApp();
    connect();
  } else {
    showJoin();
  }
}

/** @param {boolean} open */
function setPeopleOpen(open) {
  els.app.classList.toggle('people-open', open);
  els.peopleToggle.setAttribute('aria-expanded', String(open));
  els.peopleBackdrop.hidden = !open;
  if (open) {
    setSidebarOpen(false);
    els.peopleClose.focus();
    searchIfShown();
  }
}

/** Whether the people panel is on screen: always on wide screens, else when opened. */
function peopleShown() {
  return !els.app.hidden && (!peopleDrawer.matches || els.app.classList.contains('people-open'));
}

/** @param {boolean} open */
function setSidebarOpen(open) {
  const was = els.app.classList.contains('sidebar-open');
  els.app.classList.toggle('sidebar-open', open);
  els.roomsToggle.setAttribute('aria-expanded', String(open));
  els.sidebarBackdrop.hidden = !open;
  if (open) {
    setPeopleOpen(false);
    els.sidebarClose.focus();
  } else if (was) {
    els.roomsToggle.focus();
  }
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

function hideMoveCode() {
  els.moveBox.hidden = true;
  els.moveCode.textContent = '';
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


/** Whether `host` is this machine only (a link to it is no use to others). @param {string} host */
function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/** @param {number} count @param {string} noun */
function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The UTF-8 bytes of `text`, as hex: how the WebSocket carries the key. @param {string} text */
function hexOf(text) {
  return [...new TextEncoder().encode(text)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------
// Setup

els.keyForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = els.keyInput.value;
  if (key === '') {
    showKeyGate('Please enter the access key.');
    return;
  }
  const button = /** @type {HTMLButtonElement} */ (els.keyForm.querySelector('button[type=submit]'));
  button.disabled = true;
  const access = await checkAccess(key);
  button.disabled = false;
  if (access === 'denied') {
    els.keyInput.select();
    showKeyGate('That key is not right. Check it with whoever started the chat, and try again.');
    return;
  }
  if (access === 'unknown') {
    showKeyGate('The chat server cannot be reached right now. Try again in a moment.');
    return;
  }
  state.key = key;
  writeStorage(ACCESS_KEY, key);
  els.keyInput.value = '';
  state.connection = 'connecting';
  state.attempt = 0;
  enter();
});

els.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = els.joinName.value.trim();
  const problem = checkName(name);
  if (problem) {
    showJoin(problem);
    return;
  }
  const code = els.joinCodeBox.open ? els.joinCode.value.replace(/[^a-z0-9]/gi, '').toUpperCase() : '';
  state.code = code;
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
  markReadIfSeen();
}, { passive: true });

els.loadOlder.addEventListener('click', requestOlder);
els.newPill.addEventListener('click', () => {
  els.messages.scrollTo({ top: els.messages.scrollHeight, behavior: 'smooth' });
  state.newBelow = 0;
  els.newPill.hidden = true;
  els.input.focus();
});
els.retryNow.addEventListener('click', retryNow);

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
  const target = /** @type {HTMLElement} */ (event.target);
  const join = target.closest('button[data-join]');
  if (join instanceof HTMLElement) {
    const room = join.dataset.join || '';
    state.pendingAction = { kind: 'join', room };
    send({ type: 'join_room', room });
    return;
  }
  const link = target.closest('a[data-room]');
  // Opening the room on screen again just closes the drawer.
  if (link instanceof HTMLElement && link.dataset.room === state.active) setSidebarOpen(false);
});
els.roomsToggle.addEventListener('click', () => {
  setSidebarOpen(!els.app.classList.contains('sidebar-open'));
});
els.sidebarClose.addEventListener('click', () => setSidebarOpen(false));
els.sidebarBackdrop.addEventListener('click', () => setSidebarOpen(false));
els.roomAdd.addEventListener('click', openRoomDialog);

els.publicList.addEventListener('click', (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = target.closest('button[data-join]');
  if (!(button instanceof HTMLElement)) return;
  const room = button.dataset.join || '';
  if (state.rooms.has(room)) {
    closeDialogs();
    navigate(room);
    return;
  }
  state.pendingAction = { kind: 'join', room };
  send({ type: 'join_room', room });
});
els.createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = els.createName.value.trim().replace(/^#/, '').toLowerCase();
  if (!ROOM_NAME.test(room)) {
    els.createError.textContent = ROOM_ERRORS.invalid_room;
    els.createName.setAttribute('aria-invalid', 'true');
    els.createName.focus();
    return;
  }
  if (!isReady()) {
    els.createError.textContent = 'You are offline; try again once connected.';
    return;
  }
  els.createError.textContent = '';
  els.createName.removeAttribute('aria-invalid');
  state.pendingAction = { kind: 'create', room };
  send({ type: 'create_room', room, private: els.createPrivate.checked });
});
for (const dialog of [els.roomDialog, els.inviteDialog]) {
  dialog.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target === dialog || target.closest('[data-close]')) dialog.close();
  });
  // An answer that comes after the dialog closed goes to the timeline.
  dialog.addEventListener('close', () => {
    const kind = state.pendingAction ? state.pendingAction.kind : '';
    if (['create', 'join', 'invite', 'link'].includes(kind)) state.pendingAction = null;
  });
}

els.roomInvite.addEventListener('click', openInviteDialog);
els.roomLeave.addEventListener('click', () => {
  const room = activeRoom();
  if (room.name === LOBBY || room.kind === 'dm' || !isReady()) return;
  state.pendingAction = { kind: 'leave', room: room.name };
  send({ type: 'leave_room', room: room.name });
});
els.inviteForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const username = els.inviteName.value.trim();
  els.inviteStatus.classList.remove('error');
  if (username === '') {
    els.inviteStatus.textContent = 'Type the name of the person to invite.';
    return;
  }
  if (!isReady()) {
    els.inviteStatus.textContent = 'You are offline; try again once connected.';
    return;
  }
  const room = activeRoom().name;
  state.pendingAction = { kind: 'invite', room, username };
  send({ type: 'invite', room, username });
  // The server answers only a refusal; no news is good news.
  els.inviteStatus.textContent = `Invited ${username}. They will see the invitation in their list of rooms.`;
  els.inviteName.value = '';
});
els.linkMake.addEventListener('click', () => {
  if (!isReady()) return;
  const room = activeRoom().name;
  state.pendingAction = { kind: 'link', room };
  send({ type: 'invite_link', room });
});
els.linkCopy.addEventListener('click', copyLink);

els.peopleToggle.addEventListener('click', () => {
  setPeopleOpen(!els.app.classList.contains('people-open'));
});
els.peopleClose.addEventListener('click', () => {
  setPeopleOpen(false);
  els.peopleToggle.focus();
});
els.peopleBackdrop.addEventListener('click', () => setPeopleOpen(false));
// Past the roster limit: search as the user types, once typing pauses.
els.peopleSearchInput.addEventListener('input', () => {
  clearTimeout(state.who.timer);
  state.who.timer = setTimeout(requestWho, WHO_DEBOUNCE_MS);
  renderPeople();
});
els.peopleSearchInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') {
    event.preventDefault();
    requestWho();
  } else if (event.key === 'Escape' && els.peopleSearchInput.value !== '') {
    // Escape empties the search first; a second one closes the panel.
    event.preventDefault();
    event.stopPropagation();
    els.peopleSearchInput.value = '';
    requestWho();
    renderPeople();
  }
});
// A window widened past the drawer shows the panel, and its search.
peopleDrawer.addEventListener('change', searchIfShown);
els.people.addEventListener('click', (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = target.closest('button[data-dm]');
  if (button instanceof HTMLElement) openDirect(button.dataset.dm || '');
});
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  if (els.app.classList.contains('people-open')) {
    setPeopleOpen(false);
    els.peopleToggle.focus();
  } else if (els.app.classList.contains('sidebar-open')) {
    setSidebarOpen(false);
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
els.moveOpen.addEventListener('click', () => {
  if (!isReady()) return;
  send({ type: 'transfer_code' });
});

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  state.unread = 0;
  renderTitle();
  retryNow();
  checkAlive();
  markReadIfSeen();
});
window.addEventListener('online', retryNow);
window.addEventListener('offline', renderConnection);

readAddress();
renderRoomLists();
checkAccess().then((access) => {
  if (access === 'denied') showKeyGate(state.key ? 'That access key is not right anymore. Please enter it again.' : '');
  else enter();
});
