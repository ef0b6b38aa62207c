// The line under the room's head that says this browser does not trust the
// chat's certificate, so it refuses the app, with a link to the trust page
// (see trust_hint.js).

import { trustHint } from '../trust_hint.js';

const hint = /** @type {HTMLElement} */ (document.getElementById('trust-hint'));
const link = /** @type {HTMLAnchorElement} */ (document.getElementById('trust-hint-link'));

export function renderTrustHint() {
  hint.hidden = !trustHint.trustUrl;
  if (trustHint.trustUrl && link.href !== trustHint.trustUrl) link.href = trustHint.trustUrl;
}
