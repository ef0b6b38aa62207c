// The host's part of the store: the host secret this browser keeps (from
// the host link's `#host=`), whether the server took it (host mode), what
// the host sees, each room's rules as the server announced them, and a
// removal by the host. Like state.js, nothing here touches the DOM; it sits
// at the bottom beside it and imports only state and storage.

import { changed } from '../state.js';
import { readStorage, removeStorage, writeStorage } from '../storage.js';

/**
 * A room's rules, set by the host (all off unless announced); `keep` is how
 * long its messages are kept: 'all', `{days: n}` or `{messages: n}`.
 * @typedef {'all' | {days: number} | {messages: number}} Keep
 * @typedef {{slow: number, read_only: boolean, locked: boolean, closed: boolean, keep: Keep}} Rules
 *
 * What the host sees (a `host_state` frame).
 * @typedef {{room: string, name: string, kind: 'public' | 'private' | 'dm', members: string[], online: string[]} & Rules} HostRoom
 * @typedef {{rooms: HostRoom[], mutes: {username: string, until?: number}[], bans: {id: string, username: string, until?: number, reason: string, browsers: number}[], bots: {id: string, name: string, rooms: string[]}[]}} HostView
 *
 * The host removed this page's connection (a `removed` frame).
 * @typedef {{reason: string, banned: boolean, until?: number}} Removal
 *
 * Event mode (an `event` frame): its name, when it ends (if it has a
 * time), and once over, when it ended and when its data goes (none with
 * `keep`).
 * @typedef {{name: string, ends?: number, ended?: number, keep: boolean, wipe_at?: number, grace_ms: number}} EventInfo
 *
 * A room's pinned announcement (a `pinned` frame).
 * @typedef {{room: string, seq: number, message: string, html: string, timestamp: number}} Pin
 */

const SECRET_KEY = 'lanchat.host';
const BROWSER_KEY = 'lanchat.browser';
/** The announcements this browser dismissed: room → seq, as JSON. */
const DISMISSED_KEY = 'lanchat.dismissed';
/** No rules: what a room has unless the server says otherwise. */
export const NO_RULES = Object.freeze({ slow: 0, read_only: false, locked: false, closed: false, keep: 'all' });

/** A keep as one word for a `<select>`: 'all', 'days:30', 'messages:100'. @param {Keep} keep */
export function keepValue(keep) {
  if (!keep || keep === 'all') return 'all';
  return 'days' in keep ? `days:${keep.days}` : `messages:${keep.messages}`;
}

/** The keep a `<select>`'s word stands for. @param {string} value @returns {Keep} */
export function keepOf(value) {
  const [kind, count] = value.split(':');
  if (kind === 'days') return { days: Number(count) };
  if (kind === 'messages') return { messages: Number(count) };
  return 'all';
}

export const host = {
  /** The host secret, if this browser opened the host link. */
  secret: readStorage(SECRET_KEY) || '',
  /** '' (not the host), 'asking', 'on', or 'refused' (the link no longer works). */
  mode: /** @type {'' | 'asking' | 'on' | 'refused'} */ (''),
  /** @type {HostView | null} */
  view: null,
  /** Each room's rules, by room id, as announced. @type {Map<string, Rules>} */
  rules: new Map(),
  /** @type {Removal | null} */
  removed: null,
  /** Each room's pinned announcement, by room id. @type {Map<string, Pin>} */
  pins: new Map(),
  /** The announcements dismissed here: room → the seq dismissed. @type {Record<string, number>} */
  dismissed: readDismissed(),
  /** Each room's raised hands, in order, by room id. @type {Map<string, string[]>} */
  hands: new Map(),
  /** Event mode, if the server runs an event. @type {EventInfo | null} */
  event: null,
  /** Whether the "event is over" dialog was shown (and closed) already. */
  eventOverSeen: false,
  /** The host pressed "End the event now" once: the next press ends it. */
  confirmEnd: false,
  /** Where the dialog says `status`: '' its own line, 'bots' the bots' section. */
  statusAt: '',
  /** A bot just made, with its token: shown once. @type {{id: string, name: string, token: string} | null} */
  botToken: null,
  /** The host's dialog: open, the last answer to show, and what was asked. */
  dialogOpen: false,
  status: '',
  statusError: false,
  /** The action waiting for its answer, by cid. */
  pending: '',
};

/** @returns {Record<string, number>} */
function readDismissed() {
  try {
    const kept = JSON.parse(readStorage(DISMISSED_KEY) || '{}');
    return kept && typeof kept === 'object' ? kept : {};
  } catch {
    return {};
  }
}

/** Hides `room`'s pinned announcement in this browser, until another is pinned. @param {string} room */
export function dismissPin(room) {
  const pin = host.pins.get(room);
  if (!pin) return;
  host.dismissed[room] = pin.seq;
  writeStorage(DISMISSED_KEY, JSON.stringify(host.dismissed));
  changed('host');
}

/** The pinned announcements to show over `room`: the lobby's (for everyone), then the room's own, unless dismissed. @param {string} room */
export function shownPins(room) {
  return [...new Set(['lobby', room])]
    .map((name) => host.pins.get(name))
    .filter((pin) => pin !== undefined && host.dismissed[pin.room] !== pin.seq);
}

/** Keeps the host secret from a host link. @param {string} secret */
export function keepHostSecret(secret) {
  host.secret = secret;
  host.mode = '';
  writeStorage(SECRET_KEY, secret);
  changed('host');
}

/** Forgets a host secret the server no longer takes. */
export function forgetHostSecret() {
  host.secret = '';
  host.mode = 'refused';
  host.view = null;
  removeStorage(SECRET_KEY);
  changed('host');
}

/**
 * This browser's random id, made once and kept: what a ban by browser
 * holds on to (the server keeps only its hash).
 */
export function browserId() {
  let id = readStorage(BROWSER_KEY);
  if (!id || !/^[0-9a-f]{32}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
    writeStorage(BROWSER_KEY, id);
  }
  return id;
}

/** `room`'s rules. @param {string} room @returns {Rules} */
export function rulesOf(room) {
  return host.rules.get(room) || NO_RULES;
}

/** Whether this page is in host mode. */
export function isHost() {
  return host.mode === 'on';
}

/**
 * A refusal of one of our host actions (its cid starts with `host-`): shown
 * in the host's dialog; a secret the server no longer takes is forgotten.
 * Returns whether it was one.
 * @param {{code: string, cid?: string}} frame
 */
export function hostRefused(frame) {
  if (!frame.cid || !frame.cid.startsWith('host-')) return false;
  if (frame.cid === host.pending) host.pending = '';
  if (frame.code === 'forbidden') {
    forgetHostSecret();
    return true;
  }
  host.status = frame.code;
  host.statusError = true;
  changed('host');
  return true;
}
