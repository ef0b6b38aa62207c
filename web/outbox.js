// The outbox: messages written here that the server has not stored yet.
//
// One outbox per browser, shared by its tabs: each message is its own
// localStorage key (`lanchat.outbox.<cid>`), so no tab can overwrite
// another's, every tab shows them (the `storage` event tells of changes),
// and one a tab left behind is sent by whichever tab is open next.
//
// One tab sends at a time, the holder of a lease in localStorage. On a
// secure page the Web Locks API could pick it instead, but the lease stays
// the one way for every page: it only saves work, it never decides what is
// stored. Two tabs that both think they hold it (localStorage is not atomic
// across tabs) send the same messages in the same order with the same
// cids, and the server stores each cid once. A lock would free a closed
// tab's turn at once rather than after LEASE_MS; not worth a second way to
// keep working and tested.
//
// The sender paces itself to the server's limits from `welcome` with a
// token bucket like the server's, keeps one message in flight so they are
// stored in order, and treats `rate_limited` and `unavailable` as "later":
// the same cid goes again after the wait. Only a real refusal marks a
// message failed, with Retry and Discard.
//
// A message may share files (`files`, the ids of its uploads in
// uploads.js). It waits until they are all uploaded, and the messages after
// it do not wait for it; a file that fails makes it fail, and Retry sends
// that file again.
//
// Edits, deletions and reactions (`kind`) go the same way, in the order
// written with the messages, each with its cid: the server stores one once
// however often it is sent, and counts them against the same rate.

import { LOBBY, REFUSED_FOR_NOW } from './protocol.js';
import { changed, state } from './state.js';
import { phrase } from './i18n.js';
import { refusalPhrase } from './errors.js';
import { readStorage, removeStorage, storageKeys, writeStorage } from './storage.js';
import { dropConnection, isReady, send } from './connection.js';
import {
  cancelUpload, filesOf, forgetUploads, restartUploads, runUploads, uploadsConnected,
  uploadsDisconnected,
} from './uploads.js';

/** @typedef {import('./state.js').OutboxEntry} OutboxEntry */

const ENTRY_PREFIX = 'lanchat.outbox.';
/** Where one list of every message used to be kept; read once and moved. */
const OLD_OUTBOX_KEY = 'lanchat.outbox';
/** Who sends: `{tab, until}`. */
const LEASE_KEY = 'lanchat.sender';
/** A lease not renewed for this long is free (its tab closed or slept). */
const LEASE_MS = 5000;
const LEASE_RENEW_MS = 1000;
/**
 * A sent message not echoed by then means the connection is dead without
 * having closed (a server that vanished from the network, a laptop that
 * slept): drop it and reconnect. Re-sending with the same cid is safe.
 */
const ACK_TIMEOUT_MS = 10000;
/**
 * Waiting for a token, wait this much longer: the server counts from when
 * each message arrives, and a message that took longer on the way than the
 * next one leaves its bucket a little behind ours.
 */
const PACE_MARGIN_MS = 100;
/** `unavailable` (the server cannot save, say a full disk) says no wait; try again after this. */
const UNAVAILABLE_RETRY_MS = 2000;

/** Entries that change a stored message rather than post one. */
const CHANGE_KINDS = new Set(['edit', 'delete', 'react']);

/** This tab, for the lease. */
const tab = Math.random().toString(36).slice(2);

/**
 * The token bucket that mirrors the server's per-user one: `rate` tokens a
 * second up to `burst`; a message takes one.
 */
const bucket = { tokens: 0, updated: 0 };
/** The cid on its way, waiting for its echo or its refusal. */
let inFlight = '';
let sentAt = 0;
/** Nothing goes out before this (after `rate_limited`). */
let pausedUntil = 0;
/** @type {number | undefined} */
let pumpTimer;
/** @type {number | undefined} */
let ackTimer;

/** Reads every tab's messages, moving any from the old single key first. */
export function loadOutbox() {
  migrateOldOutbox();
  state.outbox = [];
  for (const key of storageKeys(ENTRY_PREFIX)) {
    const entry = parseEntry(readStorage(key));
    if (entry) state.outbox.push(entry);
  }
  sortOutbox();
  changed('outbox');
}

