// `who`: an answer to the lobby's people search.

import { changed, state } from '../state.js';
import { noteOnline, searchPrefix } from '../people.js';
import { heardWho } from '../composer/mentions.js';

/** @param {import('../protocol.js').WhoFrame} frame */
export function who(frame) {
  state.online = frame.online;
  // An answer to a search the field has moved on from is of no use.
  if (!state.complete && frame.prefix.toLowerCase() === searchPrefix().toLowerCase()) {
    state.who.results = frame.users.slice();
    state.who.prefix = frame.prefix;
    noteOnline(state.who.results);
  }
  heardWho(frame);
  changed('who');
}
