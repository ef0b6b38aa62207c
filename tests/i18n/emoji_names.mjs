// Makes (or checks) web/i18n/emoji/<language>.json: each emoji the server
// knows, by its characters without variation selectors, to its name and
// keywords in that language, `["coração vermelho", "amor", "coração", …]`,
// from Unicode's CLDR annotations (the npm packages cldr-annotations-full
// and cldr-annotations-derived-full, pinned in tests/npm). The picker
// searches them beside the English names and shortcodes the server sends.
// Skin-tone variants are left out: the page finds them by their base emoji.
//
//   node tests/i18n/emoji_names.mjs --emoji <the server's /api/emoji> --check
//   node tests/i18n/emoji_names.mjs --emoji <the server's /api/emoji> --write
//
// tests/i18n.rs runs it with --check (LANCHAT_I18N_WRITE=1 makes it write).

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const modules = join(root, 'tests', 'npm', 'node_modules');
/** Our languages, and the CLDR locales each takes names from (the first for the name). */
const LANGUAGES = { 'pt-BR': ['pt'], es: ['es', 'es-419'] };

const args = process.argv.slice(2);
const emojiFile = args[args.indexOf('--emoji') + 1];
if (!args.includes('--emoji') || !emojiFile) throw new Error('--emoji <file with the server\'s /api/emoji> is needed');
const write = args.includes('--write');

/** @param {string} emoji */
const bare = (emoji) => emoji.replace(/\uFE0F/g, '');

const listed = JSON.parse(readFileSync(emojiFile, 'utf8'));
const known = listed.groups.flatMap((group) => group.emoji.map((entry) => entry.emoji));

/** @param {string} locale @returns {Map<string, {tts?: string[], default?: string[]}>} */
function annotations(locale) {
  const found = new Map();
  const sources = [
    ['cldr-annotations-full', 'annotations', 'annotations'],
    ['cldr-annotations-derived-full', 'annotationsDerived', 'annotationsDerived'],
  ];
  for (const [name, folder, field] of sources) {
    const path = join(modules, name, folder, locale, 'annotations.json');
    const data = JSON.parse(readFileSync(path, 'utf8'))[field].annotations;
    for (const [emoji, words] of Object.entries(data)) found.set(bare(emoji), { ...found.get(bare(emoji)), ...words });
  }
  return found;
}

let stale = 0;
for (const [language, locales] of Object.entries(LANGUAGES)) {
  const sources = locales.map(annotations);
  /** @type {Record<string, string[]>} */
  const names = {};
  let missing = 0;
  for (const emoji of known) {
    const key = bare(emoji);
    const entries = sources.map((source) => source.get(key)).filter(Boolean);
    const name = entries.map((entry) => entry.tts?.[0]).find(Boolean);
    if (!name) {
      missing += 1;
      continue;
    }
    const words = new Set([name, ...entries.flatMap((entry) => entry.default || [])]);
    names[key] = [...words];
  }
  const text = `${JSON.stringify(names, null, 0).replace(/\],"/g, '],\n"')}\n`;
  const path = join(root, 'web', 'i18n', 'emoji', `${language}.json`);
  if (write) {
    mkdirSync(join(root, 'web', 'i18n', 'emoji'), { recursive: true });
    writeFileSync(path, text);
    console.log(`${path}: ${Object.keys(names).length} of ${known.length} emoji named, ${missing} without a name in CLDR, ${Buffer.byteLength(text)} bytes`);
  } else {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = '';
    }
    if (current !== text) {
      stale += 1;
      console.error(`${path} is not what CLDR and the server's emoji make: run with --write (LANCHAT_I18N_WRITE=1 cargo test --test i18n)`);
    } else {
      console.log(`${path}: up to date, ${Object.keys(names).length} of ${known.length} emoji named`);
    }
  }
}
if (stale > 0) process.exit(1);
