// What the server's refusals say, in the page's words: chosen by the
// refusal's `code`, or its `detail` when it has one, with its `params`
// ("Messages can be edited for {minutes} minutes"). The server's own
// `message` is English for logs and simple clients; the page never shows it.
// A code this page does not know yet (a newer server) still says something.

import { hasKey, phrase } from './i18n.js';

/**
 * @param {{code: string, detail?: string, params?: Record<string, string | number>}} frame
 * @returns {import('./i18n.js').Phrase}
 */
export function refusalPhrase(frame) {
  const params = { ...(frame.params || {}) };
  if (frame.detail && hasKey(`errors.detail.${frame.detail}`)) return phrase(`errors.detail.${frame.detail}`, params);
  if (hasKey(`errors.${frame.code}`)) return phrase(`errors.${frame.code}`, params);
  return phrase('errors.unknown', { code: String(frame.code) });
}
