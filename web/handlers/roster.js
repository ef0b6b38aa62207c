// `roster`: the lobby passed the server's roster limit (we keep only
// ourselves and the people we share rooms with, and search for the rest), or
// fell back under it (the full list again). Nobody came or went because of
// it, so it adds no notices.

import { changed, state } from '../state.js';
import { pruneUsers, searchIfShown, setComplete } from '../people.js';

/** @param {import('../protocol.js').RosterFrame} frame */
export function roster(frame) {
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
  changed('roster');
}
