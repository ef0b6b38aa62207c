// A call's events in a room's timeline: "alice started a call", "Call
// ended · 12 min · 5 people", and in a direct message "Missed call from
// alice" or "No answer". They are system events (see system.js, which
// draws them through here); the words are the reader's, with durations
// formatted by `Intl`.

import { state } from '../state.js';
import { currentLanguage, t } from '../i18n.js';
import { isOwnName, svgIcon, timeElement } from '../dom.js';

/** @typedef {import('../protocol.js').MessageFrame & {system?: {event: string, username?: string, duration_ms?: number, people?: number}}} EventFrame */

const PHONE = 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1Z';

/** Whether a system event is a call's. @param {{event: string}} event */
export function isCallEvent(event) {
  return event.event === 'call_started' || event.event === 'call_ended';
}

/** A new row for a call's event; system.js fills its `.system-text`. @param {EventFrame} frame */
export function callEventRow(frame) {
  const row = document.createElement('li');
  row.className = 'notice system call-event';
  row.dataset.seq = String(frame.seq);
  const mark = document.createElement('span');
  mark.className = 'call-event-icon';
  const phone = svgIcon(PHONE);
  phone.setAttribute('aria-hidden', 'true');
  mark.append(phone);
  const text = document.createElement('span');
  text.className = 'system-text';
  row.append(mark, text, ' ', timeElement(frame.timestamp));
  return row;
}

/** What happened, in the reader's words. @param {EventFrame} frame */
export function callEventText(frame) {
  const event = frame.system;
  const name = event?.username || '';
  if (event?.event === 'call_started') return t('calls.event.started', { name });
  if (event?.event !== 'call_ended') return t('calls.event.unknown');
  const people = event.people || 0;
  const direct = state.rooms.get(frame.room)?.kind === 'dm';
  if (direct && people <= 1) {
    return isOwnName(name) ? t('calls.event.no_answer') : t('calls.event.missed', { name });
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
