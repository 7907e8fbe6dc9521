// herd's preload for Node programs: `node --require <this> app.js`. In cluster mode (herd's bind
// channel, HERD_BIND_FD, is there) it drains on stop; in every mode it reports code metrics and
// answers herd's heap snapshot and CPU profile requests (docs/diagnostics.md).
//
// Drain: it gives an unmodified server a graceful stop. When herd stops an instance (stop, restart,
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
  if (!process.env.HERD_BIND_FD) return;  // fork mode: herd holds no socket for the app
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

// Code metrics, once per HERD_CODE_METRICS milliseconds, on an unref'd timer (the cost is fixed,
// nothing runs per request): V8's heap, memory outside it, the event loop's delay (a histogram
// sampled every 10 ms by perf_hooks, reset each interval: mean, p50, p99, max over the
// interval) and utilisation, active handles and requests, GC pauses. Sent to herd over the Node
// IPC channel herd opens for every Node app, as {"herd": "metrics", ...}.
//
// Requests from herd come as {"cmd": "NODE_HERD", ...}: Node hands a "cmd" starting with NODE_
// to its internal listeners only ('internalMessage'), so the program's process.on('message')
// never sees them, and listening there does not hold the program alive the way a 'message'
// listener does (the channel stays unref'd).
(() => {
  const interval = Number(process.env.HERD_CODE_METRICS);
  // Not inherited by the program's own children (a Node cluster's workers have no channel to
  // herd: their process.send goes to their primary).
  delete process.env.HERD_CODE_METRICS;
  if (!(interval > 0) || typeof process.send !== 'function') return;
  const perf = require('perf_hooks');

  function send(message) {
    if (!process.connected) return;
    try {
      process.send(message, undefined, undefined, () => {});  // errors: herd is gone; no matter
    } catch (_) {
      // A closed channel: nothing to report to.
    }
  }

  // The loop's delay: perf_hooks samples the time between ticks of a `resolution` ms timer; a
  // sample minus the resolution is how late the loop ran it. Its reset() forgets the tick in
  // progress, so a stall right after a reset (a program's own 1 s timer running just after this
  // one) would be lost: a probe timer started at the reset measures that window instead.
  const resolution = 20;
  let delay = null;
  try {
    delay = perf.monitorEventLoopDelay({ resolution });
    delay.enable();
  } catch (_) {
    delay = null;  // an old Node: no loop delay figures
  }
  let blind = 0;  // ms the loop was held in the window after the last reset
  function afterReset() {
    const start = perf.performance.now();
    setTimeout(() => {
      const waited = perf.performance.now() - start;
      blind = waited >= resolution + 1 ? waited : 0;
    }, resolution).unref();
  }
  // The value at percentile p of the samples plus `extra` (a delay above every sample, or null).
  function percentile(p, count, extra) {
    const n = count + (extra === null ? 0 : 1);
    const rank = Math.ceil((p / 100) * n);
    if (extra !== null && rank >= n) return extra;
    return Math.max(0, delay.percentile(Math.min(100, (100 * rank) / count)) / 1e6 - resolution);
  }
  let gcPauseMs = 0;
  let gcPauseTotalMs = 0;
  let gcCount = 0;
  try {
    const gc = new perf.PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gcPauseMs += entry.duration;
        gcPauseTotalMs += entry.duration;
        gcCount += 1;
      }
    });
    gc.observe({ entryTypes: ['gc'] });
  } catch (_) {
    // No GC entries in this Node: no GC figures.
  }
  let elu = perf.performance.eventLoopUtilization ? perf.performance.eventLoopUtilization() : null;
  let last = Date.now();
  const ms = (ns) => ns / 1e6;

  function report() {
    const mem = process.memoryUsage();
    const now = Date.now();
    const m = {
      herd: 'metrics',
      heap_total_bytes: mem.heapTotal,
      heap_used_bytes: mem.heapUsed,
      external_bytes: mem.external,
      array_buffers_bytes: mem.arrayBuffers || 0,
      gc_pause_ms: gcPauseMs,
      gc_pause_total_ms: gcPauseTotalMs,
      gc_count_total: gcCount,
      interval_ms: now - last,
    };
    last = now;
    gcPauseMs = 0;
    if (delay && delay.count > 0) {
      const count = delay.count;
      const max = Math.max(0, ms(delay.max) - resolution);
      const extra = blind > max ? blind : null;
      const sum = Math.max(0, ms(delay.mean) - resolution) * count + (extra || 0);
      m.loop_delay_mean_ms = sum / (count + (extra === null ? 0 : 1));
      m.loop_delay_p50_ms = percentile(50, count, extra);
      m.loop_delay_p99_ms = percentile(99, count, extra);
      m.loop_delay_max_ms = Math.max(max, blind);
      delay.reset();
      afterReset();
    }
    if (elu) {
      const next = perf.performance.eventLoopUtilization();
      m.loop_utilization = perf.performance.eventLoopUtilization(next, elu).utilization;
      elu = next;
    }
    if (typeof process._getActiveHandles === 'function') {
      m.active_handles = process._getActiveHandles().length;
      m.active_requests = process._getActiveRequests().length;
    }
    send(m);
  }
  setInterval(report, interval).unref();

  // Heap snapshots and CPU profiles, written by this process to the path herd names (checked
  // there by herd: absolute, in an existing folder, not there yet). The file is created first
  // with O_EXCL, so a path this process may not write is an answer at once, not a lost profile.
  const fs = require('fs');
  let profiling = false;

  function answer(request, error) {
    const a = { herd: request.herd, id: request.id, file: request.file };
    if (error) a.error = String((error && error.message) || error).slice(0, 400);
    send(a);
  }

  function heapdump(request) {
    try {
      fs.closeSync(fs.openSync(request.file, 'wx', 0o600));
      require('v8').writeHeapSnapshot(request.file);
      answer(request);
    } catch (e) {
      answer(request, e);
    }
  }

  function profile(request) {
    if (profiling) return answer(request, 'a CPU profile is already running');
    let session;
    try {
      fs.closeSync(fs.openSync(request.file, 'wx', 0o600));
      const inspector = require('inspector');
      session = new inspector.Session();
      session.connect();
    } catch (e) {
      return answer(request, e);
    }
    profiling = true;
    const fail = (e) => {
      profiling = false;
      try {
        session.disconnect();
      } catch (_) {
        // already disconnected
      }
      answer(request, e);
    };
    session.post('Profiler.enable', (err) => {
      if (err) return fail(err);
      session.post('Profiler.start', (err2) => {
        if (err2) return fail(err2);
        const timer = setTimeout(() => {
          session.post('Profiler.stop', (err3, result) => {
            if (err3) return fail(err3);
            fs.writeFile(request.file, JSON.stringify(result.profile), { mode: 0o600 }, (err4) => {
              if (err4) return fail(err4);
              profiling = false;
              session.disconnect();
              answer(request);
            });
          });
        }, Number(request.duration_ms));
        timer.unref();  // a program that is done exits; herd then says the process ended
      });
    });
  }

  process.on('internalMessage', (message) => {
    if (!message || message.cmd !== 'NODE_HERD' || typeof message.file !== 'string') return;
    if (message.herd === 'heapdump') heapdump(message);
    else if (message.herd === 'profile') profile(message);
  });
})();
