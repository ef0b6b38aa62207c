// `pong`: the answer to our `ping`. Liveness only: connection.js took note
// of it, as of every frame.

export function pong() {}
