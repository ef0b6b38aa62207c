// Files on their way: the tray above the composer (the room's attached
// files, each with its progress and a cancel button), the same rows inside a
// message that waits for its files, and the drop overlay. Rows are kept by
// upload id, so a render per progress event only moves the bars.

import { state } from '../state.js';
import { t } from '../i18n.js';
import { formatPercent, formatSize } from '../format.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { trayOf } from '../uploads.js';
import { els, renderList, setText, svgIcon } from '../dom.js';

const FILE_ICON = 'M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm7 1.5V9h5.5Z';
const CLOSE_ICON = 'm6.4 19-1.4-1.4 5.6-5.6L5 6.4 6.4 5l5.6 5.6L17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6Z';

export function renderUploads() {
  const room = activeRoom();
  const tray = trayOf(room.name);
  els.tray.hidden = tray.length === 0;
  fillUploadList(els.trayList, tray.map((upload) => upload.id), '');
  setText(els.attachError, state.attachError ? t(state.attachError) : '');
  els.dropOverlay.hidden = !state.dragging;
  setText(els.dropText, room.kind === 'dm'
    ? t('uploads.drop_direct', { name: room.peer })
    : t('uploads.drop_room', { room: `#${roomLabel(room)}` }));
}

/**
 * Makes `list` show one row per upload, in order, each up to date.
 * @param {HTMLElement} list
 * @param {string[]} ids
 * @param {string} cid the message they wait with, or '' in the tray
 */
export function fillUploadList(list, ids, cid) {
  renderList(list, ids.filter((id) => state.uploads.has(id)), (id) => uploadRow(id, cid), fillRow);
}

/** @param {string} id @param {string} cid */
function uploadRow(id, cid) {
  const row = document.createElement('li');
  row.className = 'upload';
  row.dataset.upload = id;
  const thumb = document.createElement('span');
  thumb.className = 'upload-thumb';
  const body = document.createElement('span');
  body.className = 'upload-body';
  const name = document.createElement('span');
  name.className = 'upload-name';
  const bar = document.createElement('progress');
  bar.className = 'upload-bar';
  const status = document.createElement('span');
  status.className = 'upload-status';
  body.append(name, bar, status);
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'icon-button upload-cancel';
  cancel.dataset.cancelUpload = id;
  if (cid) cancel.dataset.cid = cid;
  const icon = svgIcon(CLOSE_ICON);
  icon.setAttribute('width', '18');
  icon.setAttribute('height', '18');
  icon.setAttribute('aria-hidden', 'true');
  cancel.append(icon);
  row.append(thumb, body, cancel);
  return row;
}

/** @param {HTMLElement} row @param {string} id */
function fillRow(row, id) {
  const upload = state.uploads.get(id);
  if (!upload) return;
  const [thumb, body, cancel] = /** @type {HTMLElement[]} */ ([...row.children]);
  const [name, bar, status] = /** @type {HTMLElement[]} */ ([...body.children]);
  const preview = upload.preview || '';
  if (thumb.dataset.preview !== preview || thumb.childElementCount === 0) {
    thumb.dataset.preview = preview;
    if (preview) {
      const image = document.createElement('img');
      image.src = preview;
      image.alt = '';
      image.width = 40;
      image.height = 40;
      thumb.replaceChildren(image);
    } else {
      const icon = svgIcon(FILE_ICON);
      icon.setAttribute('width', '24');
      icon.setAttribute('height', '24');
      icon.setAttribute('aria-hidden', 'true');
      thumb.replaceChildren(icon);
    }
  }
  setText(name, upload.name);
  const progress = /** @type {HTMLProgressElement} */ (bar);
  const max = Math.max(1, upload.size);
  const value = upload.status === 'done' ? max : Math.min(max, upload.sent);
  if (progress.max !== max) progress.max = max;
  if (progress.value !== value) progress.value = value;
  progress.setAttribute('aria-label', t('uploads.progress', { name: upload.name }));
  setText(status, statusWords(upload));
  row.dataset.status = upload.status;
  const finished = upload.status === 'done';
  cancel.setAttribute('aria-label', t(finished ? 'uploads.remove' : 'uploads.cancel', { name: upload.name }));
}

/** "45 % · 22 of 50 MB", "Waiting for the connection… · 45 %", the reason it failed. @param {import('../uploads.js').Upload} upload */
function statusWords(upload) {
  const percent = upload.size > 0 ? Math.floor((Math.min(upload.sent, upload.size) / upload.size) * 100) : 0;
  const size = formatSize(upload.size);
  switch (upload.status) {
    case 'done':
      return t('uploads.done', { size });
    case 'failed':
      return t(upload.note || 'uploads.refused.failed_plain');
    case 'paused':
      return t('uploads.paused', { why: upload.note || { key: 'uploads.paused_plain' }, percent: formatPercent(percent) });
    case 'queued':
      if (state.connection !== 'connected') {
        return t('uploads.paused', { why: { key: 'uploads.waiting_connection' }, percent: formatPercent(percent) });
      }
      return upload.sent > 0 ? t('uploads.waiting_percent', { percent: formatPercent(percent) })
        : t('uploads.waiting', { size });
    default:
      return t('uploads.sending', { percent: formatPercent(percent), sent: formatSize(upload.sent), size });
  }
}
