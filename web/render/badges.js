// The tab's title and icon: "(3) lanchat" for unread mentions and direct
// messages (muted rooms left out), "2 new · lanchat" for other messages that
// came while the tab was hidden, and the icon with a red count for the
// first or a dot for the second. The icon is drawn on a canvas and set as a
// data: URL (the CSP allows data: images); the link says what it shows in
// `data-badge`.

import { state } from '../state.js';
import { t } from '../i18n.js';
import { anyUnread, mentionCount } from '../badges.js';

const ICON_URL = 'favicon.svg';
/** Drawn at this size; browsers scale it down to 16 or 32 px. */
const SIZE = 64;

const link = /** @type {HTMLLinkElement} */ (document.querySelector('link[rel="icon"]'));
const logo = new Image();
logo.src = ICON_URL;
logo.addEventListener('load', () => {
  // Drawn with the logo once it loaded.
  link.dataset.badge = '';
  renderBadges();
});

export function renderBadges() {
  const mentions = mentionCount();
  const plain = state.unread;
  const app = 'lanchat';
  let title = app;
  if (mentions > 0 && plain > 0) title = t('title.mentions_and_new', { app, mentions, count: plain });
  else if (mentions > 0) title = t('title.mentions', { app, count: mentions });
  else if (plain > 0) title = t('title.new', { app, count: plain });
  if (document.title !== title) document.title = title;
  const badge = mentions > 0 ? (mentions > 99 ? '99+' : String(mentions)) : anyUnread() ? 'dot' : '';
  drawIcon(badge);
}

/** @param {string} badge a count, 'dot', or '' for the plain icon */
function drawIcon(badge) {
  if (link.dataset.badge === badge) return;
  if (badge === '') {
    link.dataset.badge = '';
    link.type = 'image/svg+xml';
    link.href = ICON_URL;
    return;
  }
  if (!logo.complete || logo.naturalWidth === 0) return;
  const canvas = document.createElement('canvas');
  canvas.width = SIZE;
  canvas.height = SIZE;
  const context = canvas.getContext('2d');
  if (!context) return;
  context.drawImage(logo, 0, 0, SIZE, SIZE);
  const dot = badge === 'dot';
  const radius = dot ? 13 : 22;
  const x = SIZE - radius - 1;
  const y = radius + 1;
  // A white ring keeps the badge apart from the logo at 16 px.
  context.beginPath();
  context.arc(x, y, radius + 3, 0, 2 * Math.PI);
  context.fillStyle = '#fff';
  context.fill();
  context.beginPath();
  context.arc(x, y, radius, 0, 2 * Math.PI);
  context.fillStyle = dot ? '#3d6fb0' : '#c62828';
  context.fill();
  if (!dot) {
    context.fillStyle = '#fff';
    context.font = `bold ${badge.length > 2 ? 20 : badge.length > 1 ? 26 : 32}px sans-serif`;
    context.textAlign = 'center';
    context.textBaseline = 'middle';
    context.fillText(badge, x, y + 2);
  }
  link.type = 'image/png';
  link.href = canvas.toDataURL('image/png');
  link.dataset.badge = badge;
}
