// The people panel: who is online (in the lobby everyone, or past the roster
// limit whom the search found; in a room its members, online first), then
// "You are …" with renaming and moving the name to another device.

import { LOBBY, WHO_LIMIT } from '../protocol.js';
import { state } from '../state.js';
import { currentLanguage, t, tNodes } from '../i18n.js';
import { formatCount, formatTime } from '../format.js';
import { activeRoom } from '../rooms.js';
import { onlineCount, searchPrefix, searchResults } from '../people.js';
import { els, hiddenText, initial, nameHue, renderList, setText, svgIcon } from '../dom.js';

export function renderPeople() {
  const room = activeRoom();
  const online = new Set(state.users);
  const everyone = room.name === LOBBY;
  const searching = everyone && !state.complete;
  const names = everyone ? [...state.users] : room.members.slice();
  if (!everyone && state.me && !names.includes(state.me)) names.push(state.me);
  const order = (a, b) => {
    if (a === state.me) return -1;
    if (b === state.me) return 1;
    return a.localeCompare(b);
  };
  let here = names.filter((name) => everyone || online.has(name)).sort(order);
  const away = everyone ? [] : names.filter((name) => !online.has(name)).sort(order);
  if (searching) here = searchResults();
  // Keyed by how the row looks (and in which language), so an unchanged row (and its focus) stays.
  const language = currentLanguage();
  const mode = (name) => (name === state.me ? 'me' : state.claimed ? 'dm' : 'plain');
  const keys = (list) => list.map((name) => `${mode(name)}:${language}:${name}`);
  const person = (isOnline) => (key) => personItem(key.slice(key.indexOf(':', key.indexOf(':') + 1) + 1), isOnline);
  renderList(els.peopleList, keys(here), person(true));
  renderList(els.offlineList, keys(away), person(false));
  els.offlineBox.hidden = away.length === 0;
  setText(els.peopleHeading, everyone ? t('people.online') : t('people.online_here'));
  const count = formatCount(everyone ? onlineCount() : here.length);
  setText(els.peopleCount, count);
  setText(els.peopleToggleCount, count);
  // Before the server is reached, how many are online is not known: not 0.
  els.peopleCount.hidden = !state.reached;
  els.peopleToggleCount.hidden = !state.reached;
  renderSearch(searching, here.length);
  renderMe();
}

/**
 * The search field and what it found, past the roster limit.
 * @param {boolean} searching
 * @param {number} shown names listed
 */
function renderSearch(searching, shown) {
  els.peopleSearch.hidden = !searching;
  if (els.peopleSearchInput.value !== state.who.query) els.peopleSearchInput.value = state.who.query;
  let status = '';
  if (searching) {
    const prefix = searchPrefix();
    const answered = state.who.prefix !== null &&
      state.who.prefix.toLowerCase() === prefix.toLowerCase();
    if (shown === 0 && !answered) status = t('people.searching');
    else if (shown === 0 && prefix) status = t('people.no_match', { prefix });
    else if (shown === 0) status = t('people.nobody_else');
    else if (answered && state.who.results.length >= WHO_LIMIT) {
      status = t('people.first_shown', { count: WHO_LIMIT });
    }
    setText(els.peopleSearchHint, t('people.too_many', { count: onlineCount() }));
  }
  // A live region: it stays in the page, empty when there is nothing to say.
  setText(els.peopleSearchStatus, status);
}

/** "You are …", the rename form and the transfer code. */
function renderMe() {
  const { forms } = state;
  setText(els.meName, state.me || state.name);
  const line = `${currentLanguage()}\n${state.me || state.name}`;
  if (els.meLine.dataset.shown !== line) {
    els.meLine.dataset.shown = line;
    els.meLine.replaceChildren(...tNodes('me.you_are', { name: els.meName }));
  }
  els.renameForm.hidden = !forms.renameOpen;
  els.renameOpen.hidden = forms.renameOpen;
  setText(els.renameError, forms.renameError ? t(forms.renameError) : '');
  if (forms.renameError) els.renameInput.setAttribute('aria-invalid', 'true');
  else els.renameInput.removeAttribute('aria-invalid');
  els.moveBox.hidden = forms.move === null;
  setText(els.moveCode, forms.move ? forms.move.code : '');
  setText(els.moveExpiry, forms.move
    ? t('me.move_valid', { time: formatTime(forms.move.expires) }) : '');
}

/** @param {string} user @param {boolean} online */
function personItem(user, online) {
  const item = document.createElement('li');
  item.style.setProperty('--hue', String(nameHue(user)));
  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  avatar.classList.toggle('offline', !online);
  avatar.setAttribute('aria-hidden', 'true');
  avatar.textContent = initial(user);
  const name = document.createElement('span');
  name.className = 'person';
  name.dir = 'auto';
  name.textContent = user;
  if (user === state.me || !state.claimed) {
    item.append(avatar, name);
    if (user === state.me) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = t('people.you');
      item.append(' ', you);
    }
    return item;
  }
  // Anyone else: a button that opens a direct message.
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'person-button';
  button.dataset.dm = user;
  button.title = t('people.write_to', { name: user });
  button.append(avatar, name, hiddenText(`: ${t('people.send_direct')}`));
  const hint = document.createElement('span');
  hint.className = 'dm-hint';
  hint.setAttribute('aria-hidden', 'true');
  hint.append(svgIcon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2Z'));
  button.append(hint);
  item.append(button);
  return item;
}
