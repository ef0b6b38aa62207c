// `search_results`: a page of matches for the search panel (see search.js).

import { applyResults } from '../search.js';

/** @param {import('../protocol.js').SearchResultsFrame} frame */
export function search_results(frame) {
  applyResults(frame);
}
