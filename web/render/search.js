// The search panel: the results, each with its room, author, time and
// snippet (the matched parts marked, built as text from the server's runs,
// never as HTML), how many there are, "More results", and errors in plain
// words. Also the date form's label, naming the room it jumps in.

import { state } from '../state.js';
import { currentLanguage, t } from '../i18n.js';
import { dayLabel, formatTime } from '../format.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { renderList, setText, timeElement } from '../dom.js';
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
  setText(dateLabel, room.kind === 'dm' ? t('jump.date_direct', { name: room.peer }) : t('jump.date_room', { room: `#${roomLabel(room)}` }));
  const today = new Date();
  const max = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  if (dateInput.max !== max) dateInput.max = max;
  const language = currentLanguage();
  const byKey = new Map(search.results.map((result) => [`${result.room}\n${result.seq}\n${language}`, result]));
  renderList(list, [...byKey.keys()], (key) => resultItem(/** @type {any} */ (byKey.get(key))));
  setText(status, statusText());
  status.classList.toggle('error', search.error !== null);
  more.hidden = search.next === '' || search.error !== null;
  more.disabled = search.sent !== '';
  setText(more, search.sent && search.more ? t('search.loading_more') : t('search.more'));
}

function statusText() {
  if (search.error) return t(search.error);
  if (search.sent && !search.more) return t('search.searching');
  if (!search.done) return '';
  const { total, results } = search;
  if (total === 0) return t('search.nothing', { query: search.query });
  if (total >= 1000) {
    return results.length < total ? t('search.count_many_some', { count: 1000, shown: results.length })
      : t('search.count_many', { count: 1000 });
  }
  return results.length < total ? t('search.count_some', { count: total, shown: results.length })
    : t('search.count', { count: total });
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
  const author = document.createElement('bdi');
  author.className = 'result-author';
  author.textContent = result.username;
  const when = timeElement(result.timestamp);
  when.textContent = t('search.when', { day: dayLabel(result.timestamp), time: formatTime(result.timestamp) });
  meta.append(where, ' ', author, ' ', when);
  const snippet = document.createElement('span');
  snippet.className = 'result-snippet';
  snippet.dir = 'auto';
  // A message of files alone: the server's snippet is of its English
  // description ("shared photo.jpg (2.1 MB)"); the page says it itself.
  const snippetParts = result.generated ? [] : result.snippet;
  for (const part of snippetParts) {
    if (part.match) {
      const mark = document.createElement('mark');
      mark.textContent = part.text;
      snippet.append(mark);
    } else {
      snippet.append(part.text);
    }
  }
  if (snippetParts.length === 0) {
    const files = result.files || [];
    snippet.textContent = result.generated
      ? t('search.shared_files', { count: files.length, names: files.map((file) => file.name).join(', ') })
      : result.message;
  }
  button.append(meta, snippet);
  item.append(button);
  return item;
}
