// The WebSocket: connecting (with the name's proof and the access key),
// reconnecting with backoff, why a connection ended, liveness checks, and
// handing each frame to its handler. The outbox (outbox.js) decides what to
// send and when; this module only carries it.

import { describeClose } from './protocol.js';
import { phrase } from './i18n.js';
import { changed, state } from './state.js';
import { readToken } from './storage.js';
import { handlers } from './handlers/index.js';
import { lobbyRoom, clearTyping } from './rooms.js';
import { outboxDisconnected } from './outbox.js';
import { searchDisconnected } from './search.js';
import { showKeyGate } from './actions.js';
import { browserId } from './host/state.js';

/** Reconnect delays grow from about 1 s to 30 s, with jitter. */
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
/**
 * After the server closed us for breaking a rule (1008), reconnecting at
 * once would only break it again: wait a minute, unless asked sooner.
 */
const POLICY_RETRY_MS = 60000;
/** A connection not welcomed by then is given up and retried. */
export const CONNECT_TIMEOUT_MS = 10000;
/** A ping (sent when the tab comes back) not answered by then: reconnect. */
const PING_TIMEOUT_MS = 5000;

/** @type {WebSocket | null} */
let socket = null;
/** @type {number | undefined} */
let retryTimer;
/** @type {number | undefined} */
let countdownTimer;
/** @type {number | undefined} */
let connectTimer;
/** @type {number | undefined} */
let pingTimer;

export function connect() {
  clearRetry();
  if (socket) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const lobby = lobbyRoom();
  state.resuming = lobby.lastSeq > 0;
  const since = state.resuming ? `?since=${lobby.lastSeq}` : '';
  const url = `${scheme}//${location.host}/ws/${encodeURIComponent(state.name)}${since}`;
  const current = new WebSocket(url, subprotocols());
  socket = current;
  state.me = '';
  state.connection = 'connecting';
  changed('connection');
  current.addEventListener('message', (event) => {
    if (current === socket) receive(event.data);
  });
  current.addEventListener('close', (event) => {
    if (current === socket) closed(describeClose(event.code, event.reason));
  });
  // A server that vanished from the network can leave a connect hanging for
  // minutes; give up sooner and retry.
  connectTimer = setTimeout(() => {
    if (current === socket && state.me === '') dropConnection(phrase('close.no_answer'));
  }, CONNECT_TIMEOUT_MS);
}

/**
 * What we offer beside `lanchat`: proof that the name is ours (a transfer
 * code, the token, or a request to claim it) and the access key, if any.
 */
function subprotocols() {
  const protocols = ['lanchat'];
  const token = readToken(state.name);
  if (state.code) protocols.push(`code.${state.code}`);
  else if (token && /^[0-9a-f]+$/i.test(token)) protocols.push(`token.${token}`);
  else protocols.push('claim');
  if (state.key) protocols.push(`key.${hexOf(state.key)}`);
  // What a ban by browser holds on to (the server keeps only its hash).
  protocols.push(`browser.${browserId()}`);
  return protocols;
}

/**
 * Gives up on the current socket now, without waiting for a closing
 * handshake that a dead connection would never finish.
 * @param {import('./i18n.js').Phrase} words why, for the page to say
 */
export function dropConnection(words) {
  const current = socket;
  if (!current) return;
  closed({ code: 0, words, policy: false });
  current.close();
}

/** The connection ended: say why, and try again (later after a policy close). */
function closed(why) {
  const welcomed = state.me !== '';
  clearTimeout(connectTimer);
  clearTimeout(pingTimer);
  pingTimer = undefined;
  socket = null;
  state.me = '';
  state.awaitingReplay = false;
  state.typingSentAt = 0;
  state.lastClose = why;
  for (const room of state.rooms.values()) {
    room.request = '';
    clearTyping(room);
  }
  outboxDisconnected();
  searchDisconnected();
  changed('connection');
  if (state.connection === 'refused') return;
  scheduleRetry(why.policy ? POLICY_RETRY_MS : 0);
  // Refused before the welcome: perhaps the access key changed.
  if (!welcomed) checkAccess().then((access) => {
    if (access === 'denied' && state.connection === 'waiting' && !socket) {
      clearRetry();
      state.connection = 'refused';
      showKeyGate(phrase('key.changed'));
    }
  });
}

/**
 * Waits about 1, 2, 4 … 30 s (each halved at random, so tabs spread out),
 * or at least `minimum`.
 * @param {number} minimum
 */
function scheduleRetry(minimum) {
  clearRetry();
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
  const delay = Math.max(minimum, cap / 2 + Math.random() * (cap / 2));
  state.attempt += 1;
  state.retryAt = Date.now() + delay;
  retryTimer = setTimeout(connect, delay);
  countdownTimer = setInterval(() => changed('countdown'), 250);
  state.connection = 'waiting';
  changed('connection');
}

export function clearRetry() {
  clearTimeout(retryTimer);
  clearInterval(countdownTimer);
  retryTimer = undefined;
  countdownTimer = undefined;
}

/** Skips the wait: for "Retry now", a visible tab, or the network coming back. */
export function retryNow() {
  if (state.connection === 'waiting') connect();
}

/**
 * Checks a connection that looks alive but may have died quietly (the tab
 * slept, the laptop changed networks): any frame back proves it, silence
 * means reconnect.
 */
export function checkAlive() {
  if (!isReady() || pingTimer !== undefined) return;
  send({ type: 'ping' });
  pingTimer = setTimeout(() => {
    pingTimer = undefined;
    dropConnection(phrase('close.silent'));
  }, PING_TIMEOUT_MS);
}

/** Welcomed, and the lobby's replay is in: frames may go out. */
export function isReady() {
  return socket !== null && socket.readyState === WebSocket.OPEN &&
    state.me !== '' && !state.awaitingReplay;
}

/** @param {object} frame */
export function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

/** Ends the connect timer: the server welcomed us. */
export function welcomed() {
  clearTimeout(connectTimer);
}

/** @param {string} data one frame from the server */
export function receive(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return;
  }
  // Any frame at all answers a liveness check.
  clearTimeout(pingTimer);
  pingTimer = undefined;
  const handler = frame && Object.hasOwn(handlers, frame.type) ? handlers[frame.type] : undefined;
  if (handler) handler(frame);
}

/**
 * Asks whether the server lets us in: 'ok', 'denied' (it wants a key we do
 * not have right), or 'unknown' (it could not be reached).
 * @param {string} [key]
 * @returns {Promise<'ok' | 'denied' | 'unknown'>}
 */
export async function checkAccess(key = state.key) {
  try {
    /** @type {Record<string, string>} */
    const headers = {};
    // A header carries bytes: send the key's UTF-8 bytes, one per character.
    if (key) headers.Authorization = `Bearer ${String.fromCharCode(...new TextEncoder().encode(key))}`;
    const response = await fetch('/api/access', {
      headers, cache: 'no-store', signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
    });
    if (response.status === 401) return 'denied';
    return response.ok ? 'ok' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The UTF-8 bytes of `text`, as hex: how the WebSocket carries the key. @param {string} text */
function hexOf(text) {
  return [...new TextEncoder().encode(text)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}
