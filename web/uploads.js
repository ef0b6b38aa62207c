// Files on their way to the server: attaching them (picked, dropped or
// pasted), sending them in chunks with tus (tus.js), pausing when the
// connection goes and resuming where the server says they stopped, after a
// dropped connection, a reload or a server restart alike.
//
// Each file is a record in IndexedDB (upload_store.js) with the file itself,
// so a reload loses nothing: on load the page reads them back and asks the
// server (HEAD) how far each got. Chunks are 8 MiB, and the server
// acknowledges each only once it is on its disk, so at most one chunk is
// ever sent twice. One file goes at a time, from the tab that holds the
// outbox's lease (the one that sends messages); the others hear of progress
// on a BroadcastChannel and show it.
//
// A file waits in the room's tray until it is sent with a message; the
// outbox (outbox.js) holds that message back until its files are done.

import { announce, changed, state } from './state.js';
import { hasKey, phrase, t } from './i18n.js';
import { formatSize } from './format.js';
import { readToken } from './storage.js';
import { isReady } from './connection.js';
import { holdsLease, pump } from './outbox.js';
import { TusError, createUpload, deleteUpload, sendChunk, uploadOffset } from './tus.js';
import { addUpload, readBlob, readRecords, removeUpload, saveRecord } from './upload_store.js';

/**
 * @typedef {object} Upload
 * @property {string} id        ours, not the server's
 * @property {string} name
 * @property {number} size      bytes
 * @property {string} type      what the browser says it is (the server sniffs its own)
 * @property {string} room      where it will be shared
 * @property {string} token     the owned name's token it is uploaded with
 * @property {string} url       the upload's address on the server, once created
 * @property {number} offset    bytes the server acknowledged
 * @property {number} sent      bytes sent, acknowledged or not (for the progress bar)
 * @property {'queued' | 'uploading' | 'paused' | 'done' | 'failed'} status
 * @property {import('./i18n.js').Phrase | string} note why it is paused or failed ('' when neither; a string: kept by an older page)
 * @property {string} cid       the message it was sent with; '' while in the tray
 * @property {number} createdAt
 * @property {string} [preview] a blob: URL of a picture, in this tab only
 */

/** Bytes per PATCH: each acknowledged chunk is on the server's disk. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** A message shares at most this many files (the server's limit). */
export const MAX_FILES = 10;
/** Waits between attempts after a failure, from 1 s up to 30 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
/** The server's disk or quota was full mid-upload: look again after this. */
const FULL_RETRY_MS = 30000;
/** Too many uploads of ours at once on the server: wait for one to finish. */
const BUSY_RETRY_MS = 10000;
/** Types the page shows as a picture in the tray before it is sent. */
const PREVIEW_TYPES = /^image\/(jpeg|png|gif|webp)$/;

const channel = 'BroadcastChannel' in window ? new BroadcastChannel('lanchat.uploads') : null;

/** The files of uploads this tab made, until they are read back from IndexedDB. @type {Map<string, Blob>} */
const blobs = new Map();
/** The upload being sent, and how to stop it. */
let running = '';
/** @type {AbortController | null} */
let controller = null;
let attempt = 0;
/** @type {number | undefined} */
let retryTimer;
/** Whether the records in IndexedDB have been read (until then, an unknown id may be among them). */
let loaded = false;

/** Reads the uploads every tab left, and starts sending if this tab may. */
export async function loadUploads() {
  const records = await readRecords();
  for (const record of records) {
    const upload = parseRecord(record);
    if (!upload) continue;
    const known = state.uploads.get(upload.id);
    // A tab that was sending it knows better than the last saved offset.
    if (known) continue;
    if (upload.status === 'uploading') upload.status = 'queued';
    upload.sent = upload.offset;
    state.uploads.set(upload.id, upload);
    addPreview(upload);
  }
  loaded = true;
  changed('uploads');
  runUploads();
  pump();
}

