// The protocol as the page sees it: the frames (see src/protocol/README.md),
// the limits a server announces, and which of the page's words go with its
// close reasons. No state, no I/O. (Error codes: errors.js.)

import { phrase } from './i18n.js';

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
 * @property {FileInfo[]} [files] files it shares
 * @property {boolean} [generated] the sender wrote nothing: `message` only describes the files
 * @property {string} [html]    `message` rendered and sanitized by the server: the only HTML the page inserts
 * @property {number} [version] the seq of its last change (its own seq until changed)
 * @property {number} [edited]  when it was last edited (ms)
 * @property {boolean} [deleted] a tombstone: `message` is "message deleted", `html` empty
 * @property {number} [reply_to] the seq of the message it answers
 * @property {string[]} [mentions] the names it mentions
 * @property {boolean} [everyone] it says `@room`
 * @property {boolean} [here]    it says `@here`
 * @property {boolean} [big]     one to three emoji and nothing else: shown large
 * @property {Reaction[]} [reactions]
 * @property {boolean} [removed] a tombstone the host made
 * @property {{event: string, username?: string, until?: number, slow?: number, read_only?: boolean, locked?: boolean, closed?: boolean, call?: string, duration_ms?: number, people?: number}} [system]
 *   a host action or a call's start or end, from `system`: the page words it (render/system.js)
 *
 * One emoji on a message, and who put it there (each person once).
 * @typedef {{emoji: string, users: string[]}} Reaction
 *
 * Changes to message `target`, each entry `seq` of the room's log.
 * @typedef {{type: 'edit', room: string, seq: number, target: number, username: string, message: string, html: string, edited: number, mentions?: string[], everyone?: boolean, here?: boolean, big?: boolean, cid?: string}} EditFrame
 * @typedef {{type: 'delete', room: string, seq: number, target: number, username: string, cid?: string}} DeleteFrame
 * @typedef {{type: 'react', room: string, seq: number, target: number, username: string, emoji: string, on: boolean, cid?: string}} ReactFrame
 *
 * A shared file. `type` is sniffed from its bytes by the server; pictures
 * come with their size as shown and a thumbnail (at most 640 px a side).
 * @typedef {object} FileInfo
 * @property {string} id
 * @property {string} name
 * @property {number} size       bytes
 * @property {string} type
 * @property {string} url        `/files/<id>/<name>`, for the room's members
 * @property {number} [width]
 * @property {number} [height]
 * @property {string} [thumb]    `/thumbs/<id>`
 *
 * A room's `room` is its id, which every frame about it carries: a public
 * room's name, `p:` and hex for a private room, `dm:` and hex for a direct
 * message. `name` is what to call it.
 * @typedef {object} RoomSummary
 * @property {string} room
 * @property {string} name
 * @property {'public' | 'private' | 'dm'} kind
 * @property {number} seq        the room's latest seq
 * @property {number} last_read
 * @property {number} unread    messages after `last_read`
 * @property {number} mentions  of them, those that mention us (every one, in a direct message)
 * @property {boolean} muted    no badge, no sound, no notification
 * @property {'all' | 'mentions' | 'nothing'} notify  what to be notified about
 * @property {string[]} members  empty for the lobby
 * @property {string[]} online   the members online when it was sent
 * @property {string} [peer]     the other person of a direct message
 *
 * What the server allows: `rate` messages (and renames, edits, reactions)
 * per second per user after a `burst` (`rate` 0: no limit), the largest
 * message and frame, and how long a message may be edited (no
 * `edit_window_ms`: any time).
 * @typedef {{rate: number, burst: number, message_chars: number, frame_bytes: number, edit_window_ms?: number}} Limits
 *
 * `users` is everyone online while `complete`; past the server's roster
 * limit it is only this user and the people who share a room or a direct
 * message with them, and `online` counts everyone. `rooms` and
 * `invitations` are left out when empty (always, for a name nobody owns).
 * @typedef {{type: 'welcome', protocol: number, username: string, room: string, users: string[], online: number, complete: boolean, seq: number, history_id: string, claimed: boolean, token?: string, rooms?: RoomSummary[], invitations?: {room: string, name: string}[], limits: Limits}} WelcomeFrame
 * @typedef {{type: 'history', room: string, messages: MessageFrame[], has_more: boolean, has_newer?: boolean}} HistoryFrame
 * @typedef {{type: 'join' | 'leave', room: string, username: string, timestamp: number}} PresenceFrame
 * @typedef {{type: 'presence', room: string, joined?: string[], left?: string[], timestamp: number}} PresenceSetFrame
 * @typedef {{type: 'rename', room: string, from: string, to: string, timestamp: number}} RenameFrame
 * @typedef {{type: 'typing', room: string, username: string, active: boolean}} TypingFrame
 * A refusal: `code`, and for some a `detail` with `params`; `message` is
 * the server's English for logs and simple clients, never shown here.
 * @typedef {{type: 'error', code: string, message: string, detail?: string, params?: Record<string, string | number>, cid?: string, room?: string, retry_after_ms?: number}} ErrorFrame
 * @typedef {{type: 'roster', complete: boolean, online: number, users?: string[]}} RosterFrame
 * @typedef {{type: 'online', online: number, timestamp: number}} OnlineFrame
 * @typedef {{type: 'who', prefix: string, users: string[], online: number}} WhoFrame
 * @typedef {RoomSummary & {type: 'room'}} RoomFrame
 * @typedef {{type: 'room_left', room: string}} RoomLeftFrame
 * @typedef {{type: 'invited', room: string, name: string, by: string}} InvitedFrame
 * @typedef {{type: 'invite_link', room: string, secret: string}} InviteLinkFrame
 * @typedef {{type: 'read', room: string, seq: number, unread: number, mentions: number}} ReadFrame
 * A search hit: the message as it is now, and its text in runs, matched or not (shown as text, never HTML).
 * @typedef {MessageFrame & {snippet: {text: string, match: boolean}[]}} SearchResult
 * @typedef {{type: 'search_results', query: string, results: SearchResult[], total?: number, partial?: boolean, next?: string}} SearchResultsFrame
 * @typedef {{type: 'room_list', rooms: {room: string, members: number}[]}} RoomListFrame
 * @typedef {{type: 'transfer_code', code: string, expires: number}} TransferCodeFrame
 */