function migrateOldOutbox() {
  const old = readStorage(OLD_OUTBOX_KEY);
  if (old === null) return;
  let entries = [];
  try {
    entries = JSON.parse(old);
  } catch {
    entries = [];
  }
  for (const raw of Array.isArray(entries) ? entries : []) {
    const entry = parseEntry(JSON.stringify(raw));
    // Another tab may have moved it already, or even sent it: keep theirs.
    if (entry && readStorage(ENTRY_PREFIX + entry.cid) === null) saveEntry(entry);
  }
  removeStorage(OLD_OUTBOX_KEY);
}

/** @param {string | null} text @returns {OutboxEntry | null} */
function parseEntry(text) {
  if (text === null) return null;
  try {
    const entry = JSON.parse(text);
    if (!entry || typeof entry.cid !== 'string' || typeof entry.text !== 'string') return null;
    return {
      cid: entry.cid,
      text: entry.text,
      createdAt: Number(entry.createdAt) || 0,
      sentAs: String(entry.sentAs || ''),
      room: typeof entry.room === 'string' && entry.room ? entry.room : LOBBY,
      status: entry.status === 'failed' ? 'failed' : 'pending',
      ...(typeof entry.reason === 'string' || (typeof entry.reason?.key === 'string')
        ? { reason: entry.reason } : {}),
      ...(Array.isArray(entry.files) && entry.files.length > 0
        ? { files: entry.files.filter((id) => typeof id === 'string') } : {}),
      ...(CHANGE_KINDS.has(entry.kind) && Number.isInteger(entry.target)
        ? { kind: entry.kind, target: entry.target } : {}),
      ...(typeof entry.emoji === 'string' ? { emoji: entry.emoji, on: entry.on !== false } : {}),
      ...(Number.isInteger(entry.replyTo) ? { replyTo: entry.replyTo } : {}),
    };
  } catch {
    return null;
  }
}

/** @param {OutboxEntry} entry */
function saveEntry(entry) {
  writeStorage(ENTRY_PREFIX + entry.cid, JSON.stringify(entry));
}

function sortOutbox() {
  state.outbox.sort((a, b) => a.createdAt - b.createdAt || (a.cid < b.cid ? -1 : 1));
}

/**
 * Another tab changed the outbox or the lease (`storage` events come only
 * from other tabs).
 * @param {StorageEvent} event
 */
export function onStorage(event) {
  if (event.key === null) {
    loadOutbox();
  } else if (event.key === LEASE_KEY) {
    pump();
  } else if (event.key.startsWith(ENTRY_PREFIX)) {
    const cid = event.key.slice(ENTRY_PREFIX.length);
    const entry = parseEntry(event.newValue);
    state.outbox = state.outbox.filter((item) => item.cid !== cid);
    if (entry) state.outbox.push(entry);
    sortOutbox();
    if (!entry && cid === inFlight) inFlight = '';
    changed('outbox');
    pump();
  }
}

/**
 * Queues a message for the room on screen and sends it when it may go
 * (with files, once they are uploaded).
 * @param {string} text
 * @param {string} room
 * @param {(cid: string) => string[]} [attach] takes the files it shares, given its cid
 * @param {number} [replyTo] the seq of the message it answers
 */
export function queueMessage(text, room, attach, replyTo) {
  const cid = newCid();
  const files = attach ? attach(cid) : [];
  queueEntry({
    cid,
    text,
    createdAt: Date.now(),
    sentAs: state.me || state.name,
    room,
    status: 'pending',
    ...(files.length > 0 ? { files } : {}),
    ...(replyTo ? { replyTo } : {}),
  });
}

/**
 * Queues a change to message `target` of `room`: an edit (with its new
 * `text`), a deletion, or a reaction (`emoji`, `on`).
 * @param {'edit' | 'delete' | 'react'} kind
 * @param {string} room
 * @param {number} target
 * @param {{text?: string, emoji?: string, on?: boolean}} [what]
 */
export function queueChange(kind, room, target, what = {}) {
  queueEntry({
    cid: newCid(),
    text: what.text || '',
    createdAt: Date.now(),
    sentAs: state.me || state.name,
    room,
    status: 'pending',
    kind,
    target,
    ...(what.emoji ? { emoji: what.emoji, on: what.on !== false } : {}),
  });
}

/** @param {OutboxEntry} entry */
function queueEntry(entry) {
  state.outbox.push(entry);
  saveEntry(entry);
  changed('outbox');
  pump();
}

/**
 * Drops the outbox entry a stored message (or change) acknowledges, in
 * every tab.
 * @param {{cid?: string, username: string}} frame
 * @returns {boolean} whether it was one of ours from this browser
 */
