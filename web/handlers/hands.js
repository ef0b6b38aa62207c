// `hands`: a room's raised hands, in the order they went up.

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {{type: 'hands', room: string, queue: string[]}} frame */
export function hands(frame) {
  if (frame.queue.length) host.hands.set(frame.room, frame.queue.slice());
  else host.hands.delete(frame.room);
  changed('host');
}
