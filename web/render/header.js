// The top of the page: the connection (state, countdown, "Retry now", and
// why it ended, in plain words), the drawers' buttons, the room's head, the
// composer's placeholder and the screen-reader announcer. (The tab's title
// and icon: badges.js.)

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { badgeOf } from '../badges.js';
import { onlineCount } from '../people.js';
import { els, plural, roomIcon, setText } from '../dom.js';

/** Where the composer's buttons leave room for a short placeholder only. */
const narrow = window.matchMedia('(max-width: 420px)');
/** What a screen reader hears when the connection changes. */
const CONNECTION_WORDS = {
  connected: 'Connected.',
  waiting: 'Connection lost. Reconnecting.',
  refused: 'Not connected.',
};

export function renderHeader() {
  renderConnection();
  renderDrawers();
  renderRoomHead();
  setText(els.announcer, state.announcement);
}

function renderConnection() {
  const { connection } = state;
  let text = 'Connecting…';
  if (connection === 'connected') {
    text = 'Connected';
  } else if (connection === 'waiting') {
    const seconds = Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000));
    text = navigator.onLine ? `Reconnecting in ${seconds} s` : `Offline · retrying in ${seconds} s`;
  } else if (connection === 'connecting' && state.attempt > 0) {
    text = 'Reconnecting…';
  } else if (connection === 'refused') {
    text = 'Not connected';
  }
  setText(els.connText, text);
  if (els.connDot.dataset.state !== connection) {
    els.connDot.dataset.state = connection;
    setText(els.connLive, CONNECTION_WORDS[connection] || '');
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
  if (state.connection === 'connecting') return `${why.words} Reconnecting…`;
  if (why.policy) {
    return `${why.words} lanchat waits a minute before it tries again, so that it is not ` +
      'closed again at once. Press "Retry now" to try sooner.';
  }
  return `${why.words} lanchat reconnects by itself and then sends what you wrote meanwhile.`;
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
    ? `Rooms and direct messages, ${elsewhere} unread` : 'Rooms and direct messages');
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
  let info = online > 0 ? `Everyone on this network · ${online.toLocaleString()} online`
    : 'Everyone on this network';
  if (dm) info = 'Direct message · only the two of you can read it';
  else if (room.kind === 'private') info = `Private room · ${plural(room.members.length, 'member')}, by invitation`;
  else if (room.name !== LOBBY) info = `Public room · ${plural(room.members.length, 'member')}`;
  setText(els.roomInfo, info);
  const own = room.name !== LOBBY && !dm;
  els.roomInvite.hidden = !own;
  els.roomLeave.hidden = !own;
  els.chat.setAttribute('aria-label', dm ? `Direct messages with ${room.peer}` : `#${roomLabel(room)}`);
  const target = dm ? room.peer : `#${roomLabel(room)}`;
  // A long name would wrap the placeholder on a phone; a phone's composer is narrow anyway.
  els.input.placeholder = narrow.matches ? 'Message…'
    : target.length > 14 ? 'Write a message…' : `Message ${target}…`;
  els.input.maxLength = state.limits.message_chars;
  document.body.dataset.room = room.name;
}
