// Checks the page's catalogs (web/i18n/*.json) against each other and
// against the page's code, so no language ships with a hole in it:
//
//   - every key of en.json is in every language, and no language has a key
//     en.json lacks;
//   - a string has the same {placeholders} in every language (a plural's
//     categories may leave out {count}, as "one" often does);
//   - a plural (an object of Intl.PluralRules categories) has every
//     category its language needs, by Node's own Intl.PluralRules;
//   - every key the page uses is in en.json, and every key in en.json is
//     used.
//
// How the page uses a key, as this scan understands it:
//   - `t('key')`, `tNodes('key', …)`, `phrase('key', …)` in web/**/*.js,
//     and `data-i18n="key"`, `data-i18n-<attribute>="key"` in the HTML;
//   - a template in one of those calls, `t(\`errors.${code}\`)`: each
//     `${…}` stands for one segment, so it uses every key it matches (and
//     must match at least one);
//   - any other string literal in the JS that is exactly a key of en.json
//     (tables of keys, `{ key: 'errors.refused' }`).
// Other engineers' namespaces pass the same way once their keys are used.
//
// Run: `node tests/i18n/check.mjs` (tests/i18n.rs runs it under
// `cargo test`). `--used` lists the keys the page uses and exits.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const web = join(root, 'web');
const CATEGORIES = ['zero', 'one', 'two', 'few', 'many', 'other'];

/** @param {unknown} value */
function isPlural(value) {
  return typeof value === 'object' && value !== null && 'other' in value &&
    Object.entries(value).every(([name, text]) => CATEGORIES.includes(name) && typeof text === 'string');
}

/** Every key of a catalog, to its value (a string or a plural). */
function flatten(catalog, prefix = '', into = new Map()) {
  for (const [name, value] of Object.entries(catalog)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'string' || isPlural(value)) into.set(key, value);
    else if (typeof value === 'object' && value !== null) flatten(value, key, into);
    else into.set(key, value);
  }
  return into;
}

/** @param {string} text */
function placeholders(text) {
  return new Set([...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]));
}

/** Every file under `dir` whose name ends with `ending`. */
function files(dir, ending) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...files(path, ending));
    else if (name.endsWith(ending)) found.push(path);
  }
  return found;
}

const problems = [];
const catalogs = new Map(readdirSync(join(web, 'i18n'))
  .filter((name) => name.endsWith('.json'))
  .map((name) => [name.slice(0, -5), flatten(JSON.parse(readFileSync(join(web, 'i18n', name), 'utf8')))]));
const english = catalogs.get('en');
if (!english) throw new Error('web/i18n/en.json is missing');

// The catalogs against English.
for (const [language, catalog] of catalogs) {
  const rules = new Intl.PluralRules(language);
  const needed = rules.resolvedOptions().pluralCategories;
  if (rules.resolvedOptions().locale.split('-')[0] !== language.split('-')[0]) {
    problems.push(`${language}: Node's Intl has no plural rules for it`);
  }
  for (const [key, value] of catalog) {
    const base = english.get(key);
    if (typeof value !== 'string' && !isPlural(value)) {
      problems.push(`${language}: ${key} is neither a string nor a plural`);
      continue;
    }
    if (base === undefined) {
      problems.push(`${language}: ${key} is not in en.json`);
      continue;
    }
    if (isPlural(value) !== isPlural(base)) {
      problems.push(`${language}: ${key} is ${isPlural(value) ? 'a plural' : 'a string'}, in English ${isPlural(base) ? 'a plural' : 'a string'}`);
      continue;
    }
    const texts = isPlural(value) ? Object.values(value) : [value];
    if (isPlural(value)) {
      for (const category of needed) {
        if (!(category in value)) problems.push(`${language}: ${key} lacks the plural category "${category}"`);
      }
      for (const category of Object.keys(value)) {
        if (!needed.includes(category)) problems.push(`${language}: ${key} has "${category}", which ${language} never uses`);
      }
    }
    const expected = new Set(Object.values(isPlural(base) ? base : { other: base }).flatMap((text) => [...placeholders(text)]));
    const found = new Set(texts.flatMap((text) => [...placeholders(text)]));
    // A plural's "one" may say "a message" instead of "{count} messages".
    const optional = isPlural(value) ? new Set(['count']) : new Set();
    for (const name of expected) {
      if (!found.has(name) && !optional.has(name)) problems.push(`${language}: ${key} lacks {${name}}`);
    }
    for (const name of found) {
      if (!expected.has(name)) problems.push(`${language}: ${key} has {${name}}, which English has not`);
    }
    for (const text of texts) {
      if (text.trim() === '') problems.push(`${language}: ${key} is empty`);
    }
  }
  for (const key of english.keys()) {
    if (!catalog.has(key)) problems.push(`${language}: ${key} is missing`);
  }
}

// The keys the page uses.
const used = new Set();
/** @type {{pattern: RegExp, where: string}[]} */
const patterns = [];
const CALL = /\b(?:t|tNodes|phrase)\(\s*(?:'([^'\\]+)'|"([^"\\]+)"|`([^`\\]+)`)/g;
const LITERAL = /'([a-z][\w-]*(?:\.[\w-]+)+)'|"([a-z][\w-]*(?:\.[\w-]+)+)"/g;
for (const path of files(web, '.js')) {
  const where = relative(root, path);
  // Comments show how to call things; they use no key.
  const source = readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  for (const match of source.matchAll(CALL)) {
    const [literal, template] = [match[1] || match[2], match[3]];
    if (literal) {
      used.add(literal);
      if (!english.has(literal)) problems.push(`${where}: ${literal} is used but not in en.json`);
    } else if (template.includes('${')) {
      const source = template.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\w-]+');
      patterns.push({ pattern: new RegExp(`^${source}$`), where: `${where}: \`${template}\`` });
    } else {
      used.add(template);
      if (!english.has(template)) problems.push(`${where}: ${template} is used but not in en.json`);
    }
  }
  for (const match of source.matchAll(LITERAL)) {
    const key = match[1] || match[2];
    if (english.has(key)) used.add(key);
  }
}
for (const path of files(web, '.html')) {
  const where = relative(root, path);
  for (const match of readFileSync(path, 'utf8').matchAll(/\bdata-i18n(?:-[a-z-]+)?="([^"]+)"/g)) {
    used.add(match[1]);
    if (!english.has(match[1])) problems.push(`${where}: ${match[1]} is used but not in en.json`);
  }
}
for (const { pattern, where } of patterns) {
  const matched = [...english.keys()].filter((key) => pattern.test(key));
  if (matched.length === 0) problems.push(`${where} matches no key of en.json`);
  for (const key of matched) used.add(key);
}
if (process.argv.includes('--used')) {
  console.log([...used].sort().join('\n'));
  process.exit(0);
}
for (const key of english.keys()) {
  if (!used.has(key)) problems.push(`en.json: ${key} is used nowhere in web/`);
}

if (problems.length > 0) {
  console.error(`${problems.length} problems in the catalogs:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  process.exit(1);
}
console.log(`catalogs complete: ${english.size} keys in ${[...catalogs.keys()].join(', ')}`);
