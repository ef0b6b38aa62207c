// The language pickers (the key and join cards, and under "You" in the
// people panel): every shipped language, each in its own name, the page's
// chosen. Choosing one is an action (script.js: `setLanguage`).

import { LANGUAGES, currentLanguage } from '../i18n.js';

const pickers = /** @type {HTMLSelectElement[]} */ ([...document.querySelectorAll('select[data-language-picker]')]);

export function renderLanguage() {
  const language = currentLanguage();
  for (const picker of pickers) {
    if (picker.options.length !== LANGUAGES.length) {
      picker.replaceChildren(...LANGUAGES.map(({ code, name }) => {
        const option = document.createElement('option');
        option.value = code;
        option.lang = code;
        option.textContent = name;
        return option;
      }));
    }
    // The pseudo-locale is not offered: the picker stays on English then.
    const shown = LANGUAGES.some(({ code }) => code === language) ? language : 'en';
    if (picker.value !== shown) picker.value = shown;
  }
}

/** The pickers, for wiring their changes. */
export function languagePickers() {
  return pickers;
}
