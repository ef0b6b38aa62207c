// A stored message's row, kept up to date as it changes: its sender and
// time, the quote of the message it answers, its text (the server's HTML,
// large when it is only emoji, "edited", a tombstone once deleted, our
// mentions marked), the files it shares, its reactions, what our changes
// to it wait for (or why they were refused), and its action bar. Each part
// is rebuilt only when what it shows changed, and keeps the keyboard focus.

import { state } from '../state.js';
import { t } from '../i18n.js';
import { formatList, formatRelative } from '../format.js';
import { canDelete, canEdit, mentionsMe, pendingChanges, shownReactions } from '../changes.js';
import { emojiName, loadEmoji } from '../emoji.js';
import { appendLinkified, hiddenText, nameHue, timeElement } from '../dom.js';
import { setServerHtml } from './html.js';
import { attachmentList } from './attachments.js';
import { isHost } from '../host/state.js';

/** @typedef {import('../protocol.js').MessageFrame} MessageFrame */
/** @typedef {import('../state.js').Room} Room */
/** @typedef {import('../state.js').OutboxEntry} OutboxEntry */

/** A quote shows this much of the message it answers. */
const QUOTE_CHARS = 120;
/** The one-tap reaction in the action bar. */
export const QUICK_REACTION = '👍';
/** A chip's title names this many who reacted, then counts the others. */
const NAMES_SHOWN = 3;

/**
 * A new, empty row for a stored message; `fillMessage` fills it.
 * @param {MessageFrame} frame
 */
export function messageRowFor(frame) {
  const row = document.createElement('li');
  row.className = 'msg';
  row.dataset.seq = String(frame.seq);
  if (frame.cid) row.dataset.cid = frame.cid;
  row.style.setProperty('--hue', String(nameHue(frame.username)));
  const wrap = document.createElement('div');
  wrap.className = 'bubble-wrap';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const author = document.createElement('bdi');
  author.className = 'author';
  author.textContent = frame.username;
  meta.append(author, ' ');
  // A script's or a device's, posted with a bot's token.
  if (frame.bot) {
    const badge = document.createElement('span');
    badge.className = 'bot-badge';
    badge.textContent = t('host.bots.badge');
    meta.append(badge, ' ');
  }
  meta.append(timeElement(frame.timestamp));
  const quote = slot('quote');
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  bubble.append(slot('files'), slot('body'));
  wrap.append(meta, quote, bubble, slot('reactions'), slot('changes'));
  const actions = slot('actions');
  actions.className = 'actions-slot';
  row.append(wrap, actions);
  return row;
}

/** @param {string} part */
function slot(part) {
  const element = document.createElement('div');
  element.dataset.part = part;
  return element;
}

/**
 * Brings a message's row up to date.
 * @param {HTMLElement} row
 * @param {MessageFrame} frame
 * @param {Room} room
 * @param {(seq: number) => MessageFrame | undefined} lookup the room's messages by seq
 */
export function fillMessage(row, frame, room, lookup) {
  const own = state.myNames.has(frame.username);
  const changes = pendingChanges(room.name, frame.seq);
  row.classList.toggle('deleted', Boolean(frame.deleted));
  row.classList.toggle('mentions-me', mentionsMe(room, frame) && room.kind !== 'dm');
  const original = frame.reply_to ? lookup(frame.reply_to) : undefined;
  update(row, 'quote', frame.reply_to ? [frame.reply_to, original?.version, original?.deleted] : [],
    (part) => fillQuote(part, frame, original));
  // Files go with a deletion; rebuilding them otherwise would reload every picture.
  update(row, 'files', [frame.deleted, (frame.files || []).length], (part) => {
    part.replaceChildren();
    if (!frame.deleted && frame.files?.length) part.append(attachmentList(frame.files));
    part.closest('.bubble')?.classList.toggle('with-files', part.childElementCount > 0);
  });
  // Its text changes only with an edit or a deletion (and a resume brings those too).
  update(row, 'body', [frame.edited, frame.deleted, frame.removed, frame.big, state.me], (part) => fillBody(part, frame));
  const shown = shownReactions(frame, changes);
  update(row, 'reactions', [JSON.stringify(shown), state.me, emojiName('😀') !== ''],
    (part) => fillReactions(part, shown));
  update(row, 'changes', changes.map((entry) => `${entry.kind}:${entry.status}:${JSON.stringify(entry.reason)}`),
    (part) => fillChanges(part, changes));
  const editable = own && canEdit(frame);
  update(row, 'actions', [frame.deleted, own, editable, canDelete(frame), frame.username, isHost()],
    (part) => fillActions(part, frame, editable));
}

/**
 * Rebuilds the part `name` of `row` if `key` changed; a button in it that
 * had the focus gets it back in the new part.
 * @param {HTMLElement} row @param {string} name @param {unknown[]} key
 * @param {(part: HTMLElement) => void} build
 */
