// Whether this browser trusts the chat's certificate, and where to get it.
//
// With lanchat's --tls, a person may pass the browser's warning instead of
// installing the certificate. Chromium then allows nearly everything (the
// chat, notifications, the clipboard, the camera) but refuses service
// workers, which the app needs to install and to open offline; it says so
// only by refusing a worker's registration "because of an SSL certificate
// error". So on HTTPS this registers an empty worker (trust_probe.js) once,
// with a scope of its own, and removes it at once; if the browser refuses
// it for the certificate, the page says what is missing and links the trust
// page (on the plain port, from /api/trust). `trustRefused` does the same
// for any other registration that fails so (the app's own worker).

import { changed } from './state.js';

/**
 * What the page shows: the trust page's address, once the certificate is
 * known to be refused; `checked` once the probe has its answer.
 */
export const trustHint = { trustUrl: '', checked: false };

const PROBE = 'trust_probe.js';
const PROBE_SCOPE = '/trust-probe/';

/**
 * Notes a refusal if `error` is the browser refusing this server's
 * certificate; returns whether it was.
 * @param {unknown} error
 */
export function trustRefused(error) {
  const refused = error instanceof Error && error.name === 'SecurityError' && /certificate/i.test(error.message);
  if (refused && !trustHint.trustUrl) showTrustPage();
  return refused;
}

async function showTrustPage() {
  try {
    const response = await fetch('/api/trust', { cache: 'no-store' });
    if (!response.ok) return;
    /** @type {{trust_port: number, fingerprint: string | null}} */
    const info = await response.json();
    // A brought certificate has no trust page: nothing to link.
    if (!info.fingerprint) return;
    trustHint.trustUrl = `http://${location.hostname}:${info.trust_port}/`;
    trustHint.checked = true;
    changed('trust');
  } catch {
    // The server is away; the next check will tell.
  }
}

/** On HTTPS, finds out once whether the browser trusts the certificate. */
export async function checkTrust() {
  if (location.protocol !== 'https:' || !navigator.serviceWorker) return;
  try {
    const registration = await navigator.serviceWorker.register(PROBE, { scope: PROBE_SCOPE });
    await registration.unregister();
  } catch (error) {
    if (trustRefused(error)) return;
  }
  trustHint.checked = true;
}
