// The one place the page inserts HTML: a message's `html`, as the server
// rendered its markdown and sanitized it (pulldown-cmark, then ammonia's
// allowlist). The page never parses markdown, and everything else it shows
// goes in as text. As a second fence, what comes out of the parse must be
// of the server's allowlist too, or the plain text is shown instead.

/** The tags the server's sanitizer lets through, and their attributes. */
const ALLOWED = {
  P: [], BR: [], STRONG: [], EM: [], DEL: [], CODE: [], PRE: [], BLOCKQUOTE: [],
  UL: [], OL: ['start'], LI: [], A: ['href', 'target', 'rel'], SPAN: ['class'],
};
const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/**
 * Fills `element` with a message's server-made `html`. It is parsed in an
 * inert template (nothing loads or runs there) and moved in only if every
 * element and attribute is one the server allows.
 * @param {HTMLElement} element
 * @param {string} html
 * @returns {boolean} false (and `element` untouched) when it was not
 */
export function setServerHtml(element, html) {
  const template = document.createElement('template');
  template.innerHTML = html;
  const content = template.content;
  for (const node of content.querySelectorAll('*')) {
    if (!allowed(node)) return false;
  }
  // The newlines between blocks are the serializer's, not the sender's.
  for (const node of [...content.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE && (node.textContent || '').trim() === '') node.remove();
  }
  element.replaceChildren(content);
  return true;
}

/** @param {Element} node */
function allowed(node) {
  const attributes = ALLOWED[/** @type {keyof ALLOWED} */ (node.tagName)];
  if (!attributes) return false;
  for (const { name } of node.attributes) {
    if (!attributes.includes(name)) return false;
  }
  if (node.tagName === 'SPAN' && node.getAttribute('class') !== 'mention' && node.hasAttribute('class')) return false;
  if (node.tagName === 'A') {
    try {
      return LINK_SCHEMES.has(new URL(node.getAttribute('href') || '').protocol);
    } catch {
      return false;
    }
  }
  return true;
}