function update(row, name, key, build) {
  const part = /** @type {HTMLElement} */ (row.querySelector(`[data-part="${name}"]`));
  const shown = JSON.stringify(key);
  if (part.dataset.shown === shown) return;
  part.dataset.shown = shown;
  const focused = document.activeElement instanceof HTMLElement && part.contains(document.activeElement)
    ? document.activeElement.dataset.focus : undefined;
  build(part);
  if (focused) /** @type {HTMLElement | null} */ (part.querySelector(`[data-focus="${CSS.escape(focused)}"]`))?.focus();
}

/** @param {HTMLElement} part @param {MessageFrame} frame */
function fillBody(part, frame) {
  part.replaceChildren();
  const bubble = part.closest('.bubble');
  bubble?.classList.toggle('big-emoji', Boolean(frame.big) && !frame.deleted);
  bubble?.classList.toggle('tombstone', Boolean(frame.deleted));
  if (frame.deleted) {
    const text = document.createElement('p');
    text.className = 'text';
    text.textContent = frame.removed ? t('host.event.removed_message') : t('message.deleted');
    part.append(text);
    return;
  }
  // With no words of the sender's, the server's description of the files is not shown: the files are.
  if (frame.generated && frame.files?.length) return;
  const text = document.createElement('div');
  text.className = 'text rich';
  // Each message reads in its own direction: Arabic right to left, in any page.
  text.dir = 'auto';
  // No HTML (an older server), HTML we do not take, or markdown that comes
  // out as nothing (a lone fence): the words as written.
  if (!frame.html || !setServerHtml(text, frame.html) || (text.textContent || '').trim() === '') {
    text.classList.remove('rich');
    text.replaceChildren();
    appendLinkified(text, frame.message);
  }
  const me = `@${state.me}`.toLowerCase();
  for (const mention of text.querySelectorAll('.mention')) {
    const said = (mention.textContent || '').toLowerCase();
    if (said === me || said === '@room' || said === '@here') mention.classList.add('me');
  }
  part.append(text);
  if (frame.edited) {
    const edited = document.createElement('span');
    edited.className = 'edited';
    edited.textContent = t('message.edited');
    edited.title = t('message.edited_when', { when: formatRelative(frame.edited) });
    part.append(edited);
  }
}

/**
 * The quote of the message this one answers: who wrote it and how it
 * began, or that it was deleted; a button that jumps to it.
 * @param {HTMLElement} part @param {MessageFrame} frame @param {MessageFrame | undefined} original
 */
function fillQuote(part, frame, original) {
  part.replaceChildren();
  if (!frame.reply_to) return;
  part.append(quoteButton(frame.reply_to, original));
}

/**
 * A quote of `original` (seq `seq`), as a button that jumps to it: in a
 * reply, and above the composer while writing one.
 * @param {number} seq @param {MessageFrame | undefined} original
 */
export function quoteButton(seq, original) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'reply-quote';
  button.dataset.jump = String(seq);
  button.dataset.focus = 'quote';
  const author = document.createElement('bdi');
  author.className = 'quote-author';
  const text = document.createElement('span');
  text.className = 'quote-text';
  text.dir = 'auto';
  if (!original) {
    author.textContent = t('message.reply');
    text.textContent = t('message.reply_unknown');
  } else if (original.deleted) {
    author.textContent = original.username;
    text.textContent = t('message.deleted');
    button.classList.add('gone');
  } else {
    author.textContent = original.username;
    const words = original.generated && original.files?.length
      ? original.files.map((file) => file.name).join(', ') : plainText(original);
    const flat = words.replace(/\s+/g, ' ').trim();
    text.textContent = [...flat].length > QUOTE_CHARS ? `${[...flat].slice(0, QUOTE_CHARS).join('')}…` : flat;
  }
  button.append(hiddenText(`${t('message.in_reply_to')} `), author, ' ', text);
  return button;
}

/**
 * What a message says, without its markdown: the text of the server's HTML,
 * a space between blocks.
 * @param {MessageFrame} message
 */
function plainText(message) {
  const holder = document.createElement('div');
  if (!message.html || !setServerHtml(holder, message.html)) return message.message;
  for (const block of holder.querySelectorAll('p, li, pre, blockquote, br')) block.after(' ');
  return holder.textContent || message.message;
}

