// Uploads a file to lanchat with tus-js-client under Node, given nothing but
// the endpoint and the Lanchat-Token header. With RESUME=1 it aborts at half
// way and starts again from the upload's URL, as a client that stored it
// would after a crash. Prints one JSON line: the upload's URL, and (when
// resuming) the offset the second start sent its first chunk from.
//
// Usage: node tus_js_client.cjs <endpoint> <token> <file> <room>
// (TUS_JS_CLIENT: the tus-js-client package folder.)

'use strict';

const fs = require('node:fs');
const path = require('node:path');
const tus = require(process.env.TUS_JS_CLIENT);

const [endpoint, token, file, room] = process.argv.slice(2);
const data = fs.readFileSync(file);
const resume = process.env.RESUME === '1';
const CHUNK = 1024 * 1024;

function options(extra) {
  return {
    endpoint,
    headers: { 'Lanchat-Token': token },
    metadata: { filename: path.basename(file), room },
    chunkSize: CHUNK,
    retryDelays: null,
    storeFingerprintForResuming: false,
    ...extra,
  };
}

function fail(error) {
  process.stderr.write(`tus-js-client: ${error}\n`);
  process.exit(1);
}

function finish(url, resumedFrom) {
  process.stdout.write(`${JSON.stringify({ url, resumedFrom })}\n`);
}

const first = new tus.Upload(data, options({
  onError: fail,
  onSuccess: () => finish(first.url, null),
  onChunkComplete: (_chunk, accepted, total) => {
    if (!resume || accepted < total / 2) return;
    // Half way: stop, and start again from the stored URL.
    first.abort().then(() => {
      let resumedFrom = null;
      const second = new tus.Upload(data, options({
        uploadUrl: first.url,
        onError: fail,
        onBeforeRequest: (request) => {
          if (request.getMethod() === 'PATCH' && resumedFrom === null) {
            resumedFrom = Number(request.getHeader('Upload-Offset'));
          }
        },
        onSuccess: () => finish(second.url, resumedFrom),
      }));
      second.start();
    }, fail);
  },
}));
first.start();
