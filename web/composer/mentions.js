// Who `@` in the composer can name: in the lobby the people online (found
// with `who` by prefix once the lobby is too big to list everyone), in a
// room its members; and `@room` and `@here`. Mentions of anyone else are
// plain text to the server.

import { LOBBY } from '../protocol.js';
import { changed, state } from '../state.js';
import { isReady, send } from '../connection.js';
import { activeRoom } from '../rooms.js';

/** The last `who` answer for a mention, by prefix. @type {{prefix: string, users: string[]}} */
let heard = { prefix: '', users: [] };
/** The prefix asked for last, so one search goes out per prefix. */
let asked = '';

/** The special mentions, and what each reaches (a catalog key). */
const SPECIAL = [
  { name: 'room', hint: 'composer.mention_room' },
  { name: 'here', hint: 'composer.mention_here' },
];

/**
 * Names that `@prefix` may complete to, best first, at most `limit`.
 * @param {string} prefix @param {number} limit
 * @returns {{name: string, hint: string}[]} `hint` a catalog key, or ''
 */
export function mentionCandidates(prefix, limit) {
  const room = activeRoom();
  const lower = prefix.toLowerCase();
  const lobby = room.name === LOBBY;
  const online = new Set(state.users);
  let names = lobby ? [...state.users] : room.members.slice();
  if (lobby && !state.complete) {
    askWho(prefix);
    if (heard.prefix.toLowerCase() === lower.slice(0, heard.prefix.length)) names.push(...heard.users);
  }
  names = [...new Set(names)].filter((name) => name !== state.me && name.toLowerCase().startsWith(lower));
  // Who is here first, then by name.
  names.sort((a, b) => Number(online.has(b)) - Number(online.has(a)) || a.localeCompare(b));
  const people = names.map((name) => ({ name, hint: online.has(name) ? 'composer.mention_online' : '' }));
  const special = SPECIAL.filter(({ name }) => name.startsWith(lower));
  return [...people, ...special].slice(0, limit);
}

/** Past the roster limit the lobby's names are found by asking. @param {string} prefix */
function askWho(prefix) {
  if (prefix === asked || !isReady()) return;
  asked = prefix;
  send({ type: 'who', prefix });
}

/** A `who` answer: kept if it is for a mention being typed. @param {import('../protocol.js').WhoFrame} frame */
export function heardWho(frame) {
  if (frame.prefix !== asked) return;
  heard = { prefix: frame.prefix, users: frame.users.slice() };
  changed('mentions');
}
