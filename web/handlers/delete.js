// `delete`: a message was deleted; its tombstone stays.

import { applyDelete } from '../changes.js';

/** @param {import('../protocol.js').DeleteFrame} frame */
export function delete_(frame) {
  applyDelete(frame);
}
