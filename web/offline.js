// The page kept on this device: registers the service worker (`sw.js`),
// which keeps the page's files so lanchat opens when the server is out of
// reach, and makes the page installable as an app. Browsers allow it only
// in a secure context (https, or the host's own localhost); on a plain-http
// LAN address the page works as before, online only. Over HTTPS, Chromium
// refuses the worker when the person passed its certificate warning instead
// of installing the certificate: trust_hint.js then links the trust page.

import { trustRefused } from './trust_hint.js';

/** Registers the worker once the page has loaded, so it never slows the start. */
export function keepPageOffline() {
  if (!('serviceWorker' in navigator)) return;
  const register = () => {
    navigator.serviceWorker.register('/sw.js').catch((error) => {
      if (trustRefused(error)) return;
      console.warn('lanchat: this page cannot be kept for offline use:', error);
    });
  };
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
