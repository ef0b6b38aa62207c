// Who is online: the roster (everyone, or past the server's roster limit only
// the people we share a room with), comings and goings, and the lobby's
// search by the start of a name (`who`) when there are too many to list.

import { LOBBY, WHO_PREFIX_MAX } from './protocol.js';
import { changed, state } from './state.js';
import { phrase } from './i18n.js';
import { isReady, send } from './connection.js';
import { addNotice, lobbyRoom, sharesRoom, stopTypingOf } from './rooms.js';
import { peopleDrawer } from './dom.js';

/** Presence changes above this many names are told as one notice. */
const PRESENCE_NOTICE_MAX = 3;

/**
 * Online and offline changes, from single frames or a set.
 * @param {string[]} joined
 * @param {string[]} left
 * @param {number} timestamp
 */
export function applyPresence(joined, left, timestamp) {
  const online = new Set(state.users);
  for (const name of left) online.delete(name);
  for (const name of joined) online.add(name);
  state.users = [...online];
  for (const room of state.rooms.values()) {
    for (const name of left) stopTypingOf(room, name);
  }
  const lobby = lobbyRoom();
  const others = (names) => names.filter((name) => name !== state.me);
  for (const [names, tone] of [[others(joined), 'join'], [others(left), 'leave']]) {
    if (names.length > PRESENCE_NOTICE_MAX) {
      addNotice(lobby, phrase(`notice.${tone}_many`, { count: names.length }), timestamp, tone);
    } else {
      for (const name of names) addNotice(lobby, phrase(`notice.${tone}`, { name }), timestamp, tone);
    }
  }
  changed('people');
}

/**
 * Enters or leaves the mode where the lobby is searched instead of listed.
 * A search in progress is forgotten when the mode changes, kept across a
 * reconnect that stays in it.
 * @param {boolean} complete
 */
export function setComplete(complete) {
  if (state.complete === complete) return;
  state.complete = complete;
  state.who = { query: '', results: [], prefix: null };
  changed('people');
}

/** How many people are online, us included. */
export function onlineCount() {
  return state.complete ? state.users.length : state.online;
}

/**
 * Past the roster limit, keeps only the names the server still tells us
 * about: ours and those of people we share a room with. Anyone else's
 * leaving would never reach us, so they cannot be shown as online.
 */
export function pruneUsers() {
  if (state.complete) return;
  state.users = state.users.filter((name) => name === state.me || sharesRoom(name));
  changed('people');
}

/**
 * Names a search just found online: those we share a room with count as
 * online from now on (their leaving will reach us).
 * @param {string[]} names
 */
export function noteOnline(names) {
  if (state.complete) return;
  const known = new Set(state.users);
  for (const name of names) {
    if (!known.has(name) && sharesRoom(name)) state.users.push(name);
  }
}

/** What the people search asks for: leading spaces dropped, at most what the server searches. */
export function searchPrefix() {
  return [...state.who.query.trimStart()].slice(0, WHO_PREFIX_MAX).join('');
}

/**
 * What the lobby's search shows at once: the last answer, narrowed to what
 * the field says now (the server's answer to it follows), in its order.
 */
export function searchResults() {
  const prefix = searchPrefix().toLowerCase();
  return state.who.results.filter((name) => name.toLowerCase().startsWith(prefix));
}

/** Asks the server who is online, by the start of their name. */
export function requestWho() {
  if (state.complete || !isReady()) return;
  send({ type: 'who', prefix: searchPrefix() });
}

/** Whether the people panel is on screen: always on wide screens, else when opened. */
export function peopleShown() {
  return state.screen === 'app' && (!peopleDrawer.matches || state.drawer === 'people');
}

/** Refreshes the lobby's search when it is on screen. */
export function searchIfShown() {
  if (!state.complete && state.active === LOBBY && peopleShown()) requestWho();
}
