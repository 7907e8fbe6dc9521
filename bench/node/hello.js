// bench/node/hello.js: the Node "hello" for bench/manager.sh. Every request gets "Hello World!\n"
// with the answering process's pid in an `x-pid` header, so the benchmark can tell which
// instance served it.
//
//   node hello.js [PORT]
//
// Under herd's cluster mode (LISTEN_FDS set) it serves on the inherited socket, fd 3, instead of
// binding; under PM2's cluster mode (or alone) it listens on 127.0.0.1:PORT (argv[2], else
// $PORT, else 8080). Once listening it says so with process.send('ready') when it has an IPC
// channel (herd --wait-ready, PM2 --wait-ready; a plain PM2 cluster worker ignores it), and,
// when BENCH_READY_FILE is set, appends "<pid> <epoch microseconds>" to that file: the moment
// this process can be handed connections, on the same clock as bash's $EPOCHREALTIME.
'use strict';
const fs = require('fs');
const http = require('http');
const { performance } = require('perf_hooks');

const server = http.createServer((req, res) => {
  res.setHeader('x-pid', String(process.pid));
  res.setHeader('Content-Type', 'text/plain');
  res.end('Hello World!\n');
});

const ready = () => {
  const file = process.env.BENCH_READY_FILE;
  if (file) {
    const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
    fs.appendFileSync(file, `${process.pid} ${us}\n`);
  }
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
