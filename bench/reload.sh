#!/usr/bin/env bash
# bench/reload.sh: zero-downtime reload under load, herd side by side with PM2 in one run.
#
# Usage:
#   BUILD=build bench/reload.sh [--rounds N] [--duration S]
#                               [--only hello,node,pm2,plain,pm2plain,python]
#                               [--actions reload,restart,kill9] [--budget SECONDS]
#
#   BUILD       the CMake build dir holding bin/herd and bin/hello; default build
#   PM2         a pm2 executable; default `pm2` from PATH, else PM2 is installed with npm into
#               the temp dir (bench/lib/managers.sh, as bench/manager.sh does)
#   --rounds    interleaved rounds; default 1 (each round runs every action x manager once)
#   --duration  seconds of load per run; default 15 (the actions happen at 5 s and 10 s)
#   --only      managers: hello (herd running build/bin/hello), node (herd running
#               bench/node/hello.js), pm2 (PM2 cluster mode running bench/node/hello.js),
#               plain (herd running bench/node/plain-hello.js, a Node server that knows nothing
#               of any manager: herd's bind library and Node preload do the rest), pm2plain (PM2
#               cluster mode running the same plain-hello.js), python (herd running
#               `python3 -m http.server`, unmodified too); default: all six
#   --actions   reload (`reload` at 5 s and 10 s), restart (`restart` at 5 s and 10 s), kill9
#               (kill -9 of one instance every second, pm_id 0 and 1 in turn), update (the
#               manager's daemon replaced at 5 s and 10 s: `herd update`, which keeps every app,
#               against `pm2 update`, which restarts them)
#   --budget    the whole script's wall-clock bound; default 600
#
# Each run: a fresh home and daemon, a 2-instance cluster on a free 127.0.0.1 port, then
#   wrk -t2 -c64 -d15s http://127.0.0.1:PORT/
# while the action happens. Printed per manager and action (medians over the rounds): requests
# served, req/s, wrk's socket errors (connect, read, write, timeout), non-2xx answers, and the
# wall time of each reload/restart command (the command returns once the manager says it is
# done: herd once every replacement is ready and every old instance has exited, PM2 likewise).
# Servers:
#   herd start build/bin/hello -i 2 --listen 127.0.0.1:PORT -- --host 127.0.0.1 --port PORT
#   herd start bench/node/hello.js -i 2 --listen 127.0.0.1:PORT --wait-ready
#   pm2 start bench/node/hello.js -i 2 -- PORT
#   herd start bench/node/plain-hello.js -i 2 -- PORT
#   pm2 start bench/node/plain-hello.js -i 2 -- PORT
#   herd start "python3 -m http.server PORT --bind 127.0.0.1" -i 2 (serving an index.html)
# Node's http does not read LISTEN_FDS itself: bench/node/hello.js serves on the inherited
# socket with server.listen({fd: 3}) when LISTEN_FDS is set, which is all a Node app needs to
# run in herd's cluster mode. wrk keeps its 64 connections alive: a connection open to an
# instance that stops is closed by that instance after its last answer, and wrk counts the
# requests it had pipelined on it, if any, as read errors.
set -euo pipefail

