// bench/node/hello.js: the Node "hello" for bench/manager.sh. Every request gets "Hello World!\n"
// with the answering process's pid in an `x-pid` header, so the benchmark can tell which
// instance served it.
//
//   node hello.js [PORT]
//
// Under herd's cluster mode (LISTEN_FDS set) it serves on the inherited socket, fd 3, instead of
// binding; under PM2's cluster mode (or alone) it listens on 127.0.0.1:PORT (argv[2], else
// $PORT, else 8080). Once listening it says so with process.send('ready') when it has an IPC
// channel (herd --wait-ready, PM2 --wait-ready; a plain PM2 cluster worker ignores it).
'use strict';
const http = require('http');

const server = http.createServer((req, res) => {
  res.setHeader('x-pid', String(process.pid));
  res.setHeader('Content-Type', 'text/plain');
  res.end('Hello World!\n');
});

const ready = () => {
  if (typeof process.send === 'function') process.send('ready');
};

if (process.env.LISTEN_FDS) {
  server.listen({ fd: 3 }, ready);
} else {
  const port = Number(process.argv[2] || process.env.PORT || 8080);
  server.listen(port, '127.0.0.1', ready);
}

const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
