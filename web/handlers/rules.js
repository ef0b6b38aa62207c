// `rules`: a room's rules as the host set them (slow mode, read-only,
// locked, closed), after `welcome` and whenever they change.

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {{type: 'rules', room: string} & import('../host/state.js').Rules} frame */
export function rules(frame) {
  const { slow, read_only, locked, closed, keep } = frame;
  host.rules.set(frame.room, { slow, read_only, locked, closed, keep: keep || 'all' });
  changed('host');
}