/** @param {HTMLElement} part @param {{emoji: string, users: string[]}[]} reactions */
function fillReactions(part, reactions) {
  part.replaceChildren();
  if (reactions.length === 0) return;
  // For the names of the emoji, in the chips' titles.
  if (emojiName('😀') === '') loadEmoji().catch(() => {});
  const list = document.createElement('ul');
  list.className = 'reactions';
  list.setAttribute('aria-label', t('reactions.label'));
  for (const { emoji, users } of reactions) {
    const mine = users.some((user) => state.myNames.has(user));
    const item = document.createElement('li');
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'reaction';
    chip.dataset.react = emoji;
    chip.dataset.focus = `react:${emoji}`;
    chip.setAttribute('aria-pressed', String(mine));
    // You first, then the others in the order they reacted.
    const mineFirst = [...users.filter((user) => state.myNames.has(user)), ...users.filter((user) => !state.myNames.has(user))];
    // "You" as a subject and after "from" are different words in some languages (tú, de ti).
    const names = (you) => formatList(mineFirst.map((user) => (state.myNames.has(user) ? t(you) : user)), NAMES_SHOWN);
    const who = names('reactions.you');
    const name = emojiName(emoji) || emoji;
    chip.title = mine && users.length === 1 ? t('reactions.who_you', { emoji: name })
      : t('reactions.who', { who, emoji: name, count: users.length });
    const glyph = document.createElement('span');
    glyph.className = 'reaction-emoji';
    glyph.setAttribute('aria-hidden', 'true');
    glyph.textContent = emoji;
    const count = document.createElement('span');
    count.className = 'reaction-count';
    count.setAttribute('aria-hidden', 'true');
    count.textContent = String(users.length);
    chip.append(glyph, count, hiddenText(t('reactions.chip', { emoji: name, count: users.length, who: names('reactions.you_from') })));
    item.append(chip);
    list.append(item);
  }
  const add = document.createElement('li');
  const more = actionButton('pick', t('actions.react'), 'add-reaction', '+');
  more.classList.add('reaction', 'add');
  add.append(more);
  list.append(add);
  part.append(list);
}

/** What our edits, deletions and reactions to this message wait for, or why they failed. @param {HTMLElement} part @param {OutboxEntry[]} changes */
function fillChanges(part, changes) {
  part.replaceChildren();
  for (const entry of changes) {
    const failed = entry.status === 'failed';
    if (!failed && entry.kind === 'react') continue;
    const line = document.createElement('p');
    line.className = `change-status${failed ? ' failed' : ''}`;
    if (!failed) {
      line.textContent = entry.kind === 'delete' ? t('changes.deleting') : t('changes.saving');
    } else {
      const reason = document.createElement('span');
      const why = entry.reason || { key: 'errors.refused' };
      reason.textContent = entry.kind === 'delete' ? t('changes.delete_failed', { why })
        : entry.kind === 'react' ? t('changes.react_failed', { why, emoji: entry.emoji || '' })
          : t('changes.edit_failed', { why });
      line.append(reason, ' ', retryButton(t('outbox.retry'), 'retry', entry.cid),
        retryButton(t('changes.dismiss'), 'discard', entry.cid));
    }
    part.append(line);
  }
}

/** @param {string} label @param {string} action @param {string} cid */
function retryButton(label, action, cid) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link-button';
  button.textContent = label;
  button.dataset.action = action;
  button.dataset.cid = cid;
  return button;
}

/**
 * The action bar: react (one tap for 👍, or any emoji), reply, and for our
 * own messages edit and delete. One stop for Tab; arrows move within it.
 * @param {HTMLElement} part @param {MessageFrame} frame @param {boolean} editable
 */
function fillActions(part, frame, editable) {
  part.replaceChildren();
  if (frame.deleted) return;
  const bar = document.createElement('div');
  bar.className = 'actions';
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', t('actions.label', { name: frame.username }));
  bar.append(
    actionButton('quick', t('actions.quick', { emoji: QUICK_REACTION }), 'quick', QUICK_REACTION),
    actionButton('pick', t('actions.react'), 'pick', '', ICONS.react),
    actionButton('reply', t('actions.reply'), 'reply', '', ICONS.reply),
  );
  if (editable) bar.append(actionButton('edit', t('actions.edit'), 'edit', '', ICONS.edit));
  if (canDelete(frame)) bar.append(actionButton('delete', t('actions.delete'), 'delete', '', ICONS.delete));
  else if (isHost()) bar.append(actionButton('host-delete', t('host.remove_message'), 'host-delete', '', ICONS.delete));
  bar.querySelectorAll('button').forEach((button, index) => { button.tabIndex = index === 0 ? 0 : -1; });
  part.append(bar);
}

/** Icons of the action bar, 24×24 paths. */
const ICONS = {
  react: 'M12 2a10 10 0 1 0 10 10h-2a8 8 0 1 1-8-8Zm-3.5 7a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3Zm7 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3ZM7.5 14a4.5 4.5 0 0 0 9 0ZM19 1v3h-3v2h3v3h2V6h3V4h-3V1Z',
  reply: 'M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11Z',
  edit: 'M3 17.2V21h3.8l11-11-3.8-3.8Zm17.7-10.2a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8 3.8 3.8Z',
  delete: 'M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6Zm13-15h-3.5l-1-1h-5l-1 1H5v2h14Z',
};

/**
 * @param {string} action @param {string} label @param {string} focus
 * @param {string} text shown instead of an icon @param {string} [icon] an SVG path
 */
function actionButton(action, label, focus, text, icon) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'action';
  button.dataset.msgAction = action;
  button.dataset.focus = focus;
  button.setAttribute('aria-label', label);
  button.title = label;
  if (icon) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '18');
    svg.setAttribute('height', '18');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', icon);
    svg.append(path);
    button.append(svg);
  } else {
    const glyph = document.createElement('span');
    glyph.setAttribute('aria-hidden', 'true');
    glyph.textContent = text;
    button.append(glyph);
  }
  return button;
}
