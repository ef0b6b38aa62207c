// The page's elements, and small builders shared by the renderers: icons,
// times, text with links, keyed lists that keep their rows. User text goes
// in only as text (`textContent`, text nodes); no HTML is parsed here.

import { state } from './state.js';
import { formatFull, formatTime } from './format.js';

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export const els = {
  keyGate: byId('key-gate'),
  keyForm: /** @type {HTMLFormElement} */ (byId('key-form')),
  keyInput: /** @type {HTMLInputElement} */ (byId('key-input')),
  keyError: byId('key-error'),
  join: byId('join'),
  joinForm: /** @type {HTMLFormElement} */ (byId('join-form')),
  joinName: /** @type {HTMLInputElement} */ (byId('join-name')),
  joinError: byId('join-error'),
  joinCodeBox: /** @type {HTMLDetailsElement} */ (byId('join-code-box')),
  joinCode: /** @type {HTMLInputElement} */ (byId('join-code')),
  app: byId('app'),
  connDot: byId('conn-dot'),
  connText: byId('conn-text'),
  connLive: byId('conn-live'),
  connBanner: byId('conn-banner'),
  retryNow: byId('retry-now'),
  roomsToggle: byId('rooms-toggle'),
  roomsToggleBadge: byId('rooms-toggle-badge'),
  peopleToggle: byId('people-toggle'),
  peopleToggleCount: byId('people-toggle-count'),
  sidebar: byId('sidebar'),
  sidebarClose: byId('sidebar-close'),
  sidebarBackdrop: byId('sidebar-backdrop'),
  roomList: byId('room-list'),
  dmList: byId('dm-list'),
  dmEmpty: byId('dm-empty'),
  invitationsBox: byId('invitations'),
  invitationList: byId('invitation-list'),
  roomAdd: byId('room-add'),
  chat: byId('chat'),
  roomIcon: byId('room-icon'),
  roomName: byId('room-name'),
  roomInfo: byId('room-info'),
  roomInvite: byId('room-invite'),
  roomLeave: byId('room-leave'),
  messages: byId('messages'),
  loadOlder: /** @type {HTMLButtonElement} */ (byId('load-older')),
  historyStart: byId('history-start'),
  timeline: byId('timeline'),
  newPill: byId('new-pill'),
  newPillText: byId('new-pill-text'),
  typing: byId('typing'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  input: /** @type {HTMLTextAreaElement} */ (byId('message-input')),
  composerContext: byId('composer-context'),
  composerContextLabel: byId('composer-context-label'),
  composerContextQuote: byId('composer-context-quote'),
  composerCancel: byId('composer-cancel'),
  suggestions: byId('suggestions'),
  emojiButton: byId('emoji-button'),
  picker: byId('picker'),
  pickerTitle: byId('picker-title'),
  pickerTones: byId('picker-tones'),
  pickerClose: byId('picker-close'),
  pickerSearch: /** @type {HTMLInputElement} */ (byId('picker-search')),
  pickerGrid: byId('picker-grid'),
  pickerStatus: byId('picker-status'),
  deleteDialog: /** @type {HTMLDialogElement} */ (byId('delete-dialog')),
  deletePreview: byId('delete-preview'),
  deleteCancel: byId('delete-cancel'),
  deleteConfirm: byId('delete-confirm'),
  reactionWho: byId('reaction-who'),
  people: byId('people'),
  peopleHeading: byId('people-heading-text'),
  peopleCount: byId('people-count'),
  peopleList: byId('people-list'),
  peopleSearch: byId('people-search'),
  peopleSearchInput: /** @type {HTMLInputElement} */ (byId('people-search-input')),
  peopleSearchHint: byId('people-search-hint'),
  peopleSearchStatus: byId('people-search-status'),
  offlineBox: byId('offline'),
  offlineList: byId('offline-list'),
  peopleClose: byId('people-close'),
  peopleBackdrop: byId('people-backdrop'),
  meLine: byId('me-line'),
  meName: byId('me-name'),
  renameOpen: byId('rename-open'),
  renameForm: /** @type {HTMLFormElement} */ (byId('rename-form')),
  renameInput: /** @type {HTMLInputElement} */ (byId('rename-input')),
  renameError: byId('rename-error'),
  renameCancel: byId('rename-cancel'),
  moveOpen: byId('move-open'),
  moveBox: byId('move-box'),
  moveCode: byId('move-code'),
  moveExpiry: byId('move-expiry'),
  roomDialog: /** @type {HTMLDialogElement} */ (byId('room-dialog')),
  publicList: byId('public-list'),
  publicEmpty: byId('public-empty'),
  createForm: /** @type {HTMLFormElement} */ (byId('create-form')),
  createName: /** @type {HTMLInputElement} */ (byId('create-name')),
  createPrivate: /** @type {HTMLInputElement} */ (byId('create-private')),
  createError: byId('create-error'),
  inviteDialog: /** @type {HTMLDialogElement} */ (byId('invite-dialog')),
  inviteTitle: byId('invite-title'),
  inviteForm: /** @type {HTMLFormElement} */ (byId('invite-form')),
  inviteName: /** @type {HTMLInputElement} */ (byId('invite-name')),
  inviteStatus: byId('invite-status'),
  linkMake: byId('link-make'),
  linkBox: byId('link-box'),
  linkInput: /** @type {HTMLInputElement} */ (byId('link-input')),
  linkCopy: byId('link-copy'),
  linkStatus: byId('link-status'),
  announcer: byId('announcer'),
  dropOverlay: byId('drop-overlay'),
  dropText: byId('drop-text'),
  tray: byId('tray'),
  trayList: byId('tray-list'),
  attachError: byId('attach-error'),
  attach: byId('attach'),
  camera: byId('camera'),
  fileInput: /** @type {HTMLInputElement} */ (byId('file-input')),
  cameraInput: /** @type {HTMLInputElement} */ (byId('camera-input')),
  lightbox: /** @type {HTMLDialogElement} */ (byId('lightbox')),
  lightboxName: byId('lightbox-name'),
  lightboxDownload: /** @type {HTMLAnchorElement} */ (byId('lightbox-download')),
  lightboxImage: /** @type {HTMLImageElement} */ (byId('lightbox-image')),
};

/** Below this width the people panel is a drawer (see css/layout.css). */
export const peopleDrawer = window.matchMedia('(max-width: 1000px)');
/** oklch hues for names and avatars: blue, violet, pink, red, orange, green, teal, cyan. */
const NAME_HUES = [255, 295, 350, 25, 55, 145, 185, 215];
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'")\]}]+$/;

/** Sets an element's text, only if it differs (so a render twice changes nothing). @param {HTMLElement} element @param {string} text */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Makes `list` show one row per key, in order, reusing the rows of the last
 * render: a row that stays keeps its place in the page, and its focus.
 * @param {HTMLElement} list
 * @param {string[]} keys
 * @param {(key: string) => HTMLElement} make builds a new row
 * @param {(row: HTMLElement, key: string) => void} [fill] brings a row up to date
 */
export function renderList(list, keys, make, fill) {
  const before = listRows.get(list) || new Map();
  const rows = new Map();
  let cursor = list.firstElementChild;
  for (const key of keys) {
    const row = before.get(key) || make(key);
    if (fill) fill(row, key);
    rows.set(key, row);
    if (row === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(row, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
  listRows.set(list, rows);
}
/** The rows each list showed last, by key. @type {WeakMap<HTMLElement, Map<string, HTMLElement>>} */
const listRows = new WeakMap();

/** @param {string} path an SVG path, drawn in the text colour */
export function svgIcon(path) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('focusable', 'false');
  const shape = document.createElementNS(ns, 'path');
  shape.setAttribute('fill', 'currentColor');
  shape.setAttribute('d', path);
  svg.append(shape);
  return svg;
}

/** `#` for a public room, a padlock for a private one. @param {string} kind */
export function roomIcon(kind) {
  const icon = document.createElement('span');
  icon.className = 'room-icon';
  icon.setAttribute('aria-hidden', 'true');
  if (kind === 'private') {
    icon.append(svgIcon('M17 9h-1V7a4 4 0 0 0-8 0v2H7a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2Zm-7-2a2 2 0 0 1 4 0v2h-4Z'));
  } else {
    icon.textContent = '#';
  }
  return icon;
}

/** Text for screen readers only. @param {string} text */
export function hiddenText(text) {
  const span = document.createElement('span');
  span.className = 'visually-hidden';
  span.textContent = text;
  return span;
}

/** @param {number} timestamp */
export function timeElement(timestamp) {
  const date = new Date(timestamp);
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.title = formatFull(date);
  time.textContent = formatTime(date);
  return time;
}

/**
 * Appends `text` to `parent` as text nodes, with http(s) URLs as links.
 * @param {HTMLElement} parent
 * @param {string} text
 */
export function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    const raw = match[0].replace(TRAILING_PUNCTUATION, '');
    const link = safeLink(raw);
    if (!link) continue;
    parent.append(text.slice(last, start), link);
    last = start + raw.length;
  }
  parent.append(text.slice(last));
}

/** @param {string} raw @returns {HTMLAnchorElement | null} */
function safeLink(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const link = document.createElement('a');
  link.href = url.href;
  link.textContent = raw;
  link.target = '_blank';
  link.rel = 'noopener noreferrer nofollow';
  return link;
}

/** Whether a message under `username` is ours (any name we had in this tab). @param {string} username */
export function isOwnName(username) {
  return username === state.name || state.myNames.has(username);
}

/** A stable colour for a name, from a palette that reads well. @param {string} name */
export function nameHue(name) {
  let hash = 2166136261; // FNV-1a
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619) >>> 0;
  return NAME_HUES[hash % NAME_HUES.length];
}

/** @param {string} name */
export function initial(name) {
  return ([...name.trim()][0] || '?').toUpperCase();
}

/** Whether `host` is this machine only (a link to it is no use to others). @param {string} host */
export function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}
