// A call's events in a room's timeline: "alice started a call", "Call
// ended · 12 min · 5 people", and in a direct message "Missed call from
// alice" or "No answer". The server sends what happened; the words are the
// reader's, with durations formatted by `Intl`.

import { state } from '../state.js';
import { currentLanguage, t } from '../i18n.js';
import { isOwnName, setText, svgIcon, timeElement } from '../dom.js';

/** @typedef {import('../protocol.js').MessageFrame & {event?: {kind: string, duration_ms?: number, people?: number}}} EventFrame */

const PHONE = 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1Z';

/** A new row for an event; `fillCallEvent` fills it. @param {EventFrame} frame */
export function callEventRow(frame) {
  const row = document.createElement('li');
  row.className = 'notice call-event';
  row.dataset.seq = String(frame.seq);
  const mark = document.createElement('span');
  mark.className = 'call-event-icon';
  const phone = svgIcon(PHONE);
  phone.setAttribute('aria-hidden', 'true');
  mark.append(phone);
  const text = document.createElement('span');
  text.className = 'call-event-text';
  row.append(mark, text, ' ', timeElement(frame.timestamp));
  return row;
}

/** @param {HTMLElement} row @param {EventFrame} frame */
export function fillCallEvent(row, frame) {
  const text = /** @type {HTMLElement} */ (row.querySelector('.call-event-text'));
  setText(text, eventText(frame));
}

/** What happened, in the reader's words. @param {EventFrame} frame */
export function eventText(frame) {
  const event = frame.event;
  if (event?.kind === 'call_started') return t('calls.event.started', { name: frame.username });
  if (event?.kind !== 'call_ended') return t('calls.event.unknown');
  const people = event.people || 0;
  const direct = state.rooms.get(frame.room)?.kind === 'dm';
  if (direct && people <= 1) {
    return isOwnName(frame.username) ? t('calls.event.no_answer')
      : t('calls.event.missed', { name: frame.username });
  }
  return t('calls.event.ended', {
    duration: duration(event.duration_ms || 0),
    people: t('calls.event.people', { count: people }),
  });
}

/** "45 s", "12 min", "1 h 5 min", as the language writes them. @param {number} ms */
export function duration(ms) {
  const unit = (/** @type {string} */ name, /** @type {number} */ value) => new Intl.NumberFormat(
    currentLanguage(), { style: 'unit', unit: name, unitDisplay: 'short' },
  ).format(value);
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return unit('second', seconds);
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return unit('minute', minutes);
  return t('calls.event.hours_minutes', {
    hours: unit('hour', Math.floor(minutes / 60)),
    minutes: unit('minute', minutes % 60),
  });
}
