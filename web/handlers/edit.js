// `edit`: a message was edited (entry `seq` of its room's log).

import { applyEdit } from '../changes.js';

/** @param {import('../protocol.js').EditFrame} frame */
export function edit(frame) {
  applyEdit(frame);
}
