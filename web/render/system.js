// Host actions and a call's start and end in the timeline: a message from
// `system` carrying a typed event (see src/protocol/README.md, "The host's
// tools"), drawn as a line in the middle, worded here (a call's in
// call_event.js) in the reader's language; never the server's English
// `message`.

import { currentLanguage, t } from '../i18n.js';
import { timeElement } from '../dom.js';
import { setServerHtml } from './html.js';
import { callEventRow, callEventText, isCallEvent } from './call_event.js';

/** @typedef {import('../protocol.js').MessageFrame & {system?: {event: string, username?: string, until?: number, slow?: number, read_only?: boolean, locked?: boolean, closed?: boolean, keep?: import('../host/state.js').Keep}}} SystemMessage */

/** A moment, as the reader's language writes a date and time. @param {number} ms */
export function moment(ms) {
  return new Intl.DateTimeFormat(currentLanguage(), { dateStyle: 'medium', timeStyle: 'short' })
    .format(new Date(ms));
}

/** What a system event says. @param {NonNullable<SystemMessage['system']>} event */
export function systemText(event) {
  const username = event.username || '';
  switch (event.event) {
    case 'kicked':
    case 'unmuted':
    case 'unbanned':
      return t(`host.event.${event.event}`, { username });
    case 'muted':
    case 'banned':
      return event.until
        ? t(`host.event.${event.event}_until`, { username, time: moment(event.until) })
        : t(`host.event.${event.event}`, { username });
    case 'rules': {
      const rules = [];
      if (event.closed) rules.push(t('host.event.rule_closed'));
      if (event.read_only) rules.push(t('host.event.rule_read_only'));
      if (event.locked) rules.push(t('host.event.rule_locked'));
      if (event.slow) rules.push(t('host.event.rule_slow', { count: event.slow }));
      const keep = event.keep;
      if (keep && keep !== 'all') {
        rules.push('days' in keep ? t('host.event.rule_keep_days', { count: keep.days })
          : t('host.event.rule_keep_messages', { count: keep.messages }));
      }
      if (rules.length === 0) return t('host.event.rules_off');
      const list = new Intl.ListFormat(currentLanguage(), { type: 'conjunction' }).format(rules);
      return t('host.event.rules', { rules: list });
    }
    default:
      // An event this page does not know yet: the server's words, as text.
      return '';
  }
}

/**
 * A new row for a system message; `fillSystem` fills it.
 * @param {SystemMessage} frame
 */
export function systemRowFor(frame) {
  if (frame.system && isCallEvent(frame.system)) return callEventRow(frame);
  const row = document.createElement('li');
  row.dataset.seq = String(frame.seq);
  const text = document.createElement('span');
  text.className = 'system-text';
  if (frame.system?.event === 'announcement') {
    // The host's own words, under a label, as the server rendered them.
    row.className = 'announcement';
    const label = document.createElement('p');
    label.className = 'announcement-label';
    label.append(text, ' ', timeElement(frame.timestamp));
    const body = document.createElement('div');
    body.className = 'text rich';
    if (!setServerHtml(body, frame.html || '')) body.textContent = frame.message;
    row.append(label, body);
    return row;
  }
  row.className = 'notice system';
  row.append(text, ' ', timeElement(frame.timestamp));
  return row;
}

/** Words the row in the page's language (again after a change of language). @param {HTMLElement} row @param {SystemMessage} frame */
export function fillSystem(row, frame) {
  const event = frame.system;
  const words = event?.event === 'announcement' ? t('host.pin.label')
    : event && isCallEvent(event) ? callEventText(frame)
    : (event && systemText(event)) || frame.message;
  const text = /** @type {HTMLElement} */ (row.querySelector('.system-text'));
  if (text.textContent !== words) text.textContent = words;
}
