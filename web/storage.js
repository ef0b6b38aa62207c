// What the page keeps in localStorage: the name, the access key and the
// tokens of owned names (one per lowercased name, shared by every tab). The
// outbox keeps its own keys (see outbox.js). Storage can be missing or full
// (private windows); the chat still works, it just forgets on reload.

export const NAME_KEY = 'lanchat.name';
export const ACCESS_KEY = 'lanchat.key';
const TOKEN_PREFIX = 'lanchat.token.';

/** @param {string} key @returns {string | null} */
export function readStorage(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** @param {string} key @param {string} value @returns {boolean} whether it was kept */
export function writeStorage(key, value) {
  try {
    localStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

/** @param {string} key */
export function removeStorage(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing to remove.
  }
}

/** Every key that starts with `prefix`. @param {string} prefix @returns {string[]} */
export function storageKeys(prefix) {
  try {
    const keys = [];
    for (let index = 0; index < localStorage.length; index += 1) {
      const key = localStorage.key(index);
      if (key !== null && key.startsWith(prefix)) keys.push(key);
    }
    return keys;
  } catch {
    return [];
  }
}

/** @param {string} name */
function tokenKey(name) {
  return `${TOKEN_PREFIX}${name.toLowerCase()}`;
}

/** The token of an owned name, if this browser has one. @param {string} name */
export function readToken(name) {
  return readStorage(tokenKey(name));
}

/** @param {string} name @param {string} token */
export function writeToken(name, token) {
  writeStorage(tokenKey(name), token);
}

/** Moves the token of an owned name along with a rename. @param {string} from @param {string} to */
export function moveToken(from, to) {
  const token = readToken(from);
  if (token === null || tokenKey(from) === tokenKey(to)) return;
  writeStorage(tokenKey(to), token);
  removeStorage(tokenKey(from));
}
