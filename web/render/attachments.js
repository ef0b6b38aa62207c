// The files a stored message shares, as the timeline shows them: pictures
// inline from their thumbnails (their size reserved from `width` and
// `height`, so nothing jumps when they load; a click opens the lightbox),
// video and sound in the browser's own players, and anything else as a card
// with an icon, the name, the size and a download link. Built once per
// message, from the server's frame; names go in as text.

import { t } from '../i18n.js';
import { formatSize } from '../format.js';
import { svgIcon } from '../dom.js';

/** Pictures show inline within this box, in CSS pixels (the thumbnail is at most 640). */
const PICTURE_BOX_PX = 320;
/** The types the server shows inline (anything else it sends as a download). */
const PICTURES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const VIDEOS = new Set(['video/mp4', 'video/webm']);
const SOUNDS = new Set(['audio/mpeg', 'audio/ogg', 'audio/wav', 'audio/x-wav']);

const ICONS = {
  pdf: 'M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm7 1.5V9h5.5ZM7.5 13v5H9v-1.6h.8a1.7 1.7 0 0 0 0-3.4Zm1.5 1.2h.7a.5.5 0 0 1 0 1H9Zm3-1.2v5h1.4a2.5 2.5 0 0 0 0-5Zm1.4 1.2h.1a1.3 1.3 0 0 1 0 2.6h-.1ZM16.5 13v5H18v-2h1.5v-1.2H18v-.6h1.7V13Z',
  archive: 'M6 2h12a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm5 2v2h2V4Zm0 3v2h2V7Zm0 3v2h2v-2Zm-1 3v4a2 2 0 0 0 4 0v-4Zm1.5 2h1v2h-1Z',
  video: 'M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Zm6 4v8l6-4Z',
  sound: 'M12 3v10.6A4 4 0 1 0 14 17V7h4V3Z',
  picture: 'M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2Zm0 14v2h14v-3l-4-4-5 5-2-2Zm3.5-9a2 2 0 1 0 0 4 2 2 0 0 0 0-4Z',
  file: 'M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm7 1.5V9h5.5ZM8 13v1.5h8V13Zm0 3v1.5h6V16Z',
};

/**
 * The list of a message's files.
 * @param {import('../protocol.js').FileInfo[]} files
 */
export function attachmentList(files) {
  const list = document.createElement('ul');
  list.className = 'files';
  for (const file of files) list.append(attachment(file));
  return list;
}

/** @param {import('../protocol.js').FileInfo} file */
function attachment(file) {
  if (PICTURES.has(file.type) && file.thumb && file.width && file.height) return picture(file);
  if (VIDEOS.has(file.type)) return player(file, 'video');
  if (SOUNDS.has(file.type)) return player(file, 'audio');
  return card(file);
}

/** A picture from its thumbnail, in a button that opens it whole. @param {import('../protocol.js').FileInfo} file */
function picture(file) {
  const item = document.createElement('li');
  item.className = 'file-picture';
  const width = file.width || PICTURE_BOX_PX;
  const height = file.height || PICTURE_BOX_PX;
  const scale = Math.min(1, PICTURE_BOX_PX / width, PICTURE_BOX_PX / height);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'picture-open';
  button.dataset.picture = file.url;
  button.dataset.name = file.name;
  button.dataset.width = String(width);
  button.dataset.height = String(height);
  button.setAttribute('aria-label', t('files.picture', { name: file.name, width, height }));
  const image = document.createElement('img');
  image.src = file.thumb || file.url;
  image.alt = file.name;
  image.width = Math.max(1, Math.round(width * scale));
  image.height = Math.max(1, Math.round(height * scale));
  image.loading = 'lazy';
  image.decoding = 'async';
  button.append(image);
  item.append(button);
  return item;
}

/**
 * Video or sound, in the browser's player, with its name as a download link.
 * @param {import('../protocol.js').FileInfo} file @param {'video' | 'audio'} kind
 */
function player(file, kind) {
  const item = document.createElement('li');
  item.className = `file-${kind}`;
  const media = document.createElement(kind);
  media.controls = true;
  media.preload = kind === 'video' ? 'metadata' : 'none';
  media.src = file.url;
  media.setAttribute('aria-label', file.name);
  item.append(media, fileLine(file));
  return item;
}

/** Anything else: an icon, the name, the size and a download link. @param {import('../protocol.js').FileInfo} file */
function card(file) {
  const item = document.createElement('li');
  item.className = 'file-card';
  const icon = document.createElement('span');
  icon.className = 'file-icon';
  icon.setAttribute('aria-hidden', 'true');
  const drawing = svgIcon(ICONS[iconOf(file)]);
  drawing.setAttribute('width', '28');
  drawing.setAttribute('height', '28');
  icon.append(drawing);
  const about = document.createElement('span');
  about.className = 'file-about';
  const name = document.createElement('span');
  name.className = 'file-name';
  name.textContent = file.name;
  // A long name is cut short on a phone; the whole of it shows on hover.
  name.title = file.name;
  const size = document.createElement('span');
  size.className = 'file-size';
  const kind = kindWord(file);
  size.textContent = kind ? t('files.size_kind', { size: formatSize(file.size), kind }) : formatSize(file.size);
  about.append(name, size);
  const link = downloadLink(file, t('files.download'));
  link.className = 'button small file-download';
  link.setAttribute('aria-label', t('files.download_sized', { name: file.name, size: formatSize(file.size) }));
  item.append(icon, about, link);
  return item;
}

/** Under a player: the name (a download link) and the size. @param {import('../protocol.js').FileInfo} file */
function fileLine(file) {
  const line = document.createElement('span');
  line.className = 'file-line';
  const link = downloadLink(file, file.name);
  link.className = 'file-name';
  link.setAttribute('aria-label', t('files.download_sized', { name: file.name, size: formatSize(file.size) }));
  const size = document.createElement('span');
  size.className = 'file-size';
  size.textContent = formatSize(file.size);
  line.append(link, ' ', size);
  return line;
}

/** @param {import('../protocol.js').FileInfo} file @param {string} text */
function downloadLink(file, text) {
  const link = document.createElement('a');
  link.href = file.url;
  link.download = file.name;
  link.textContent = text;
  return link;
}

/** @param {import('../protocol.js').FileInfo} file @returns {keyof ICONS} */
function iconOf(file) {
  const name = file.name.toLowerCase();
  if (file.type === 'application/pdf') return 'pdf';
  if (/\.(zip|tar|gz|tgz|7z|rar|xz|bz2)$/.test(name) || /zip|compressed|tar/.test(file.type)) return 'archive';
  if (file.type.startsWith('video/')) return 'video';
  if (file.type.startsWith('audio/')) return 'sound';
  if (file.type.startsWith('image/')) return 'picture';
  return 'file';
}

/** "PDF", "ZIP": the kind of a file, from its name ('' without one). @param {import('../protocol.js').FileInfo} file */
function kindWord(file) {
  const match = /\.([a-z0-9]{1,5})$/i.exec(file.name);
  return match ? match[1].toUpperCase() : '';
}