export const LOBBY = 'lobby';
export const MAX_NAME_CHARS = 32;
export const ROOM_NAME = /^[a-z0-9_-]{1,24}$/;
/** Messages asked for per page of history. */
export const PAGE_SIZE = 50;
/** The server answers a search with at most this many names. */
export const WHO_LIMIT = 50;
/** The longest name prefix the server searches for, in characters. */
export const WHO_PREFIX_MAX = 32;
/** The server ends typing after 5 s; it passes a refresh on at most every 2 s. */
export const TYPING_REFRESH_MS = 2000;

/** What the page assumes until a `welcome` says otherwise: the server's defaults. */
export const DEFAULT_LIMITS = Object.freeze({ rate: 5, burst: 10, message_chars: 4000, frame_bytes: 65536 });

/**
 * Refusals that mean "later, not never": the page sends the message again
 * by itself, with the same cid. Anything else is a real refusal.
 */
export const REFUSED_FOR_NOW = new Set(['rate_limited', 'unavailable', 'slow_mode']);

/** Refusals on connecting, after which the server closes with 1008. */
export const NAME_REFUSALS = new Set(['name_taken', 'invalid_code', 'invalid_username']);

/**
 * The close reasons the server sends (see the protocol README: stable
 * words, like codes), and the page's own words for each, by catalog key.
 */
export const CLOSE_REASONS = {
  'server shutting down': 'close.shutdown',
  'idle timeout': 'close.idle',
  'rate limit exceeded repeatedly': 'close.flood',
  'too slow: unsent backlog over limit': 'close.backlog',
  'invalid username': 'close.name',
  'name not available': 'close.name',
  'message too big': 'close.too_big',
  'history is unavailable right now': 'close.unavailable',
};

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * What is wrong with a name, by the server's rules, or null when nothing is.
 * @param {string} name
 * @returns {import('./i18n.js').Phrase | null}
 */
export function checkName(name) {
  const length = [...name].length;
  if (length === 0) return phrase('name.empty');
  if (length > MAX_NAME_CHARS) return phrase('name.too_long', { max: MAX_NAME_CHARS });
  if (CONTROL_CHARS.test(name)) return phrase('name.invisible');
  if (name.toLowerCase() === 'system') return phrase('name.reserved', { name });
  return null;
}

/**
 * Why a connection closed, in the page's words (chosen by the close code
 * and the server's reason), and whether the server closed it for breaking
 * a rule (1008), after which the page waits longer.
 * @param {number} code the WebSocket close code (1006: no close frame)
 * @param {string} reason the server's reason, if it sent one
 * @returns {{code: number, words: import('./i18n.js').Phrase, policy: boolean}}
 */
export function describeClose(code, reason) {
  const known = Object.hasOwn(CLOSE_REASONS, reason) ? CLOSE_REASONS[/** @type {keyof CLOSE_REASONS} */ (reason)] : '';
  let key = 'close.lost';
  switch (code) {
    case 1000:
      key = 'close.normal';
      break;
    case 1001:
      key = known || 'close.shutdown';
      break;
    case 1002:
    case 1007:
      key = 'close.broken';
      break;
    case 1008:
      key = known || 'close.policy';
      break;
    case 1009:
      key = 'close.too_big';
      break;
    case 1011:
      key = known || 'close.problem';
      break;
    default:
      break;
  }
  return { code, words: phrase(key), policy: code === 1008 };
}
