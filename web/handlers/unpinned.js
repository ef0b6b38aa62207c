// `unpinned`: the host took a room's announcement down.

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {{type: 'unpinned', room: string}} frame */
export function unpinned(frame) {
  host.pins.delete(frame.room);
  changed('host');
}