export function settleOutbox(frame) {
  if (!frame.cid) return false;
  const index = state.outbox.findIndex((entry) => entry.cid === frame.cid &&
    (frame.username === entry.sentAs || state.myNames.has(frame.username)));
  if (index === -1) return false;
  const [entry] = state.outbox.splice(index, 1);
  if (entry.files) forgetUploads(entry.files);
  removeStorage(ENTRY_PREFIX + frame.cid);
  if (frame.cid === inFlight) inFlight = '';
  changed('outbox');
  pump();
  return true;
}

/**
 * A refusal of one of our messages. "Later" refusals pause the queue for
 * the wait the server names and send the same cid again; others mark it
 * failed, in every tab.
 * @param {import('./protocol.js').ErrorFrame} frame
 * @returns {boolean} whether the cid was ours
 */
export function refuseOutbox(frame) {
  const entry = state.outbox.find((item) => item.cid === frame.cid);
  if (!entry) return false;
  if (frame.cid === inFlight) inFlight = '';
  if (REFUSED_FOR_NOW.has(frame.code)) {
    // A room's slow mode says when, as a rate limit does.
    const wait = frame.code === 'unavailable' ? UNAVAILABLE_RETRY_MS : frame.retry_after_ms ?? 1000;
    pausedUntil = Math.max(pausedUntil, Date.now() + wait);
    // The server's bucket is empty; ours refills from here, as its does.
    bucket.tokens = 0;
    bucket.updated = Date.now();
  } else {
    entry.status = 'failed';
    entry.reason = refusalPhrase(frame);
    saveEntry(entry);
    changed('outbox');
  }
  pump();
  return true;
}

/** @param {string} cid */
export function retryEntry(cid) {
  const entry = state.outbox.find((item) => item.cid === cid);
  if (!entry) return;
  entry.status = 'pending';
  delete entry.reason;
  if (entry.files) restartUploads(entry.files);
  saveEntry(entry);
  changed('outbox');
  pump();
}

/** @param {string} cid */
export function discardEntry(cid) {
  const entry = state.outbox.find((item) => item.cid === cid);
  for (const id of entry?.files || []) cancelUpload(id);
  state.outbox = state.outbox.filter((item) => item.cid !== cid);
  removeStorage(ENTRY_PREFIX + cid);
  if (cid === inFlight) inFlight = '';
  changed('outbox');
  pump();
}

/** What waited to go to a room we left cannot go anymore. @param {string} room */
export function dropRoomOutbox(room) {
  for (const entry of state.outbox.filter((item) => item.room === room)) discardEntry(entry.cid);
}

/**
 * Welcomed: the bucket starts as the server's does for a fresh user, and
 * this tab may take the lease and send.
 */
export function outboxConnected() {
  const { burst } = state.limits;
  bucket.tokens = burst;
  bucket.updated = Date.now();
  pausedUntil = 0;
  inFlight = '';
  pump();
  uploadsConnected();
}

/** The connection ended: what was in flight goes again on the next one. */
export function outboxDisconnected() {
  inFlight = '';
  clearTimeout(pumpTimer);
  clearTimeout(ackTimer);
  ackTimer = undefined;
  uploadsDisconnected();
  releaseLease();
}

/**
 * Whether this tab is the one that sends (messages and uploads), taking
 * the lease if it is free.
 */
export function holdsLease() {
  return holdLease();
}

/**
 * Takes one file off a message that waits for it (its cancel button): the
 * rest goes, and a message left with nothing to say is dropped.
 * @param {string} cid @param {string} upload
 */
export function dropFile(cid, upload) {
  const entry = state.outbox.find((item) => item.cid === cid);
  cancelUpload(upload);
  if (!entry?.files) return;
  entry.files = entry.files.filter((id) => id !== upload);
  if (entry.files.length === 0) delete entry.files;
  if (!entry.files && entry.text.trim() === '') {
    discardEntry(cid);
    return;
  }
  saveEntry(entry);
  changed('outbox');
  pump();
}

/** Whether a token is there now; if not, how many ms until one is. */
function tokenWait(now) {
  const { rate, burst } = state.limits;
  if (rate <= 0) return 0;
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updated) / 1000) * rate);
  bucket.updated = now;
  return bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / rate) * 1000) + PACE_MARGIN_MS;
}

/**
 * Takes a token for a frame the server counts like a message (a rename).
 * @returns {boolean} whether one was there
 */