/** @param {any} record @returns {Upload | null} */
function parseRecord(record) {
  if (!record || typeof record.id !== 'string' || typeof record.name !== 'string') return null;
  const statuses = ['queued', 'uploading', 'paused', 'done', 'failed'];
  return {
    id: record.id,
    name: record.name,
    size: Number(record.size) || 0,
    type: String(record.type || ''),
    room: String(record.room || 'lobby'),
    token: String(record.token || ''),
    url: String(record.url || ''),
    offset: Number(record.offset) || 0,
    sent: Number(record.offset) || 0,
    status: statuses.includes(record.status) ? record.status : 'queued',
    note: record.note && typeof record.note === 'object' && typeof record.note.key === 'string' ? record.note
      : String(record.note || ''),
    cid: String(record.cid || ''),
    createdAt: Number(record.createdAt) || 0,
  };
}

/** What is kept of an upload: all but the live progress and the preview. @param {Upload} upload */
function toRecord(upload) {
  const { sent, preview, ...record } = upload;
  return record;
}

/** Saves an upload and tells the other tabs. @param {Upload} upload */
async function save(upload) {
  await saveRecord(toRecord(upload));
  channel?.postMessage({ id: upload.id, record: toRecord(upload) });
}

/**
 * Attaches files to the room on screen: they go to its tray and start
 * uploading at once. Returns what could not be attached, or null.
 * @param {File[]} files
 * @param {string} room
 * @returns {import('./i18n.js').Phrase | null}
 */
export function attachFiles(files, room) {
  const token = readToken(state.me || state.name) || '';
  if (!token) return phrase('uploads.not_claimed');
  const taken = files.slice(0, Math.max(0, MAX_FILES - trayOf(room).length));
  for (const file of taken) {
    /** @type {Upload} */
    const upload = {
      id: newId(),
      name: file.name || defaultName(file.type),
      size: file.size,
      type: file.type,
      room,
      token,
      url: '',
      offset: 0,
      sent: 0,
      status: 'queued',
      note: '',
      cid: '',
      createdAt: Date.now(),
    };
    blobs.set(upload.id, file);
    state.uploads.set(upload.id, upload);
    addPreview(upload, file);
    addUpload(toRecord(upload), file).then(() => channel?.postMessage({ id: upload.id, record: toRecord(upload) }));
  }
  changed('uploads');
  runUploads();
  return taken.length < files.length ? phrase('uploads.too_many_files', { count: MAX_FILES }) : null;
}

/** A pasted screenshot has no name of its own. @param {string} type */
function defaultName(type) {
  const stamp = new Date().toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '.');
  const extension = (type.split('/')[1] || 'bin').replace('jpeg', 'jpg').replace(/[^a-z0-9]/g, '');
  return t('uploads.pasted_name', { stamp, extension });
}

/** @param {Upload} upload @param {Blob} [blob] */
async function addPreview(upload, blob) {
  if (upload.preview || !PREVIEW_TYPES.test(upload.type) || upload.cid) return;
  const file = blob || blobs.get(upload.id) || await readBlob(upload.id);
  if (!file || upload.preview || !state.uploads.has(upload.id)) return;
  upload.preview = URL.createObjectURL(file);
  changed('uploads');
}

