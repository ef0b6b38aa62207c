// `invite_link`: the secret we asked for; the page puts it in a link's fragment.

import { changed, state } from '../state.js';
import { phrase } from '../i18n.js';
import { isLoopback } from '../dom.js';

/** @param {import('../protocol.js').InviteLinkFrame} frame */
export function invite_link(frame) {
  if (state.pendingAction && state.pendingAction.kind === 'link') state.pendingAction = null;
  state.forms.link = `${location.origin}${location.pathname}#join=${encodeURIComponent(frame.room)}:${frame.secret}`;
  state.forms.linkStatus = phrase(isLoopback(location.hostname) ? 'invite.link_loopback' : 'invite.link_made');
  changed('invite_link');
}