export function spendToken() {
  if (tokenWait(Date.now()) > 0) return false;
  if (state.limits.rate > 0) bucket.tokens -= 1;
  return true;
}

/** Sends the next message if this tab is the sender, nothing is in flight, and the pace allows. */
export function pump() {
  clearTimeout(pumpTimer);
  pumpTimer = undefined;
  if (!isReady() || inFlight || !holdLease()) return;
  failOnFiles();
  // A message whose files are still on their way waits; the ones after it go.
  const entry = state.outbox.find((item) => item.status === 'pending' && !filesOf(item.files || []).waiting);
  if (!entry) return;
  const now = Date.now();
  const wait = Math.max(pausedUntil - now, tokenWait(now));
  if (wait > 0) {
    pumpTimer = setTimeout(pump, wait);
    return;
  }
  if (state.limits.rate > 0) bucket.tokens -= 1;
  const frame = frameOf(entry);
  if (new TextEncoder().encode(JSON.stringify(frame)).length > state.limits.frame_bytes) {
    // The server would close the connection over it (1009).
    refuseOutbox({ type: 'error', code: 'too_long', detail: 'frame_too_big', cid: entry.cid, message: 'too big for this server' });
    return;
  }
  inFlight = entry.cid;
  sentAt = now;
  send(frame);
  if (ackTimer === undefined) ackTimer = setTimeout(checkAck, ACK_TIMEOUT_MS);
}

/**
 * The frame that sends `entry`.
 * @param {OutboxEntry} entry
 * @returns {Record<string, unknown>}
 */
function frameOf(entry) {
  /** @type {Record<string, unknown>} */
  const frame = { type: entry.kind || 'message', cid: entry.cid };
  if (entry.room !== LOBBY) frame.room = entry.room;
  if (entry.kind) frame.target = entry.target;
  if (entry.kind === 'react') Object.assign(frame, { emoji: entry.emoji, on: entry.on });
  if (!entry.kind || entry.kind === 'edit') frame.message = entry.text;
  if (entry.files) frame.files = filesOf(entry.files).ids;
  if (entry.replyTo) frame.reply_to = entry.replyTo;
  return frame;
}

/** A message whose file failed fails too, with the file's reason. */
function failOnFiles() {
  for (const entry of state.outbox) {
    if (entry.status !== 'pending' || !entry.files) continue;
    const { problem } = filesOf(entry.files);
    if (!problem) continue;
    entry.status = 'failed';
    entry.reason = problem;
    saveEntry(entry);
    changed('outbox');
  }
}

/** Reconnects if the message in flight is overdue. */
function checkAck() {
  ackTimer = undefined;
  if (!inFlight) return;
  const overdue = Date.now() - sentAt;
  if (overdue >= ACK_TIMEOUT_MS) dropConnection(phrase('close.silent'));
  else ackTimer = setTimeout(checkAck, ACK_TIMEOUT_MS - overdue);
}

/**
 * Takes or renews the lease if it is free, expired or ours. Without
 * storage every tab is on its own, so it sends.
 * @returns {boolean} whether this tab is the sender
 */
function holdLease() {
  const now = Date.now();
  const lease = readLease();
  if (lease && lease.tab !== tab && lease.until > now) return false;
  if (!writeStorage(LEASE_KEY, JSON.stringify({ tab, until: now + LEASE_MS }))) return true;
  // Two tabs may have written at once: the last one wins.
  return readLease()?.tab === tab;
}

/** @returns {{tab: string, until: number} | null} */
function readLease() {
  try {
    const lease = JSON.parse(readStorage(LEASE_KEY) || 'null');
    return lease && typeof lease.tab === 'string' && typeof lease.until === 'number' ? lease : null;
  } catch {
    return null;
  }
}

/** Lets another tab send (this one closed, or lost its connection). */
export function releaseLease() {
  if (readLease()?.tab === tab) removeStorage(LEASE_KEY);
}

/** Keeps the lease while connected, and takes it when its holder went quiet. */
export function startLeaseTimer() {
  setInterval(() => {
    if (isReady()) {
      if (!inFlight && pumpTimer === undefined) pump();
      else if (readLease()?.tab === tab) holdLease();
      // Uploads go from the lease's tab too: one it took over goes on.
      runUploads();
    }
  }, LEASE_RENEW_MS);
}

/**
 * A random UUID. `crypto.randomUUID` exists only on secure (https) pages, and
 * a LAN page is usually plain http, so build it from `getRandomValues`.
 */
function newCid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
