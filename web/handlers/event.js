// `event`: event mode. The event's name and end, after each welcome; at
// its end, when its data goes: the page offers the archive once.

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {import('../host/state.js').EventInfo & {type: 'event'}} frame */
export function event(frame) {
  const { name, ends, ended, keep, wipe_at, grace_ms } = frame;
  host.event = { name, ends, ended, keep, wipe_at, grace_ms };
  changed('host');
}