script_start=${EPOCHREALTIME/./}
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-build}"
[[ "$BUILD" == /* ]] || BUILD="$root/$BUILD"
rounds=1
duration=15
only="hello,node,pm2,plain,pm2plain,python"
actions="reload,restart,kill9"
budget=600

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --actions) actions="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "reload.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$duration" -ge 12 ] || { echo "reload.sh: --duration must be at least 12 (actions at 5 s and 10 s)" >&2; exit 2; }

herd="$BUILD/bin/herd"
hello_bin="$BUILD/bin/hello"
hello_js="$root/bench/node/hello.js"
plain_js="$root/bench/node/plain-hello.js"
need() { command -v "$1" >/dev/null || { echo "reload.sh: '$1' not found ($2)" >&2; exit 1; }; }
need wrk "apt-get install wrk"
need jq "apt-get install jq"

IFS=',' read -r -a variants <<<"$only"
IFS=',' read -r -a acts <<<"$actions"
want_pm2=0
for v in "${variants[@]}"; do
  case "$v" in
    hello) [ -x "$hello_bin" ] || { echo "reload.sh: $hello_bin not built" >&2; exit 1; } ;;
    node) need node "node runs the Node hello" ;;
    pm2|pm2plain) need node "PM2 needs node"; want_pm2=1 ;;
    plain) need node "node runs the plain Node hello" ;;
    python) need python3 "python3 runs http.server" ;;
    *) echo "reload.sh: unknown manager '$v' (hello, node, pm2, plain, pm2plain, python)" >&2; exit 2 ;;
  esac
done
for a in "${acts[@]}"; do
  case "$a" in reload|restart|kill9|update) ;; *) echo "reload.sh: unknown action '$a'" >&2; exit 2 ;; esac
done
[ -x "$herd" ] || { echo "reload.sh: $herd missing (scripts/build herd_cli hello)" >&2; exit 1; }

# --- temp dir, cleanup, time budget ---------------------------------------------------------
tmp="$(mktemp -d /tmp/herd-bench-reload.XXXXXX)"
mkdir -p "$tmp/samples" "$tmp/logs" "$tmp/www"
echo "Hello World!" >"$tmp/www/index.html"
pm2=""
bench_name=reload.sh
. "$root/bench/lib/managers.sh"   # pid_alive, stop_herd, stop_pm2, run_waiting, install_pm2
herd_homes=()
pm2_homes=()
watchdog=""
wrk_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_job "$fg_pid"
  stop_job "$wrk_pid"
  stop_job "$watchdog"
  stop_managers
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_watchdog reload.sh "$budget"

now_us() { NOW=${EPOCHREALTIME/./}; }
# Sleeps until $1 seconds after $2 (microseconds).
sleep_until() {
  local target=$(( $2 + $1 * 1000000 ))
  now_us
  if [ "$NOW" -lt "$target" ]; then sleep "$(awk -v d=$(( target - NOW )) 'BEGIN { printf "%.3f", d / 1e6 }')"; fi
}
add_sample() { echo "$3" >>"$tmp/samples/$1.$2"; }   # key metric value
median() {
  local f="$tmp/samples/$1.$2"
  [ -s "$f" ] || { echo "-"; return; }
  sort -g "$f" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
all_of() { local f="$tmp/samples/$1.$2"; [ -s "$f" ] && paste -sd' ' "$f" || echo "-"; }

if [ "$want_pm2" = 1 ]; then install_pm2; fi

# --- one manager ----------------------------------------------------------------------------
cli() {  # variant args...: the manager's CLI in the current home
  case "$1" in
    pm2|pm2plain) shift; PM2_HOME="$home" timeout 60 "$pm2" "$@" ;;
    *) shift; HERD_HOME="$home" timeout 60 "$herd" "$@" ;;
  esac
}
start_args() {  # variant port: sets START_ARGS
  case "$1" in
    hello) START_ARGS=(start "$hello_bin" -n hello -i 2 --listen "127.0.0.1:$2" -- --host 127.0.0.1 --port "$2") ;;
    node) START_ARGS=(start "$hello_js" -n hello -i 2 --listen "127.0.0.1:$2" --wait-ready) ;;
    pm2) START_ARGS=(start "$hello_js" -n hello -i 2 -- "$2") ;;
    plain|pm2plain) START_ARGS=(start "$plain_js" -n hello -i 2 -- "$2") ;;
    python) START_ARGS=(start "python3 -m http.server $2 --bind 127.0.0.1" -n hello -i 2 --cwd "$tmp/www") ;;
  esac
}
online_count() { cli "$1" jlist 2>/dev/null | jq '[.[] | select(.pm2_env.status == "online")] | length' 2>/dev/null || echo 0; }
record_app_pids() { cli "$1" jlist 2>/dev/null | jq -r '.[].pid' >>"$tmp/app-pids" 2>/dev/null || true; }
instance_pid() { pid_in "$home/pids/hello-$1.pid"; }   # both managers write <name>-<id>.pid

# One run: variant, action, round. Prints one line; records the samples.
run_one() {
  local v="$1" act="$2" r="$3" port t0 n k p out key="$1.$2"
  port="$(free_port)"
  home="$tmp/home-$v-$act-$r"
  mkdir -p "$home"
  if [ "${v#pm2}" != "$v" ]; then pm2_homes+=("$home"); else herd_homes+=("$home"); fi
  start_args "$v" "$port"
  cli "$v" "${START_ARGS[@]}" >"$tmp/logs/start-$v-$act-$r.log" 2>&1 || {
    cat "$tmp/logs/start-$v-$act-$r.log" >&2; echo "reload.sh: $v did not start" >&2; exit 1; }
  n=0
  until [ "$(online_count "$v")" = 2 ] && curl -fs "http://127.0.0.1:$port/" >/dev/null; do
    n=$((n + 1)); [ "$n" -lt 300 ] || { echo "reload.sh: $v never had 2 instances online" >&2; exit 1; }
    sleep 0.1
  done
  record_app_pids "$v"
  out="$tmp/logs/wrk-$v-$act-$r.txt"
  now_us; t0=$NOW
  wrk -t2 -c64 -d"${duration}s" "http://127.0.0.1:$port/" >"$out" 2>&1 &
  wrk_pid=$!
  case "$act" in
    reload|restart|update)
      for k in 5 10; do
        sleep_until "$k" "$t0"
        local a b target=hello
        [ "$act" = update ] && target=""
        now_us; a=$NOW
        # shellcheck disable=SC2086  # no target for update
        cli "$v" "$act" $target >>"$tmp/logs/action-$v-$act-$r.log" 2>&1 || echo "reload.sh: $v $act failed (see below)" >&2
        now_us; b=$NOW
        add_sample "$key" duration_ms "$(awk -v d=$(( b - a )) 'BEGIN { printf "%.1f", d / 1000 }')"
        record_app_pids "$v"
      done ;;
    kill9)
      for ((k = 1; k < duration; k++)); do
        sleep_until "$k" "$t0"
        p="$(instance_pid $(( k % 2 )))"
        if pid_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
        echo "$p" >>"$tmp/app-pids"
      done ;;
  esac
  wait "$wrk_pid" || true
  wrk_pid=""
  record_app_pids "$v"
  local reqs rps conn rd wr to non2xx
  reqs=$(awk '/requests in/ { print $1 }' "$out")
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$out")
  read -r conn rd wr to < <(awk '/Socket errors/ { gsub(/,/, ""); print $4, $6, $8, $10; f=1 } END { if (!f) print 0, 0, 0, 0 }' "$out")
  non2xx=$(awk '/Non-2xx/ { print $NF; f=1 } END { if (!f) print 0 }' "$out")
  add_sample "$key" requests "${reqs:-0}"
  add_sample "$key" rps "${rps:-0}"
  add_sample "$key" connect "$conn"
  add_sample "$key" read "$rd"
  add_sample "$key" write "$wr"
  add_sample "$key" timeout "$to"
  add_sample "$key" non2xx "$non2xx"
  printf '  round %d  %-6s %-8s requests %-8s errors connect %s read %s write %s timeout %s  non-2xx %s\n' \
    "$r" "$v" "$act" "${reqs:-?}" "$conn" "$rd" "$wr" "$to" "$non2xx"
  if [ "${v#pm2}" != "$v" ]; then stop_pm2 "$home"; else stop_herd "$home"; fi
  kill_leftover_apps
}

echo "# reload.sh: $(nproc) CPUs, $(uname -r); herd $("$herd" version 2>/dev/null | awk '{print $2}'), node $(node --version 2>/dev/null || echo -)${pm2:+, pm2 $(pm2_version_of "$pm2")}"
echo "# load:      wrk -t2 -c64 -d${duration}s http://127.0.0.1:PORT/"
echo "# herd+hello: herd start $hello_bin -n hello -i 2 --listen 127.0.0.1:PORT -- --host 127.0.0.1 --port PORT"
echo "# herd+node:  herd start $hello_js -n hello -i 2 --listen 127.0.0.1:PORT --wait-ready"
echo "# pm2+node:   pm2 start $hello_js -n hello -i 2 -- PORT"
echo "# herd+plain: herd start $plain_js -n hello -i 2 -- PORT"
echo "# pm2+plain:  pm2 start $plain_js -n hello -i 2 -- PORT"
echo "# herd+python: herd start \"python3 -m http.server PORT --bind 127.0.0.1\" -n hello -i 2"
echo "# actions:   <manager> reload hello | <manager> restart hello | <manager> update   at 5 s and 10 s;"
echo "#            kill -9 \$(cat <home>/pids/hello-<0|1>.pid) every second"
for ((r = 1; r <= rounds; r++)); do
  for act in "${acts[@]}"; do
    for v in "${variants[@]}"; do run_one "$v" "$act" "$r"; done
  done
done

echo
printf '%-12s %-8s %9s %8s %8s %6s %6s %8s %8s  %s\n' manager action requests req/s connect read write timeout non-2xx "command ms (each)"
for act in "${acts[@]}"; do
  for v in "${variants[@]}"; do
    k="$v.$act"
    case "$v" in
      hello) label="herd+hello" ;; node) label="herd+node" ;; pm2) label="pm2+node" ;;
      plain) label="herd+plain" ;; pm2plain) label="pm2+plain" ;; python) label="herd+python" ;;
    esac
    printf '%-12s %-8s %9s %8s %8s %6s %6s %8s %8s  %s\n' "$label" "$act" "$(median "$k" requests)" \
      "$(median "$k" rps)" "$(median "$k" connect)" "$(median "$k" read)" "$(median "$k" write)" \
      "$(median "$k" timeout)" "$(median "$k" non2xx)" "$(all_of "$k" duration_ms)"
  done
done
for v in hello node; do
  h="$(median "$v.reload" duration_ms)"; p="$(median pm2.reload duration_ms)"
  if [ "$h" != "-" ] && [ "$p" != "-" ]; then
    awk -v h="$h" -v p="$p" -v v="$v" 'BEGIN { printf "reload time, herd+%s / pm2+node: %.1f ms / %.1f ms = %.3f (goal <= 0.2)\n", v, h, p, h / p }'
  fi
done
for v in hello node plain; do
  h="$(median "$v.update" duration_ms)"; p="$(median pm2.update duration_ms)"
  [ "$v" = plain ] && p="$(median pm2plain.update duration_ms)"
  if [ "$h" != "-" ] && [ "$p" != "-" ]; then
    awk -v h="$h" -v p="$p" -v v="$v" 'BEGIN { printf "update time, herd+%s / pm2: %.1f ms / %.1f ms = %.3f\n", v, h, p, h / p }'
  fi
done
# The unmodified Node server: herd's cluster mode against PM2's, same app, same load.
h="$(median plain.reload duration_ms)"; p="$(median pm2plain.reload duration_ms)"
if [ "$h" != "-" ] && [ "$p" != "-" ]; then
  awk -v h="$h" -v p="$p" 'BEGIN { printf "reload time, herd+plain / pm2+plain: %.1f ms / %.1f ms = %.3f (goal <= 0.5)\n", h, p, h / p }'
  awk -v h="$(median plain.reload rps)" -v p="$(median pm2plain.reload rps)" 'BEGIN { if (p > 0) printf "req/s during reloads, herd+plain / pm2+plain: %.0f / %.0f = %.2f (goal >= 1)\n", h, p, h / p }'
fi
