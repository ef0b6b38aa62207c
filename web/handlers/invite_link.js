// `invite_link`: the secret we asked for; the page puts it in a link's fragment.

import { changed, state } from '../state.js';
import { isLoopback } from '../dom.js';

/** @param {import('../protocol.js').InviteLinkFrame} frame */
export function invite_link(frame) {
  if (state.pendingAction && state.pendingAction.kind === 'link') state.pendingAction = null;
  state.forms.link = `${location.origin}${location.pathname}#join=${encodeURIComponent(frame.room)}:${frame.secret}`;
  state.forms.linkStatus = isLoopback(location.hostname)
    ? 'This link uses this computer\'s own address. For others, swap it for the network ' +
      'address lanchat printed when it started. Making a new link stops the old one.'
    : 'Anyone with this link can join. Making a new link stops the old one.';
  changed('invite_link');
}
