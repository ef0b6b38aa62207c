// A small tus 1.0.0 client (https://tus.io/protocols/resumable-upload), the
// part of it the page uses: create an upload, ask how far it got, send one
// chunk, give it up. No state: uploads.js decides what to send and when.
//
// Chunks go by XMLHttpRequest rather than fetch, for its upload progress
// events (fetch has none for a request body). Every refusal becomes a
// `TusError` with the status, the server's reason (plain English text, for
// logs) and its refusal as data: the `Lanchat-Refusal` header, `{"code":
// "too_big","size":…,"max":…}`, which the page words itself.

const TUS_VERSION = '1.0.0';

/** @typedef {{code: string, [param: string]: string | number}} Refusal */

/** A refused or failed request: `status` 0 means the network failed. */
export class TusError extends Error {
  /** @param {number} status @param {string} reason @param {Refusal | null} [refusal] */
  constructor(status, reason, refusal = null) {
    super(reason || `status ${status}`);
    this.status = status;
    this.reason = reason;
    this.refusal = refusal;
  }
}

/** The server's refusal as data, from its `Lanchat-Refusal` header. @param {string | null} header @returns {Refusal | null} */
function refusalOf(header) {
  if (!header) return null;
  try {
    const refusal = JSON.parse(header);
    return refusal && typeof refusal.code === 'string' ? refusal : null;
  } catch {
    return null;
  }
}

/**
 * Who is asking: an owned name's token, and the access key if the server
 * wants one. (The page's cookies carry them too; headers say it plainly.)
 * @typedef {{token: string, key: string}} Credentials
 */

/** @param {Credentials} who @returns {Record<string, string>} */
function headersFor(who) {
  /** @type {Record<string, string>} */
  const headers = { 'Tus-Resumable': TUS_VERSION, 'Lanchat-Token': who.token };
  // A header carries bytes: send the key's UTF-8 bytes, one per character.
  if (who.key) headers.Authorization = `Bearer ${String.fromCharCode(...new TextEncoder().encode(who.key))}`;
  return headers;
}

/** tus metadata: `key base64(utf-8 value)` pairs. @param {Record<string, string>} pairs */
function metadata(pairs) {
  return Object.entries(pairs)
    .map(([key, value]) => `${key} ${btoa(String.fromCharCode(...new TextEncoder().encode(value)))}`)
    .join(',');
}

/** @param {Response} response */
async function refusal(response) {
  const text = await response.text().catch(() => '');
  return new TusError(response.status, text.trim(), refusalOf(response.headers.get('Lanchat-Refusal')));
}

/**
 * POST: starts an upload of `size` bytes for `room`. Refusals (too big,
 * quota, not a member…) come here, before any byte of the file is sent.
 * @param {Credentials} who
 * @param {{name: string, size: number, type: string, room: string}} file
 * @returns {Promise<string>} the upload's URL
 */
export async function createUpload(who, file) {
  const response = await request('/api/uploads', {
    method: 'POST',
    headers: {
      ...headersFor(who),
      'Upload-Length': String(file.size),
      'Upload-Metadata': metadata({ filename: file.name, room: file.room, filetype: file.type }),
    },
  });
  if (response.status !== 201) throw await refusal(response);
  const location = response.headers.get('Location');
  if (!location) throw new TusError(response.status, 'the server gave the upload no address');
  return new URL(location, window.location.href).pathname;
}

/**
 * HEAD: how many bytes the server has (a finished upload reports them all).
 * @param {Credentials} who @param {string} url
 * @returns {Promise<number>}
 */
export async function uploadOffset(who, url) {
  const response = await request(url, { method: 'HEAD', headers: headersFor(who), cache: 'no-store' });
  if (response.status !== 200) throw new TusError(response.status, '');
  const offset = Number(response.headers.get('Upload-Offset'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw new TusError(0, 'the server sent no offset');
  return offset;
}

/**
 * PATCH: sends `chunk` at `offset`. Resolves with the server's new offset,
 * which it gives only once the bytes are on its disk.
 * @param {Credentials} who
 * @param {string} url
 * @param {number} offset
 * @param {Blob} chunk
 * @param {(sent: number) => void} onProgress bytes of this chunk sent so far
 * @param {AbortSignal} signal
 * @returns {Promise<number>}
 */
export function sendChunk(who, url, offset, chunk, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PATCH', url);
    for (const [name, value] of Object.entries(headersFor(who))) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('Upload-Offset', String(offset));
    xhr.setRequestHeader('Content-Type', 'application/offset+octet-stream');
    xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded));
    xhr.addEventListener('load', () => {
      const next = Number(xhr.getResponseHeader('Upload-Offset'));
      if (xhr.status === 204 && Number.isSafeInteger(next)) resolve(next);
      else reject(new TusError(xhr.status, xhr.responseText.trim(), refusalOf(xhr.getResponseHeader('Lanchat-Refusal'))));
    });
    xhr.addEventListener('error', () => reject(new TusError(0, 'the connection failed')));
    xhr.addEventListener('timeout', () => reject(new TusError(0, 'the server stopped answering')));
    xhr.addEventListener('abort', () => reject(new TusError(0, 'cancelled')));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(chunk);
  });
}

/**
 * DELETE: gives an unfinished upload up (its bytes go). Best effort: an
 * upload the server no longer has is given up already.
 * @param {Credentials} who @param {string} url
 */
export async function deleteUpload(who, url) {
  try {
    await request(url, { method: 'DELETE', headers: headersFor(who) });
  } catch {
    // Unfinished uploads expire on the server by themselves.
  }
}

/** fetch, with a network failure as a TusError of status 0. @param {string} url @param {RequestInit} init */
async function request(url, init) {
  try {
    return await fetch(url, { ...init, credentials: 'same-origin' });
  } catch {
    throw new TusError(0, 'the connection failed');
  }
}
