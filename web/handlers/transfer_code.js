// `transfer_code`: a single-use code that moves our name to another device.

import { changed, state } from '../state.js';

/** @param {import('../protocol.js').TransferCodeFrame} frame */
export function transfer_code(frame) {
  state.forms.move = { code: frame.code, expires: frame.expires };
  changed('transfer_code');
}
