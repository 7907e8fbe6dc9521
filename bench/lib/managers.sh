# bench/lib/managers.sh: shell helpers shared by the process-manager benchmarks (manager.sh,
# reload.sh). Source it after setting:
#   tmp    the run's temp dir (logs go to $tmp/logs, PM2 may be installed under $tmp/pm2)
#   herd   the herd executable;  pm2  the pm2 executable ("" until install_pm2 set it)
#   bench_name   the script's name, for messages
# It defines no traps; the caller's cleanup uses stop_herd / stop_pm2 / fg_pid.

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_in() { local f="$1"; [ -f "$f" ] && tr -dc '0-9' <"$f" || true; }

# Waits up to $2 tenths of a second for pid $1 to exit.
wait_gone() {
  local p="$1" n="${2:-50}"
  while [ "$n" -gt 0 ] && pid_alive "$p"; do sleep 0.1; n=$((n - 1)); done
  ! pid_alive "$p"
}

stop_herd() {  # $1: HERD_HOME
  local h="$1" p
  p="$(pid_in "$h/herd.pid")"
  if pid_alive "$p"; then
    HERD_HOME="$h" timeout 10 "$herd" kill >>"$tmp/logs/teardown.log" 2>&1 || true
    wait_gone "$p" 50 || kill -KILL "$p" 2>/dev/null || true
  fi
}

stop_pm2() {  # $1: PM2_HOME
  local h="$1" p
  p="$(pid_in "$h/pm2.pid")"
  # `pm2 kill` with no daemon would start one first; only ask a running daemon.
  if pid_alive "$p"; then
    PM2_HOME="$h" timeout 20 "$pm2" kill >>"$tmp/logs/teardown.log" 2>&1 || true
    wait_gone "$p" 50 || kill -KILL "$p" 2>/dev/null || true
  fi
}

# Runs a long command (hyperfine, npm, wrk) in the background and waits for it, so that ^C, a
# TERM or the time budget interrupt the wait at once (bash runs traps only between commands);
# the cleanup then stops it (it runs under `timeout`, which passes the TERM on).
fg_pid=""
run_waiting() {
  local rc=0
  "$@" &
  fg_pid=$!
  wait "$fg_pid" || rc=$?
  fg_pid=""
  return "$rc"
}

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    local p
    while :; do
      p=$((20000 + RANDOM % 20000))
      { exec {fd}<>/dev/tcp/127.0.0.1/$p; } 2>/dev/null || { echo "$p"; return; }
      exec {fd}>&-
    done
  fi
}

# Sets `pm2`: $PM2, else pm2 from PATH, else PM2 installed with npm into $tmp/pm2.
install_pm2() {
  if [ -n "${PM2:-}" ]; then
    pm2="$PM2"
  elif command -v pm2 >/dev/null; then
    pm2="$(command -v pm2)"
  else
    echo "# PM2 is not on PATH; installing it:"
    echo "  npm install --prefix $tmp/pm2 pm2@latest"
    run_waiting timeout 150 npm install --prefix "$tmp/pm2" --no-audit --no-fund --loglevel=error pm2@latest \
      >"$tmp/logs/npm.log" 2>&1 || { cat "$tmp/logs/npm.log" >&2; echo "$bench_name: npm install pm2 failed" >&2; exit 1; }
    pm2="$tmp/pm2/node_modules/.bin/pm2"
  fi
  [ -x "$pm2" ] || { echo "$bench_name: pm2 at '$pm2' is not executable" >&2; exit 1; }
}

# Kills every process recorded in $tmp/app-pids that still runs one of our hellos.
kill_leftover_apps() {
  local p
  [ -f "$tmp/app-pids" ] || return 0
  for p in $(sort -u "$tmp/app-pids"); do
    if pid_alive "$p" && grep -qa -e hello /proc/"$p"/cmdline 2>/dev/null; then
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
}

# PM2's version from its package.json ("?" when unknown). Not `pm2 --version`: that starts a
# daemon, which would outlive the benchmark.
pm2_version_of() {  # $1: the pm2 executable
  node -p "require('$(dirname "$(readlink -f "$1")")/../package.json').version" 2>/dev/null || echo '?'
}

# SIGTERM to a background job of this script, if it is set, and waits for it.
stop_job() {  # $1: pid or ""
  if [ -n "$1" ]; then kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}

# Stops every daemon this run started (herd_homes, pm2_homes) and the app processes left.
stop_managers() {
  local h
  for h in "${herd_homes[@]}"; do stop_herd "$h"; done
  if [ -n "$pm2" ]; then for h in "${pm2_homes[@]}"; do stop_pm2 "$h"; done; fi
  kill_leftover_apps
}

# Bounds the whole run: past $2 seconds the script ($$) gets SIGTERM (and cleans up). Sets
# `watchdog` to the guard's pid, for the cleanup to stop.
start_watchdog() {  # $1: the script's name, $2: seconds
  local main_pid=$$ name="$1" budget="$2"
  (
    sleep "$budget" & s=$!
    trap 'kill $s 2>/dev/null; exit 0' TERM
    wait "$s"
    echo "$name: time budget of ${budget}s exceeded; stopping" >&2
    kill -TERM "$main_pid"
  ) &
  watchdog=$!
}
