// Above the composer: the message it answers (a quote, with a button that
// cancels the reply) or that it edits (with Cancel), and the suggestions
// for `@names` and `:shortcodes:` while they are typed.

import { state } from '../state.js';
import { currentLanguage, t } from '../i18n.js';
import { activeRoom } from '../rooms.js';
import { findMessage } from '../changes.js';
import { replyingTo } from '../composer/context.js';
import { renderSuggestions } from '../composer/autocomplete.js';
import { els, setText } from '../dom.js';
import { quoteButton } from './message.js';

export function renderComposer() {
  const { mode, room, seq } = state.composing;
  const here = room === state.active;
  const reply = replyingTo();
  const editing = mode === 'edit' && here;
  els.composerContext.hidden = !reply && !editing;
  els.composer.classList.toggle('editing', editing);
  const shown = JSON.stringify([mode, room, seq, findMessage(activeRoom(), seq)?.frame.version, currentLanguage()]);
  if (els.composerContext.dataset.shown !== shown) {
    els.composerContext.dataset.shown = shown;
    const original = findMessage(activeRoom(), reply || seq)?.frame;
    if (reply) {
      setText(els.composerContextLabel, original ? t('composer.replying_to', { name: original.username }) : t('composer.replying'));
      els.composerContextQuote.replaceChildren(quoteButton(reply, original));
    } else if (editing) {
      setText(els.composerContextLabel, t('composer.editing'));
      els.composerContextQuote.replaceChildren();
    }
  }
  els.composerCancel.setAttribute('aria-label', editing ? t('composer.cancel_edit') : t('composer.cancel_reply'));
  renderSuggestions();
}
