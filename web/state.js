// The store: everything the page knows, in one object, and the one way to
// say it changed. Handlers and actions change `state`, then call
// `changed()`; the renderers (render/index.js) listen and bring the page in
// line on the next animation frame. Nothing here touches the DOM.

import { DEFAULT_LIMITS, LOBBY } from './protocol.js';
import { ACCESS_KEY, NAME_KEY, readStorage } from './storage.js';

/** @typedef {import('./i18n.js').Phrase} Phrase */

/**
 * A message written here that the server has not acknowledged yet. Kept in
 * localStorage, one key per message, so it survives a reload and every tab
 * of the browser sees it (see outbox.js).
 * @typedef {object} OutboxEntry
 * @property {string} cid
 * @property {string} text
 * @property {number} createdAt
 * @property {string} sentAs      the name it was written under
 * @property {string} room        where it goes
 * @property {'pending' | 'failed'} status
 * @property {Phrase | string} [reason] why it was refused (a string: kept by an older page)
 * @property {string[]} [files]   the uploads it shares (see uploads.js), by their ids
 * @property {number} [replyTo]   the seq of the message it answers
 * @property {'edit' | 'delete' | 'react'} [kind]  a change to message `target`, not a message
 * @property {number} [target]
 * @property {string} [emoji]     a reaction's emoji, added (`on`) or taken back
 * @property {boolean} [on]
 *
 * One row of a timeline: a stored message or a notice.
 * @typedef {{kind: 'message', key: string, frame: import('./protocol.js').MessageFrame} | {kind: 'notice', key: string, text: Phrase, timestamp: number, tone: string}} TimelineEntry
 *
 * A room this user belongs to, with what the page has of it.
 * @typedef {object} Room
 * @property {string} name        its id (a private room's is `p:` and hex)
 * @property {string} title       what to call it (a private room's own name)
 * @property {'public' | 'private' | 'dm'} kind
 * @property {string} peer        the other person, for a direct message
 * @property {string[]} members   names; empty for the lobby (everyone)
 * @property {number} seq         the room's latest seq, as far as we know
 * @property {number} lastRead    our read mark, kept by the server
 * @property {number} readSent    the highest read mark this tab sent
 * @property {boolean} loaded     whether the timeline holds the latest messages (or, after a jump, a page of the past)
 * @property {'latest' | 'since' | 'older' | 'around' | 'newer' | ''} request  the history request out
 * @property {boolean} hasNewer   after a jump: newer messages exist past the timeline's end (it is not live)
 * @property {{around?: number, at?: number} | null} jump a jump waiting for the request out to come back
 * @property {number} [jumpAt]   the date (ms) of the jump to a date that is out
 * @property {number} unread      messages after our read mark, as the server counts them
 * @property {number} mentions    of them, those that mention us
 * @property {boolean} muted      no badge, no sound, no notification
 * @property {'all' | 'mentions' | 'nothing'} notify
 * @property {TimelineEntry[]} timeline oldest first
 * @property {Set<number>} seqs   seqs in the timeline, so each shows once
 * @property {number} lastSeq     highest seq shown
 * @property {number} oldestSeq   lowest seq shown
 * @property {boolean} hasOlder
 * @property {Map<string, number>} typing who is typing, with their expiry timers
 * @property {boolean} atBottom   where its view was, for coming back to it
 * @property {number} scrollTop
 */

