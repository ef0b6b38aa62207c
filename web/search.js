// Searching messages: what was asked, the matches so far and where the next
// page starts, and what went wrong, in plain words. The search panel is a
// dialog (Ctrl+K or Cmd+K, or "/" when not typing); a result opens its
// room at the message (jump.js). The server searches what we can read now
// (see its query language in the README) and answers with `search_results`,
// or an `error` frame: a query it cannot take, or too many at once.

import { changed, state } from './state.js';
import { phrase } from './i18n.js';
import { refusalPhrase } from './errors.js';
import { isReady, send } from './connection.js';
import { jumpTo } from './jump.js';
import { afterRender } from './render/index.js';

/** Results asked for per page. */
const PAGE = 20;
/** A refusal that says "too fast" without saying how long to wait: wait this. */
const RETRY_MS = 1000;

/**
 * The search panel: `sent` is the query of the answer we wait for ('' when
 * none is out), `more` whether that is a next page.
 * @type {{open: boolean, query: string, sent: string, more: boolean,
 *   results: import('./protocol.js').SearchResult[], total: number, next: string,
 *   error: import('./i18n.js').Phrase | null, done: boolean}}
 */
export const search = {
  open: false,
  query: '',
  sent: '',
  more: false,
  results: [],
  total: 0,
  next: '',
  error: null,
  done: false,
};

/** @type {number | undefined} */
let retryTimer;

const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('search-dialog'));
const form = /** @type {HTMLFormElement} */ (document.getElementById('search-form'));
const input = /** @type {HTMLInputElement} */ (document.getElementById('search-input'));
const list = /** @type {HTMLElement} */ (document.getElementById('search-results'));
const more = /** @type {HTMLButtonElement} */ (document.getElementById('search-more'));
const opener = /** @type {HTMLButtonElement} */ (document.getElementById('search-open'));

/** Sends the query in the field, from the first page. @param {string} query */
export function runSearch(query) {
  search.query = query.trim();
  search.results = [];
  search.total = 0;
  search.next = '';
  search.error = null;
  search.done = false;
  if (search.query === '') {
    search.sent = '';
    changed('search');
    return;
  }
  ask(false);
}

/** The next page of the search shown. */
export function moreResults() {
  if (!search.next || search.sent) return;
  ask(true);
}

/** @param {boolean} next */
function ask(next) {
  clearTimeout(retryTimer);
  search.more = next;
  if (!isReady()) {
    search.sent = '';
    search.error = phrase('search.offline');
    changed('search');
    return;
  }
  search.sent = search.query;
  search.error = null;
  send({
    type: 'search',
    query: search.query,
    limit: PAGE,
    // Dates in the query are days where the searcher is.
    offset: -new Date().getTimezoneOffset(),
    ...(next ? { before: search.next } : {}),
  });
  changed('search');
}

/** @param {import('./protocol.js').SearchResultsFrame} frame */
export function applyResults(frame) {
  // An answer to a query since replaced.
  if (frame.query !== search.sent) return;
  const seen = new Set(search.results.map((result) => `${result.room}\n${result.seq}`));
  const fresh = frame.results.filter((result) => !seen.has(`${result.room}\n${result.seq}`));
  search.results = search.more ? [...search.results, ...fresh] : frame.results;
  search.total = frame.total;
  search.next = frame.next || '';
  search.sent = '';
  search.done = true;
  changed('search');
}

/**
 * An `error` while a search is out is the search's: said in the panel.
 * `rate_limited` is "later", so it goes again by itself.
 * @param {import('./protocol.js').ErrorFrame} frame
 * @returns {boolean} whether it was
 */
export function searchRefused(frame) {
  if (!search.sent || frame.cid || frame.room) return false;
  const { more: next } = search;
  search.sent = '';
  if (frame.code === 'rate_limited') {
    search.error = phrase('search.too_fast');
    retryTimer = setTimeout(() => ask(next), frame.retry_after_ms || RETRY_MS);
  } else if (frame.code === 'bad_request') {
    search.error = refusalPhrase(frame);
  } else {
    search.error = phrase('search.failed', { why: refusalPhrase(frame) });
  }
  changed('search');
  return true;
}

/** The connection ended: an answer will not come. */
export function searchDisconnected() {
  if (!search.sent) return;
  search.sent = '';
  search.error = phrase('search.lost');
  changed('search');
}

export function openSearch() {
  if (state.screen !== 'app') return;
  if (!dialog.open) dialog.showModal();
  search.open = true;
  changed('search');
  input.focus();
  input.select();
}

/** Opens the result's room at its message. @param {string} room @param {number} seq */
function openResult(room, seq) {
  dialog.close();
  jumpTo(room, seq);
}

/** Whether a key press is typing into something (so "/" is a character there). @param {EventTarget | null} target */
function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

export function setUpSearch() {
  opener.addEventListener('click', openSearch);
  document.addEventListener('keydown', (event) => {
    const combo = (event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'k';
    const slash = event.key === '/' && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target);
    if (!combo && !slash) return;
    // Not over another dialog (the rooms, an invitation, the lightbox…).
    const other = [...document.querySelectorAll('dialog[open]')].some((open) => open !== dialog);
    if (state.screen !== 'app' || other) return;
    event.preventDefault();
    openSearch();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch(input.value);
  });
  more.addEventListener('click', moreResults);
  list.addEventListener('click', (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest('button[data-seq]');
    if (!(button instanceof HTMLElement)) return;
    openResult(button.dataset.room || '', Number(button.dataset.seq));
  });
  dialog.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target === dialog || target.closest('[data-close]')) dialog.close();
  });
  dialog.addEventListener('close', () => {
    search.open = false;
    changed('search');
    // Back to where the person was, unless a result moved them on.
    afterRender(() => {
      if (document.activeElement === document.body) opener.focus();
    });
  });
}
