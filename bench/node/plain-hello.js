// bench/node/plain-hello.js: a Node "hello" written without any process manager in mind, the way
// most Node servers are: it listens on its port and nothing else (no LISTEN_FDS, no 'ready'
// message, no signal handler). bench/reload.sh runs it under herd's cluster mode (herd's bind
// library and Node preload) and under PM2's cluster mode, side by side.
//
//   node plain-hello.js [PORT]     (default: $PORT, else 8080; 127.0.0.1 only)
'use strict';
const http = require('http');

const port = Number(process.argv[2] || process.env.PORT || 8080);
http
  .createServer((req, res) => {
    res.setHeader('x-pid', String(process.pid));
    res.setHeader('Content-Type', 'text/plain');
    res.end('Hello World!\n');
  })
  .listen(port, '127.0.0.1');
