// The top of the page: the connection (state, countdown, "Retry now", and
// why it ended, in plain words), the drawers' buttons, the room's head, the
// composer's placeholder and the screen-reader announcer. (The tab's title
// and icon: badges.js.)

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { t } from '../i18n.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { badgeOf } from '../badges.js';
import { onlineCount } from '../people.js';
import { els, roomIcon, setText } from '../dom.js';

/** Where the composer's buttons leave room for a short placeholder only. */
const narrow = window.matchMedia('(max-width: 420px)');
/** What a screen reader hears when the connection changes, by catalog key. */
const CONNECTION_WORDS = {
  connected: 'connection.said_connected',
  waiting: 'connection.said_waiting',
  refused: 'connection.said_refused',
};

/** The language the live line last spoke, so a change of language says it again. */
let spokenState = '';

export function renderHeader() {
  renderConnection();
  renderDrawers();
  renderRoomHead();
  setText(els.announcer, state.announcement ? t(state.announcement) : '');
}

function renderConnection() {
  const { connection } = state;
  let text = t('connection.connecting');
  if (connection === 'connected') {
    text = t('connection.connected');
  } else if (connection === 'waiting') {
    const seconds = Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000));
    text = t(navigator.onLine ? 'connection.retry_in' : 'connection.offline_retry_in', { count: seconds });
  } else if (connection === 'connecting' && state.attempt > 0) {
    text = t('connection.reconnecting');
  } else if (connection === 'refused') {
    text = t('connection.not_connected');
  }
  setText(els.connText, text);
  const spoken = `${connection}\n${t('connection.said_connected')}`;
  if (spokenState !== spoken) {
    spokenState = spoken;
    els.connDot.dataset.state = connection;
    const key = CONNECTION_WORDS[/** @type {keyof CONNECTION_WORDS} */ (connection)];
    setText(els.connLive, key ? t(key) : '');
  }
  els.retryNow.hidden = connection !== 'waiting';
  // While disconnected the list of who is online may be out of date.
  els.people.classList.toggle('stale', connection !== 'connected');
  const banner = closeBanner();
  els.connBanner.hidden = banner === '';
  setText(els.connBanner, banner);
}

/** Why the connection ended and what the page does about it; '' while connected. */
function closeBanner() {
  const why = state.lastClose;
  if (!why || state.connection === 'connected' || state.connection === 'refused') return '';
  // Nothing known yet: say so, rather than that a connection was lost.
  if (!state.reached && !why.policy) return t('offline.unreached');
  const words = t(why.words);
  if (state.connection === 'connecting') return t('close.then_reconnecting', { why: words });
  if (why.policy) return t('close.then_wait', { why: words });
  return t('close.then_reconnect', { why: words });
}

/** The drawers of narrow screens: the rooms on the left, the people on the right. */
function renderDrawers() {
  const sidebar = state.drawer === 'sidebar';
  const people = state.drawer === 'people';
  els.app.classList.toggle('sidebar-open', sidebar);
  els.app.classList.toggle('people-open', people);
  els.roomsToggle.setAttribute('aria-expanded', String(sidebar));
  els.peopleToggle.setAttribute('aria-expanded', String(people));
  els.sidebarBackdrop.hidden = !sidebar;
  els.peopleBackdrop.hidden = !people;
  // On phones the sidebar hides behind a button: its badge counts the rest.
  const elsewhere = [...state.rooms.values()].filter((room) => room.name !== state.active)
    .reduce((sum, room) => sum + badgeOf(room), 0) + state.invitations.size;
  els.roomsToggleBadge.hidden = elsewhere === 0;
  setText(els.roomsToggleBadge, elsewhere > 99 ? '99+' : String(elsewhere));
  els.roomsToggle.setAttribute('aria-label', elsewhere > 0
    ? t('sidebar.label_unread', { count: elsewhere }) : t('sidebar.label'));
}

/** The bar above the messages: which room, what kind, and its actions. */
function renderRoomHead() {
  const room = activeRoom();
  const dm = room.kind === 'dm';
  const icon = dm ? '@' : room.kind;
  if (els.roomIcon.dataset.icon !== icon) {
    els.roomIcon.dataset.icon = icon;
    els.roomIcon.replaceChildren(dm ? '@' : roomIcon(room.kind));
  }
  setText(els.roomName, roomLabel(room));
  const online = onlineCount();
  let info = online > 0 ? t('room.lobby_info_online', { count: online }) : t('room.lobby_info');
  if (dm) info = t('room.direct_info');
  else if (room.kind === 'private') info = t('room.private_info', { count: room.members.length });
  else if (room.name !== LOBBY) info = t('room.public_info', { count: room.members.length });
  setText(els.roomInfo, info);
  const own = room.name !== LOBBY && !dm;
  els.roomInvite.hidden = !own;
  els.roomLeave.hidden = !own;
  els.chat.setAttribute('aria-label', dm ? t('room.direct_label', { name: room.peer }) : `#${roomLabel(room)}`);
  const target = dm ? room.peer : `#${roomLabel(room)}`;
  // A long name would wrap the placeholder on a phone; a phone's composer is narrow anyway.
  const placeholder = narrow.matches ? t('composer.placeholder_short')
    : target.length > 14 ? t('composer.placeholder') : t('composer.placeholder_to', { target });
  if (els.input.placeholder !== placeholder) els.input.placeholder = placeholder;
  els.input.maxLength = state.limits.message_chars;
  document.body.dataset.room = room.name;
}
