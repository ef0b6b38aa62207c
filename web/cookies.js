// The cookies that let the page's own <img>, <video> and download links
// fetch files, which cannot carry headers: the owned name's token
// (`lanchat_token`) and the access key (`lanchat_key`, percent-encoded).
// `SameSite=Strict`, so no other site's request carries them. Set on every
// welcome, so a rename, a name moved here or another name replaces them.

const TOKEN_COOKIE = 'lanchat_token';
const KEY_COOKIE = 'lanchat_key';
const ATTRIBUTES = 'Path=/; SameSite=Strict';

/** @param {string} name @param {string} value '' clears it */
function setCookie(name, value) {
  document.cookie = value
    ? `${name}=${value}; ${ATTRIBUTES}`
    : `${name}=; Max-Age=0; ${ATTRIBUTES}`;
}

/**
 * The credentials files are fetched with, from now on.
 * @param {string} token the connection's owned name's token, or '' for none
 * @param {string} key the access key, or '' for none
 */
export function setFileCookies(token, key) {
  setCookie(TOKEN_COOKIE, /^[0-9a-f]+$/i.test(token) ? token : '');
  setCookie(KEY_COOKIE, key ? encodeURIComponent(key) : '');
}
