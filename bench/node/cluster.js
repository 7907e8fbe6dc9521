// bench/node/cluster.js: Node's cluster module with N workers (round robin, Node's default on
// Linux), each answering every request with "Hello World!\n" (Content-Type: text/plain), the
// anchor of bench/cluster.sh.
//
//   node cluster.js PORT [WORKERS]
//
// SIGUSR2 to the primary prints each worker's request count on stderr
// ("stats worker <id> pid <pid> requests <n>", then "stats end"). SIGINT/SIGTERM stop it.
'use strict';
const cluster = require('cluster');
const http = require('http');

const port = Number(process.argv[2] || 8080);
const workers = Number(process.argv[3] || 2);

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  for (let i = 0; i < workers; i++) cluster.fork();
  // A worker that dies is replaced, as herd's cluster and nginx's master do.
  let stopping = false;
  cluster.on('exit', () => { if (!stopping) cluster.fork(); });
  process.on('SIGUSR2', () => {
    const all = Object.values(cluster.workers);
    let left = all.length;
    for (const w of all) {
      w.once('message', (m) => {
        process.stderr.write(`stats worker ${w.id} pid ${w.process.pid} requests ${m.requests}\n`);
        if (--left === 0) process.stderr.write('stats end\n');
      });
      w.send('stats');
    }
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  let requests = 0;
  http.createServer((req, res) => {
    requests++;
    res.setHeader('Content-Type', 'text/plain');
    res.end('Hello World!\n');
  }).listen(port, '127.0.0.1');
  process.on('message', (m) => {
    if (m === 'stats') process.send({ requests });
  });
}
