// When the page is drawn: every change to the store asks for a render, and
// the renderers run at most once per animation frame, all of them, from the
// state alone (each is safe to run twice). Hidden tabs get no animation
// frames, so a timer stands in for one there (the title still counts). A
// change of language draws everything again, in the new words.

import { changed, onChange } from '../state.js';
import { renderHeader } from './header.js';
import { renderSidebar } from './sidebar.js';
import { renderPeople } from './people.js';
import { renderTimeline } from './timeline.js';
import { renderDialogs } from './dialogs.js';
import { renderUploads } from './uploads.js';
import { renderSearch } from './search.js';
import { renderNotify } from './notify.js';
import { renderBadges } from './badges.js';
import { renderJump } from './jump.js';
import { renderComposer } from './composer.js';
import { renderPicker } from '../picker.js';
import { renderLanguage } from './language.js';
import { renderTrustHint } from './trust_hint.js';
import { renderCall } from './call.js';
import { renderHost } from './host.js';

/** How long a render waits for an animation frame before it runs anyway. */
const FRAME_FALLBACK_MS = 100;

/** In page order: the timeline measures the layout the others leave. */
const renderers = [
  renderLanguage, renderDialogs, renderHeader, renderSidebar, renderPeople, renderUploads, renderSearch, renderNotify,
  renderBadges, renderJump, renderComposer, renderPicker, renderTrustHint, renderHost, renderCall,
  renderTimeline,
];
/** @type {(() => void)[]} run after every render (checks that read the drawn page) */
const everyRender = [];
/** @type {(() => void)[]} run once, after the next render */
let nextRender = [];
let scheduled = false;
let frame = 0;
/** @type {number | undefined} */
let timer;

export function requestRender() {
  if (scheduled) return;
  scheduled = true;
  frame = requestAnimationFrame(flush);
  timer = setTimeout(flush, FRAME_FALLBACK_MS);
}

function flush() {
  cancelAnimationFrame(frame);
  clearTimeout(timer);
  scheduled = false;
  for (const render of renderers) render();
  const once = nextRender;
  nextRender = [];
  for (const hook of [...everyRender, ...once]) hook();
}

/** Runs `hook` once the page shows the state as it is now. @param {() => void} hook */
export function afterRender(hook) {
  nextRender.push(hook);
  requestRender();
}

/** Runs `hook` after every render. @param {() => void} hook */
export function onRendered(hook) {
  everyRender.push(hook);
}

/** Resolves after the next render: for tests that feed the page a frame. */
export function rendered() {
  return new Promise((resolve) => afterRender(() => resolve(undefined)));
}

onChange(requestRender);
window.addEventListener('lanchat:language', () => changed('language'));
