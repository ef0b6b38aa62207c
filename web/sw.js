// The service worker: keeps this server's page on the device, so lanchat
// opens when the server is out of reach (an installed app, a phone away
// from the Wi-Fi, the host's laptop closed) and says it is reconnecting,
// instead of the browser's error page.
//
// The server puts `const BUILD = {version, files}` on top of this file as
// it serves it (src/assets/mod.rs): `version` names the set of the page's
// files this binary serves, `files` lists them. A binary with other files
// serves a worker with other bytes; the browser compares them at every
// load, installs the new worker, which keeps the new set in a cache named
// by its version, and the old cache is deleted.
//
// It keeps only those files: never the WebSocket, `/api`, `/files`,
// `/thumbs` or `/metrics` (the server makes sure no file of the page is
// under a route of its own). So nothing stale is ever shown as live:
// messages, people and shared files come from the server or not at all.
//
// The network comes first: while the server answers, the page is exactly
// what it serves, as fresh as without a worker, and a new binary's page
// shows at the next load. Only when the server cannot be reached does the
// kept copy answer, and a page that came from it takes all its files from
// it, so one page never mixes two versions.

/* global BUILD */

const CACHE_PREFIX = 'lanchat-';
const CACHE = CACHE_PREFIX + BUILD.version;
const FILES = new Set(BUILD.files);
/** The pages (client ids) that came from the cache. */
const fromCache = new Set();

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Asked of the server (revalidated by ETag, so cheap), so a copy in the
    // HTTP cache from an older binary never lands in the new set.
    await cache.addAll(BUILD.files.map((file) => new Request(file, { cache: 'no-cache' })));
    // The network comes first, so taking over at once is safe: open pages
    // keep what they loaded, and the next load is the new page.
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
  // Anything else goes to the network as if there were no worker.
  if (!FILES.has(file)) return;
  event.respondWith(answer(event, file));
});

/**
 * The server's answer, or the kept copy when the server cannot be reached.
 * @param {FetchEvent} event
 * @param {string} file
 */
async function answer(event, file) {
  const kept = () => caches.match(file, { cacheName: CACHE, ignoreVary: true });
  if (fromCache.has(event.clientId)) return (await kept()) || fetch(event.request);
  try {
    return await fetch(event.request);
  } catch (error) {
    const copy = await kept();
    if (!copy) throw error;
    if (event.request.mode === 'navigate') fromCache.add(event.resultingClientId);
    return copy;
  }
}