export const state = {
  /** 'key' (asking for the access key) | 'join' | 'app' | '' (deciding) */
  screen: '',
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
  /** What the server allows, from its welcome. @type {import('./protocol.js').Limits} */
  limits: { ...DEFAULT_LIMITS },
  /** 'connecting' | 'connected' | 'waiting' | 'refused' */
  connection: 'connecting',
  /** Failed attempts since the last welcome; drives the backoff. */
  attempt: 0,
  /** When the next attempt starts, while waiting. */
  retryAt: 0,
  /** Why the last connection ended, until the next welcome. @type {{code: number, words: import('./i18n.js').Phrase, policy: boolean} | null} */
  lastClose: null,
  /**
   * Whether the server has welcomed this page since it opened. Until then
   * nothing of the chat is known: the page may have opened from the
   * device (sw.js) with the server out of reach.
   */
  reached: false,
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
  /** Rooms we were invited to, by id: what they are called and by whom. @type {Map<string, {name: string, by: string}>} */
  invitations: new Map(),
  /** An invite link to accept once connected. @type {{room: string, secret: string} | null} */
  pendingLink: null,
  /**
   * What this tab asked for and waits to hear back about, so a `room` frame
   * opens the room here (not in other tabs) and an error lands beside the
   * right field. @type {{kind: string, room?: string, username?: string} | null}
   */
  pendingAction: null,
  renamePending: false,
  noticeCount: 0,
  /** Messages not acknowledged yet, oldest first (see outbox.js). @type {OutboxEntry[]} */
  outbox: [],
  /** Files on their way, by id: in a room's tray, or waiting with a message (see uploads.js). @type {Map<string, import('./uploads.js').Upload>} */
  uploads: new Map(),
  /** Why files could not be attached, shown above the tray until the next attempt. @type {import('./i18n.js').Phrase | null} */
  attachError: null,
  /** Whether files are being dragged over the page (the drop overlay shows). */
  dragging: false,
  /** The picture the lightbox shows, or null. @type {{url: string, name: string, width: number, height: number} | null} */
  lightbox: null,
  /**
   * Who is online: everyone while `complete`; otherwise only us and the
   * people we share a room or direct message with (the server tells us of
   * their comings and goings, and of no one else's).
   * @type {string[]}
   */
  users: [],
  /** Names online, us included, as the server last counted them. */
  online: 0,
  /** Whether `users` is everyone; past the roster limit the lobby is searched. */
  complete: true,
  /**
   * The lobby's people search while the roster is incomplete: what the field
   * says, the names of the last answer, and the prefix it was for (null
   * before any). @type {{query: string, results: string[], prefix: string | null}}
   */
  who: { query: '', results: [], prefix: null },
  /** When we last told the server we are typing; 0 when we are not. */
  typingSentAt: 0,
  /** The room that typing was in. */
  typingRoom: LOBBY,
  /** Messages from others that arrived while the tab was hidden. */
  unread: 0,
  /** Messages from others that arrived below the view. */
  newBelow: 0,
  /**
   * The timeline's view: whether its end is on screen, a one-off "scroll to
   * the end", a one-off "keep the rows in view where they are" (a newer page
   * came below), and a message to bring into view (a jump; see jump.js).
   * @type {{atBottom: boolean, toEnd: boolean, keepPlace: boolean, jumpTo: number}}
   */
  view: { atBottom: true, toEnd: false, keepPlace: false, jumpTo: 0 },
  /** The message a jump went to, highlighted until the next. */
  highlight: { room: '', seq: 0 },
  /**
   * What the composer is doing besides writing: answering a message or
   * editing one of ours (see composer/context.js). @type {{mode: '' | 'reply' | 'edit', room: string, seq: number, draft: string}}
   */
  composing: { mode: '', room: '', seq: 0, draft: '' },
  /** The emoji picker: open for the composer, or to react to message `seq`. @type {{open: boolean, room: string, seq: number}} */
  picker: { open: false, room: '', seq: 0 },
  /** Which drawer is open on narrow screens: '' | 'sidebar' | 'people'. */
  drawer: '',
  /** Which dialog is open: '' | 'rooms' | 'invite' | 'lightbox'. */
  dialog: '',
  /** The last thing said to screen readers. @type {import('./i18n.js').Phrase | null} */
  announcement: null,
  /** The public rooms, from the last `room_list`; null while asking. @type {{room: string, members: number}[] | null} */
  publicRooms: null,
  /**
   * What the forms and dialogs say: errors and statuses (as phrases, said
   * in the language of the moment), a made link, a transfer code.
   */
  forms: {
    /** @type {Phrase | null} */
    keyError: null,
    /** @type {Phrase | null} */
    joinError: null,
    renameOpen: false,
    /** @type {Phrase | null} */
    renameError: null,
    /** @type {Phrase | null} */
    createError: null,
    /** @type {Phrase | null} */
    inviteStatus: null,
    inviteError: false,
    link: '',
    /** @type {Phrase | null} */
    linkStatus: null,
    /** @type {{code: string, expires: number} | null} */
    move: null,
  },
};

const changes = new EventTarget();

/**
 * Announces that `state` changed, so the page is rendered again (once, on
 * the next animation frame, however often this is called before it).
 * @param {string} [what] names the change, for listeners that care
 */
export function changed(what = 'state') {
  changes.dispatchEvent(new CustomEvent('change', { detail: what }));
}

/** @param {(what: string) => void} listener */
export function onChange(listener) {
  changes.addEventListener('change', (event) => listener(/** @type {CustomEvent} */ (event).detail));
}

/**
 * Says something to screen readers (the announcer is a live region). Long
 * texts in it (a message) are cut short.
 * @param {Phrase} said
 */
export function announce(said) {
  const params = Object.fromEntries(Object.entries(said.params || {}).map(([name, value]) => [
    name, typeof value === 'string' && value.length > 300 ? `${value.slice(0, 300)}…` : value,
  ]));
  state.announcement = { key: said.key, params };
  changed('announcement');
}
