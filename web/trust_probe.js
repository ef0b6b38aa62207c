// An empty service worker. trust_hint.js registers it (and removes it at
// once) only to learn whether this browser trusts the chat's certificate:
// Chromium refuses a worker from a server whose certificate it does not
// trust, even after the person passed its warning.