/** The files waiting in `room`'s tray, oldest first. @param {string} room @returns {Upload[]} */
export function trayOf(room) {
  return [...state.uploads.values()]
    .filter((upload) => upload.room === room && upload.cid === '')
    .sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Takes the tray's files for a message: they leave the tray and wait
 * with it. Files that failed stay behind with their reasons.
 * @param {string} room @param {string} cid
 * @returns {string[]} their ids
 */
export function takeTray(room, cid) {
  const taken = trayOf(room).filter((upload) => upload.status !== 'failed');
  for (const upload of taken) {
    upload.cid = cid;
    if (upload.preview) URL.revokeObjectURL(upload.preview);
    delete upload.preview;
    save(upload);
  }
  changed('uploads');
  return taken.map((upload) => upload.id);
}

/**
 * Where a message's files are: `ids` (the server's) once every one is
 * done, `waiting` while any is on its way, `problem` if one failed.
 * @param {string[]} files
 * @returns {{ids: string[], waiting: boolean, problem: import('./i18n.js').Phrase | null}}
 */
export function filesOf(files) {
  const ids = [];
  let waiting = false;
  for (const id of files) {
    const upload = state.uploads.get(id);
    if (!upload && !loaded) return { ids: [], waiting: true, problem: null };
    if (!upload) return { ids: [], waiting: false, problem: phrase('uploads.file_gone') };
    if (upload.status === 'failed') return { ids: [], waiting: false, problem: phrase('uploads.file_failed', { name: upload.name, why: upload.note }) };
    if (upload.status !== 'done') waiting = true;
    else ids.push(serverId(upload));
  }
  return { ids, waiting, problem: null };
}

/** @param {Upload} upload */
function serverId(upload) {
  return upload.url.slice(upload.url.lastIndexOf('/') + 1);
}

/** Gives up on an upload: stops it, tells the server, forgets it. @param {string} id */
export function cancelUpload(id) {
  const upload = state.uploads.get(id);
  if (!upload) return;
  if (running === id) controller?.abort();
  if (upload.url && upload.status !== 'done') deleteUpload(credentials(upload), upload.url);
  forget(upload);
  runUploads();
}

/** The message was stored: its files are the server's now. @param {string[]} ids */
export function forgetUploads(ids) {
  for (const id of ids) {
    const upload = state.uploads.get(id);
    if (upload) forget(upload);
  }
}

/** @param {Upload} upload */
function forget(upload) {
  if (upload.preview) URL.revokeObjectURL(upload.preview);
  state.uploads.delete(upload.id);
  blobs.delete(upload.id);
  removeUpload(upload.id);
  channel?.postMessage({ id: upload.id, record: null });
  changed('uploads');
}

/** Starts the failed files of a message over ("Retry"). @param {string[]} ids */
export function restartUploads(ids) {
  for (const id of ids) {
    const upload = state.uploads.get(id);
    if (!upload || upload.status !== 'failed') continue;
    Object.assign(upload, { url: '', offset: 0, sent: 0, status: 'queued', note: '' });
    save(upload);
  }
  changed('uploads');
  runUploads();
}

/** @param {Upload} upload @returns {import('./tus.js').Credentials} */
function credentials(upload) {
  return { token: upload.token, key: state.key };
}

/**
 * Sends the oldest unfinished upload, if this tab is the one that sends
 * and the connection is up; then the next. Safe to call at any time.
 */
export function runUploads() {
  if (running || !isReady() || !holdsLease()) return;
  const next = [...state.uploads.values()]
    .filter((upload) => upload.status === 'queued' || upload.status === 'uploading' ||
      (upload.status === 'paused' && retryTimer === undefined))
    .sort((a, b) => a.createdAt - b.createdAt)[0];
  if (!next) return;
  running = next.id;
  controller = new AbortController();
  send(next, controller.signal).finally(() => {
    running = '';
    controller = null;
    runUploads();
  });
}

/** The connection is back (or this tab became the sender): go on at once. */
export function uploadsConnected() {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  attempt = 0;
  runUploads();
}

/** The connection went: what is on its way pauses, and goes on after it. */
export function uploadsDisconnected() {
  controller?.abort();
  for (const upload of state.uploads.values()) {
    if (upload.status === 'uploading' || upload.status === 'queued') {
      upload.status = 'paused';
      upload.note = phrase('uploads.waiting_connection');
    }
  }
  changed('uploads');
}

/**
 * Sends one upload from where the server has it to its end, a chunk at a
 * time.
 * @param {Upload} upload @param {AbortSignal} signal
 */
async function send(upload, signal) {
  const blob = blobs.get(upload.id) || await readBlob(upload.id);
  if (!blob) {
    fail(upload, phrase('uploads.blob_gone'));
    return;
  }
  const who = credentials(upload);
  upload.status = 'uploading';
  upload.note = '';
  changed('uploads');
  try {
    if (!upload.url) {
      upload.url = await createUpload(who, upload);
      upload.offset = 0;
      await save(upload);
    } else {
      // Another tab, an earlier page or a dropped chunk: the server knows.
      upload.offset = await uploadOffset(who, upload.url);
    }
    upload.sent = upload.offset;
    while (upload.offset < upload.size || (upload.size === 0 && upload.status !== 'done')) {
      if (signal.aborted || !isReady()) throw new TusError(0, 'paused');
      const start = upload.offset;
      const chunk = blob.slice(start, Math.min(upload.size, start + CHUNK_BYTES));
      upload.offset = await sendChunk(who, upload.url, start, chunk, (sent) => {
        upload.sent = start + sent;
        changed('progress');
        channel?.postMessage({ id: upload.id, sent: upload.sent });
      }, signal);
      upload.sent = upload.offset;
      attempt = 0;
      if (upload.size === 0) break;
      if (upload.offset < upload.size) await save(upload);
    }
    upload.status = 'done';
    upload.sent = upload.size;
    await save(upload);
    changed('uploads');
    pump();
  } catch (error) {
    if (!state.uploads.has(upload.id)) return; // cancelled
    const refused = error instanceof TusError ? error : new TusError(0, String(error));
    await setback(upload, refused);
  }
}

/**
 * What a failure means for an upload: a network failure, a full disk or
 * too many uploads pause it and it tries again by itself; a wrong offset or
 * an upload the server no longer has send it back to the server's word; a
 * refusal fails it, with the reason.
 * @param {Upload} upload @param {TusError} error
 */
async function setback(upload, error) {
  const { status } = error;
  if (status === 409) {
    // Another tab or a lost answer moved the offset on: ask where it is.
    upload.status = 'queued';
    retryLater(upload, backoff());
  } else if (status === 404 && upload.url) {
    // Expired, or a server that lost it: start again from the first byte.
    Object.assign(upload, { url: '', offset: 0, sent: 0, status: 'queued' });
    retryLater(upload, backoff());
  } else if (status === 0 || status >= 500 && status !== 507) {
    upload.status = 'paused';
    upload.note = phrase(isReady() ? 'uploads.retrying' : 'uploads.waiting_connection');
    retryLater(upload, backoff());
  } else if (status === 507 && upload.url) {
    upload.status = 'paused';
    upload.note = phrase('uploads.disk_full_paused');
    retryLater(upload, FULL_RETRY_MS);
  } else if (status === 429) {
    upload.status = 'paused';
    upload.note = phrase('uploads.too_many_paused');
    retryLater(upload, BUSY_RETRY_MS);
  } else {
    fail(upload, refusalWords(status, error.refusal));
    return;
  }
  await save(upload);
  changed('uploads');
}

/** @param {Upload} upload @param {import('./i18n.js').Phrase} note */
function fail(upload, note) {
  upload.status = 'failed';
  upload.note = note;
  announce(phrase('uploads.file_failed', { name: upload.name, why: note }));
  save(upload);
  changed('uploads');
  pump();
}

function backoff() {
  const cap = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
  attempt += 1;
  return cap / 2 + Math.random() * (cap / 2);
}

/** @param {Upload} upload @param {number} wait */
function retryLater(upload, wait) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    retryTimer = undefined;
    if (upload.status === 'paused') upload.status = 'queued';
    runUploads();
  }, wait);
}

