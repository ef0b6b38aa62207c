// The trust page, served on the plain-HTTP port when lanchat runs with
// --tls: shows the local CA's fingerprint (from /api/trust), opens the
// install steps for this device's system, and points "Open the chat" and
// "Continue without installing" at the HTTPS port, carrying the access key
// of a scanned QR code (`#key=…`) along. Its words come from i18n.js.

import './i18n.js';

/**
 * @typedef {object} TrustInfo  GET /api/trust
 * @property {string | null} fingerprint  the CA's SHA-256, `AB:CD:…`
 * @property {number} https_port
 * @property {number} trust_port
 */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** The systems whose steps the page has, as the browser says it runs on. */
function detectSystems() {
  const agent = navigator.userAgent;
  const systems = [];
  // iPadOS asks for desktop pages as a Mac, but has a touch screen.
  if (/iPhone|iPad|iPod/.test(agent) || (/Macintosh/.test(agent) && navigator.maxTouchPoints > 1)) {
    systems.push('ios');
  } else if (/Android/.test(agent)) {
    systems.push('android');
  } else if (/Windows/.test(agent)) {
    systems.push('windows');
  } else if (/Macintosh/.test(agent)) {
    systems.push('macos');
  } else if (/Linux|CrOS/.test(agent)) {
    systems.push('linux');
  }
  if (/Firefox\//.test(agent) && !systems.includes('ios') && !systems.includes('android')) {
    systems.push('firefox');
  }
  return systems;
}

/** The chat's address: this host, on the HTTPS port, with the key of a scanned code. @param {number} port */
function chatUrl(port) {
  return `https://${location.hostname}:${port}/${location.hash}`;
}

function render(/** @type {TrustInfo} */ info) {
  byId('fingerprint').textContent = info.fingerprint ?? '';
  for (const id of ['open-chat', 'continue']) {
    /** @type {HTMLAnchorElement} */ (byId(id)).href = chatUrl(info.https_port);
  }
}

async function start() {
  for (const system of detectSystems()) {
    const steps = document.querySelector(`.trust-os[data-os="${system}"]`);
    if (steps instanceof HTMLDetailsElement) steps.open = true;
  }
  // Apple devices install the profile; the plain certificate is for the rest.
  const apple = detectSystems().some((system) => system === 'ios' || system === 'macos');
  byId('download-profile').classList.toggle('primary', apple);
  byId('download-cert').classList.toggle('primary', !apple);
  try {
    const response = await fetch('/api/trust', { cache: 'no-store' });
    if (!response.ok) throw new Error(String(response.status));
    render(await response.json());
  } catch {
    byId('trust-error').hidden = false;
  }
  document.body.dataset.ready = 'true';
}

start();
