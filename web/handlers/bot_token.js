// `bot_token`: the bot the host just made, with its token, shown once
// (the server keeps only its hash).

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {{type: 'bot_token', id: string, name: string, token: string}} frame */
export function bot_token(frame) {
  host.botToken = { id: frame.id, name: frame.name, token: frame.token };
  changed('host');
}
