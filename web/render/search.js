// The search panel: the results, each with its room, author, time and
// snippet (the matched parts marked, built as text from the server's runs,
// never as HTML), how many there are, "More results", and errors in plain
// words. Also the date form's label, naming the room it jumps in.

import { state } from '../state.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { dayLabel, renderList, setText, timeElement } from '../dom.js';
import { search } from '../search.js';

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const list = byId('search-results');
const status = byId('search-status');
const more = /** @type {HTMLButtonElement} */ (byId('search-more'));
const dateLabel = byId('date-label');
const dateInput = /** @type {HTMLInputElement} */ (byId('date-input'));

export function renderSearch() {
  const room = activeRoom();
  setText(dateLabel, room.kind === 'dm' ? `Day in your messages with ${room.peer}` : `Day in #${roomLabel(room)}`);
  const today = new Date();
  const max = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  if (dateInput.max !== max) dateInput.max = max;
  const byKey = new Map(search.results.map((result) => [`${result.room}\n${result.seq}`, result]));
  renderList(list, [...byKey.keys()], (key) => resultItem(/** @type {any} */ (byKey.get(key))));
  setText(status, statusText());
  status.classList.toggle('error', search.error !== '');
  more.hidden = search.next === '' || search.error !== '';
  more.disabled = search.sent !== '';
  setText(more, search.sent && search.more ? 'Loading more…' : 'More results');
}

function statusText() {
  if (search.error) return search.error;
  if (search.sent && !search.more) return 'Searching…';
  if (!search.done) return '';
  const { total, results } = search;
  if (total === 0) return `Nothing matches "${search.query}".`;
  const counted = total >= 10000 ? 'More than 10,000 messages match' : `${total.toLocaleString()} ${total === 1 ? 'message matches' : 'messages match'}`;
  return results.length < total ? `${counted}; the newest ${results.length} are shown.` : `${counted}.`;
}

/** Where a result was said. @param {string} name */
function whereLabel(name) {
  const room = state.rooms.get(name);
  if (!room) return `#${name}`;
  return room.kind === 'dm' ? `@${room.peer}` : `#${roomLabel(room)}`;
}

/** @param {import('../protocol.js').SearchResult} result */
function resultItem(result) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'search-result';
  button.dataset.room = result.room;
  button.dataset.seq = String(result.seq);
  const meta = document.createElement('span');
  meta.className = 'result-meta';
  const where = document.createElement('span');
  where.className = 'result-room';
  where.textContent = whereLabel(result.room);
  const author = document.createElement('span');
  author.className = 'result-author';
  author.textContent = result.username;
  const when = timeElement(result.timestamp);
  when.textContent = `${dayLabel(result.timestamp)}, ${when.textContent}`;
  meta.append(where, ' ', author, ' ', when);
  const snippet = document.createElement('span');
  snippet.className = 'result-snippet';
  for (const part of result.snippet) {
    if (part.match) {
      const mark = document.createElement('mark');
      mark.textContent = part.text;
      snippet.append(mark);
    } else {
      snippet.append(part.text);
    }
  }
  if (result.snippet.length === 0) snippet.textContent = result.generated ? 'shared a file' : result.message;
  button.append(meta, snippet);
  item.append(button);
  return item;
}
