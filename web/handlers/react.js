// `react`: someone added or took back a reaction (ours from another tab too).

import { applyReact } from '../changes.js';

/** @param {import('../protocol.js').ReactFrame} frame */
export function react(frame) {
  applyReact(frame);
}