/**
 * The server's refusal in the page's words: by its code (the
 * `Lanchat-Refusal` header), with its numbers; by the status alone from a
 * server that sends none.
 * @param {number} status @param {import('./tus.js').Refusal | null} refusal
 * @returns {import('./i18n.js').Phrase}
 */
export function refusalWords(status, refusal) {
  const { code = '', ...params } = refusal || {};
  for (const [name, value] of Object.entries(params)) {
    // Sizes are bytes; they read as "100 MB".
    if (['size', 'max', 'free', 'used', 'quota'].includes(name) && typeof value === 'number') params[name] = formatSize(value);
  }
  if (code && hasKey(`uploads.refused.${code}`)) return phrase(`uploads.refused.${code}`, params);
  switch (status) {
    case 413:
      return phrase('uploads.refused.too_big_plain');
    case 507:
      return phrase('uploads.refused.full_plain');
    case 422:
      return phrase('uploads.refused.picture_too_large');
    case 401:
    case 403:
      return phrase('uploads.refused.not_allowed');
    default:
      return phrase('uploads.refused.failed', { status });
  }
}

// Other tabs: a record changed (or went), or the sending tab made progress.
channel?.addEventListener('message', (event) => {
  const { id, record, sent } = event.data || {};
  if (typeof id !== 'string') return;
  const known = state.uploads.get(id);
  if (typeof sent === 'number') {
    if (known && running !== id) known.sent = sent;
  } else if (record === null) {
    if (known?.preview) URL.revokeObjectURL(known.preview);
    state.uploads.delete(id);
  } else if (running !== id) {
    const upload = parseRecord(record);
    if (!upload) return;
    upload.preview = known?.preview;
    upload.sent = Math.max(upload.offset, known && known.status !== 'done' ? known.sent : 0);
    state.uploads.set(id, upload);
    addPreview(upload);
  }
  changed('uploads');
  pump();
});

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}
