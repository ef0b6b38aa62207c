// The peer for the fan-out bench: the broadcast server a JavaScript developer
// would write with `ws`, the most used Node WebSocket server. Every text
// frame a client sends goes, unchanged, to every connected client (the
// sender included), so the generator can time it exactly as it times lanchat.
//
// Usage: node server.js [port]   (port 0, the default, picks a free one)
// Prints "listening on PORT" once it accepts connections.
'use strict';

const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, backlog: 4096 });

wss.on('connection', (socket) => {
  // A first frame tells the client it is registered, like lanchat's welcome.
  socket.send('{"type":"hello"}');
  socket.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    }
  });
  socket.on('error', () => {});
});

wss.on('listening', () => {
  console.log(`listening on ${wss.address().port}`);
});

process.on('SIGTERM', () => process.exit(0));
