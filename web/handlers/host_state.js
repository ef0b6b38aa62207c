// `host_state`: what the host sees. It answers every host action, so the
// page is in host mode, and the action it waited for is done.

import { changed } from '../state.js';
import { host } from '../host/state.js';

/** @param {import('../host/state.js').HostView & {type: 'host_state'}} frame */
export function host_state(frame) {
  host.mode = 'on';
  host.view = { rooms: frame.rooms, mutes: frame.mutes, bans: frame.bans, bots: frame.bots || [] };
  if (host.pending) {
    host.pending = '';
    host.status = 'done';
    host.statusError = false;
  }
  changed('host');
}
