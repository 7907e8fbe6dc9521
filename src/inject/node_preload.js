// herd's preload for Node programs in cluster mode: `node --require <this> app.js`.
//
// It gives an unmodified server a graceful stop. When herd stops an instance (stop, restart,
// reload, scale down) it sends the app's kill signal (SIGINT unless kill_signal says otherwise).
// If the program has its own handler for that signal, the handler runs and this file does
// nothing. Otherwise every server the program listens on stops accepting at once (herd's socket
// stays open in herd and in the other instances, so no connection is refused), requests in
// flight finish, and each keep-alive connection is closed without losing a request sent on it:
// the next response on it says `Connection: close`, and a connection that stays idle for
// HERD_DRAIN_IDLE_MS (1 s) is closed. When the last connection is gone the process exits with 0;
// herd's kill_timeout still bounds the whole stop. A program that serves nothing dies of the
// signal as it would without herd.
//
// Readiness needs nothing here: herd's bind library tells herd when the program listens.
'use strict';

(() => {
  const net = require('net');
  const idleMs = Number(process.env.HERD_DRAIN_IDLE_MS || 1000);
  const servers = new Set();
  const sockets = new Map(); // socket -> requests in flight on it
  let draining = false;

  function track(socket) {
    if (sockets.has(socket)) return;
    sockets.set(socket, 0);
    socket.once('close', () => sockets.delete(socket));
  }

  // While draining, a connection with nothing in flight gets idleMs for one more request (whose
  // response then closes it), then it is closed.
  function closeWhenIdle(socket) {
    if (!draining || sockets.get(socket) !== 0) return;
    const timer = setTimeout(() => {
      if (sockets.get(socket) === 0) socket.destroy();
    }, idleMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  function onRequest(req, res) {
    const socket = req.socket;
    track(socket);
    sockets.set(socket, (sockets.get(socket) || 0) + 1);
    if (draining) res.shouldKeepAlive = false;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      if (!sockets.has(socket)) return;
      sockets.set(socket, Math.max(0, sockets.get(socket) - 1));
      closeWhenIdle(socket);
    };
    res.once('finish', done);
    res.once('close', done);
  }

  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function herdListen(...args) {
    if (!servers.has(this)) {
      servers.add(this);
      this.once('close', () => servers.delete(this));
      // http(s).Server (they have closeIdleConnections): the requests show which connections
      // are busy. A plain net.Server's connections are the program's to end.
      if (typeof this.closeIdleConnections === 'function') {
        this.on('connection', track);
        this.prependListener('request', onRequest);
      }
    }
    return listen.apply(this, args);
  };

  function drain(signal) {
    if (draining) return;
    draining = true;
    const open = [...servers].filter((s) => s.listening);
    if (open.length === 0) {
      // Nothing to drain: die of the signal, as the program would have without us.
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.kill(process.pid, signal);
      return;
    }
    let left = open.length;
    for (const server of open) {
      // net.Server's close: stop accepting, keep the connections (http.Server's own close would
      // also drop idle keep-alive connections, and with them a request a client just sent).
      net.Server.prototype.close.call(server, () => {
        if (--left === 0) process.exit(0);
      });
    }
    // A busy connection's response says Connection: close; an idle one waits for one more.
    for (const socket of sockets.keys()) closeWhenIdle(socket);
  }

  function onSignal(signal) {
    // The program's own handler decides; herd's kill_timeout still bounds it.
    if (process.listenerCount(signal) > 1) return;
    drain(signal);
  }

  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
})();
