// `online`: the count of people online, while the roster is incomplete.

import { changed, state } from '../state.js';

/** @param {import('../protocol.js').OnlineFrame} frame */
export function online(frame) {
  state.online = frame.online;
  changed('online');
}
