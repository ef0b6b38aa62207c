// What the page keeps of its uploads in IndexedDB, so they survive a reload:
// one record per file (where its upload is, how far it got) in `uploads`,
// and the file itself (a Blob is structured-cloneable) in `blobs`, apart, so
// saving the offset after each chunk does not write the file again. Shared
// by the browser's tabs, like the outbox. Without IndexedDB (some private
// windows) it keeps nothing, and uploads last as long as the tab.

const DB_NAME = 'lanchat';
const DB_VERSION = 1;

/** @type {Promise<IDBDatabase | null> | null} */
let opening = null;

/** @returns {Promise<IDBDatabase | null>} */
function database() {
  if (!opening) {
    opening = new Promise((resolve) => {
      let request;
      try {
        request = indexedDB.open(DB_NAME, DB_VERSION);
      } catch {
        resolve(null);
        return;
      }
      request.addEventListener('upgradeneeded', () => {
        const db = request.result;
        if (!db.objectStoreNames.contains('uploads')) db.createObjectStore('uploads', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('blobs')) db.createObjectStore('blobs');
      });
      request.addEventListener('success', () => resolve(request.result));
      request.addEventListener('error', () => resolve(null));
      request.addEventListener('blocked', () => resolve(null));
    });
  }
  return opening;
}

/**
 * Runs `work` on the stores in one transaction; resolves once it is
 * committed (or with `fallback` when there is no database).
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(uploads: IDBObjectStore, blobs: IDBObjectStore) => IDBRequest | void} work
 * @param {T} fallback
 * @returns {Promise<T>}
 */
async function transact(mode, work, fallback) {
  const db = await database();
  if (!db) return fallback;
  return new Promise((resolve) => {
    let transaction;
    try {
      transaction = db.transaction(['uploads', 'blobs'], mode);
    } catch {
      resolve(fallback);
      return;
    }
    const request = work(transaction.objectStore('uploads'), transaction.objectStore('blobs'));
    transaction.addEventListener('complete', () => resolve(request ? request.result : fallback));
    transaction.addEventListener('error', () => resolve(fallback));
    transaction.addEventListener('abort', () => resolve(fallback));
  });
}

/** Every upload record, without the files. @returns {Promise<object[]>} */
export function readRecords() {
  return transact('readonly', (uploads) => uploads.getAll(), []);
}

/** @param {string} id @returns {Promise<object | undefined>} */
export function readRecord(id) {
  return transact('readonly', (uploads) => uploads.get(id), undefined);
}

/** @param {string} id @returns {Promise<Blob | undefined>} */
export function readBlob(id) {
  return transact('readonly', (_, blobs) => blobs.get(id), undefined);
}

/** A new upload: its record and its file, together. @param {{id: string}} record @param {Blob} blob */
export function addUpload(record, blob) {
  return transact('readwrite', (uploads, blobs) => {
    blobs.put(blob, record.id);
    uploads.put(record);
  }, undefined);
}

/** @param {{id: string}} record */
export function saveRecord(record) {
  return transact('readwrite', (uploads) => {
    uploads.put(record);
  }, undefined);
}

/** @param {string} id */
export function removeUpload(id) {
  return transact('readwrite', (uploads, blobs) => {
    uploads.delete(id);
    blobs.delete(id);
  }, undefined);
}
