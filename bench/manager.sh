#!/usr/bin/env bash
# bench/manager.sh: herd, the process manager, side by side with PM2 in one run.
#
# Usage:
#   BUILD=build bench/manager.sh [--rounds N] [--kills N] [--runs N] [--budget SECONDS]
#                                [--only hello,node,pm2] [--no-hyperfine]
#   bench/manager.sh --health [...]   what health checks cost the daemon: runs
#                                     bench/manager_health.sh (100 instances, with and without
#                                     an HTTP check every second; see its --help)
#
#   BUILD      the CMake build dir holding bin/herd (and bin/hello); default build (relative to
#              the repository root unless absolute)
#   PM2        a pm2 executable to use; default `pm2` from PATH, else PM2 is installed with npm
#              into the temp dir (npm install --prefix "$tmp/pm2" pm2@latest)
#   --rounds   interleaved rounds (herd[hello] herd[node] pm2, herd[hello] herd[node] pm2, ...);
#              default 3. Rounds are dropped (and the table says so) when the next would not fit
#              in the time budget.
#   --kills    kill -9 recoveries measured per round and manager; default 2
#   --runs     hyperfine --runs for ls/jlist; default 20 (with --warmup 3)
#   --budget   the whole script's wall-clock bound, in seconds; default 285
#   BEFORE     another build dir (an earlier herd): adds the manager `before`, herd from
#              BEFORE/bin/herd running BEFORE/bin/hello as `hello` does, and a table of this
#              build against it (same run, interleaved rounds): BEFORE=/tmp/old --only hello,before
#   --only     a comma-separated subset of the managers: hello (herd running build/bin/hello),
#              node (herd running bench/node/hello.js), pm2
#   --no-hyperfine  time ls/jlist with the script's own loop (3 warm-ups, --runs timed runs,
#              median), as it does when hyperfine is not installed
#
# What is measured, per round and manager, each in a fresh home (HERD_HOME / PM2_HOME under a
# temp dir) with a fresh daemon:
#   daemon start   wall time of the first command (`herd ping` / `pm2 ping`), which starts it
#   RSS idle       VmRSS of the daemon (/proc/<pid>/status; pid from $HERD_HOME/herd.pid or
#                  $PM2_HOME/pm2.pid) 1 s after it started, no app
#   start -i 4     the start command runs in the background while `jlist` is polled (10 ms
#                  between polls) until 4 instances are "online": the time from launching the
#                  command to the end of the first poll that saw 4 online. Also: the wall time
#                  of the start command itself (herd's `start` waits for the instances to
#                  settle), when the 4th Node hello listened (from the apps' own clock, below),
#                  and when the 4th instance was spawned (the manager's pm_uptime, ms).
#   RSS 4 apps     VmRSS of the daemon 1 s after all 4 instances were online
#   ls, jlist      hyperfine -N --warmup 3 --runs 20 (median), 4 instances running
#   kill -9        one instance (pm_id 0, then 1, ...; each up for > 1.5 s, past min_uptime) is
#                  killed with SIGKILL. The Node hello appends "<pid> <epoch us>" to
#                  $BENCH_READY_FILE once it listens (PM2's cluster worker: once the master
#                  routes connections to it), so "kill -9 -> new pid listening" is exact, from
#                  the app's clock, without polling a CLI; the new pid must then be the slot's
#                  pid in jlist, online, and answer a request on the port (x-pid header).
#                  ("Any response from a pid other than the killed one" would be immediate:
#                  3 instances still serve. "The first response from the new pid" measures,
#                  under herd, which process the kernel hands a connection on the shared socket,
#                  not the recovery: herd gives every instance the same listening socket, PM2
#                  routes round robin.) "kill -9 -> jlist new pid online + 200": jlist polled
#                  every 2 ms (for the Node hello, from the moment it listens) until the slot
#                  has a new pid, online, then one request gets a 200; for PM2 this includes its
#                  own jlist (hundreds of ms of Node start-up). build/bin/hello sends no pid, so
#                  for it the jlist figure is the only one, and the goal row uses it (an upper
#                  bound: its READY=1 comes after it listens). Also: the replacement's spawn
#                  time (pm_uptime) - the manager's own reaction.
# jlist is parsed by one long-lived node process (not jq per poll), so a poll costs one CLI run.
# Servers: herd runs build/bin/hello in cluster mode
#   herd start build/bin/hello -i 4 --listen 127.0.0.1:PORT -- --host 127.0.0.1 --port PORT
# (hello adopts the inherited socket for that address and sends READY=1), and the Node hello
#   herd start bench/node/hello.js -i 4 --listen 127.0.0.1:PORT --wait-ready
# (it listens on the inherited fd 3 and calls process.send('ready'); without --wait-ready herd
# calls a program that sends no readiness "online" after min_uptime, 1 s). PM2 runs the same
# Node hello in its cluster mode:   pm2 start bench/node/hello.js -i 4 -- PORT
# Every figure in the table is the median over the rounds (over rounds x kills for kill -9).
# The exact commands are printed before the first round. Every port is on 127.0.0.1. Both
# daemons (and any instance left) are stopped on exit, also on ^C, an error or the time budget,
# and the temp dir is removed.
set -euo pipefail

script_start=${EPOCHREALTIME/./}
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-build}"
[[ "$BUILD" == /* ]] || BUILD="$root/$BUILD"
rounds=3
kills=2
runs=20
budget=285
only="hello,node,pm2"
no_hyperfine=0

while [ $# -gt 0 ]; do
  case "$1" in
    --health) shift; exec "$(dirname "$0")/manager_health.sh" "$@" ;;
    --rounds) rounds="$2"; shift 2 ;;
    --kills) kills="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --no-hyperfine) no_hyperfine=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "manager.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

herd="$BUILD/bin/herd"
hello_bin="$BUILD/bin/hello"
BEFORE="${BEFORE:-}"
[ -z "$BEFORE" ] || [[ "$BEFORE" == /* ]] || BEFORE="$root/$BEFORE"
before_herd="$BEFORE/bin/herd"
before_hello="$BEFORE/bin/hello"
hello_js="$root/bench/node/hello.js"

need() { command -v "$1" >/dev/null || { echo "manager.sh: '$1' not found ($2)" >&2; exit 1; }; }
need node "node 20 is needed for PM2 and the Node hello"
need jq "apt-get install jq"
have_hyperfine=0
[ "$no_hyperfine" = 0 ] && command -v hyperfine >/dev/null && have_hyperfine=1
[ -f "$hello_js" ] || { echo "manager.sh: $hello_js missing" >&2; exit 1; }

variants=()
IFS=',' read -r -a wanted <<<"$only"
for v in "${wanted[@]}"; do
  case "$v" in
    hello)
      if [ -x "$hello_bin" ]; then variants+=(hello)
      else echo "manager.sh: $hello_bin not built; herd runs only the Node hello" >&2; fi ;;
    node|pm2) variants+=("$v") ;;
    before)
      if [ -n "$BEFORE" ] && [ -x "$before_herd" ] && [ -x "$before_hello" ]; then variants+=(before)
      else echo "manager.sh: 'before' needs BEFORE=<build dir> with bin/herd and bin/hello" >&2; exit 2; fi ;;
    *) echo "manager.sh: unknown manager '$v' (hello, node, pm2, before)" >&2; exit 2 ;;
  esac
done
[ ${#variants[@]} -gt 0 ] || { echo "manager.sh: nothing to run" >&2; exit 2; }
want_pm2=0
want_herd=0
for v in "${variants[@]}"; do if [ "$v" = pm2 ]; then want_pm2=1; else want_herd=1; fi; done
if [ "$want_herd" = 1 ] && [ ! -x "$herd" ]; then
  echo "manager.sh: $herd missing; build it: cmake -S $root -B $BUILD -G Ninja && ninja -C $BUILD herd_cli hello" >&2
  exit 1
fi

# --- temp dir, cleanup, time budget ---------------------------------------------------------
tmp="$(mktemp -d /tmp/herd-bench-mgr.XXXXXX)"
mkdir -p "$tmp/samples" "$tmp/logs"
pm2=""
herd_homes=()   # every HERD_HOME this run used
pm2_homes=()    # every PM2_HOME this run used
watchdog=""
sleep_fd=""
jparse_pid=""

bench_name=manager.sh
. "$root/bench/lib/managers.sh"   # pid_alive, stop_herd, stop_pm2, run_waiting, ...

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_job "$fg_pid"
  stop_job "$watchdog"
  stop_managers
  if [ -n "$jparse_pid" ]; then kill -TERM "$jparse_pid" 2>/dev/null || true; fi
  if [ -n "$sleep_fd" ]; then exec {sleep_fd}>&- || true; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The whole run is bounded: past the budget the script is stopped (and cleans up).
start_watchdog manager.sh "$budget"

# The jlist parser (see jlist_rows): reads a file name per line, answers with rows and "end".
coproc JPARSE {
  exec node -e '
    const fs = require("fs");
    require("readline").createInterface({ input: process.stdin }).on("line", (f) => {
      let out = "";
      try {
        for (const p of JSON.parse(fs.readFileSync(f, "utf8")))
          out += `${p.pm_id} ${p.pid} ${p.pm2_env.status} ${p.pm2_env.pm_uptime}\n`;
      } catch (e) {}
      process.stdout.write(out + "end\n");
    });'
}
jparse_pid=$JPARSE_PID

# A sleep without a process: read with a timeout on a pipe nobody writes to.
mkfifo "$tmp/never"
exec {sleep_fd}<>"$tmp/never"
nap() { read -r -t "$1" -u "$sleep_fd" _ || true; }

now_us() { NOW=${EPOCHREALTIME/./}; }   # sets NOW (microseconds), no subshell
elapsed_s() { now_us; echo $(( (NOW - script_start) / 1000000 )); }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }

# One HTTP/1.1 request to 127.0.0.1:$1 (Connection: close) from bash itself. Returns 0 on a
# 200 answer; sets XPID to the x-pid header ("" when absent).
http_get() {
  local port="$1" fd line ok=1
  XPID=""
  { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&"$fd" 2>/dev/null || { exec {fd}>&-; return 1; }
  while IFS= read -r -t 1 -u "$fd" line; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    case "${line,,}" in
      "http/1."?" 200"*) ok=0 ;;
      x-pid:*) XPID="${line#*:}"; XPID="${XPID// /}" ;;
    esac
  done
  exec {fd}>&-
  return "$ok"
}

add_sample() { echo "$3" >>"$tmp/samples/$1.$2"; }   # variant metric value
median() {
  local f="$tmp/samples/$1.$2"
  [ -s "$f" ] || { echo nan; return; }
  sort -g "$f" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
count() { local f="$tmp/samples/$1.$2"; [ -s "$f" ] && wc -l <"$f" | tr -d ' ' || echo 0; }

# --- PM2 ------------------------------------------------------------------------------------
if [ "$want_pm2" = 1 ]; then
  install_pm2
fi

# --- one manager, one round -----------------------------------------------------------------
# Per variant: the CLI, how its home is named, and the start command for a port.
cli() {  # variant args...: runs the manager's CLI in the current home
  case "$1" in
    pm2) shift; PM2_HOME="$home" timeout 30 "$pm2" "$@" ;;
    before) shift; HERD_HOME="$home" timeout 10 "$before_herd" "$@" ;;
    *) shift; HERD_HOME="$home" timeout 10 "$herd" "$@" ;;
  esac
}
start_args() {  # variant port: sets START_ARGS
  case "$1" in
    hello) START_ARGS=(start "$hello_bin" -i 4 --listen "127.0.0.1:$2" -- --host 127.0.0.1 --port "$2") ;;
    before) START_ARGS=(start "$before_hello" -i 4 --listen "127.0.0.1:$2" -- --host 127.0.0.1 --port "$2") ;;
    node) START_ARGS=(start "$hello_js" -i 4 --listen "127.0.0.1:$2" --wait-ready) ;;
    pm2) START_ARGS=(start "$hello_js" -i 4 -- "$2") ;;
  esac
}
home_var() { [ "$1" = pm2 ] && echo PM2_HOME || echo HERD_HOME; }
exe_of() {
  case "$1" in pm2) echo "$pm2" ;; before) echo "$before_herd" ;; *) echo "$herd" ;; esac
}
pidfile_of() { [ "$1" = pm2 ] && echo "$home/pm2.pid" || echo "$home/herd.pid"; }

# jlist as "pm_id pid status pm_uptime" lines (pm_uptime: the instance's spawn time, epoch ms,
# set by the manager); empty on any failure. A node coprocess parses the JSON, so
# a poll costs one process (the manager's CLI), not three (CLI, jq, sort): the polls measure
# the manager, not this script. No `timeout` here either: the watchdog bounds the run.
jlist_rows() {
  local line
  case "$1" in
    pm2) PM2_HOME="$home" "$pm2" jlist >"$tmp/jlist.json" 2>/dev/null || : >"$tmp/jlist.json" ;;
    *) HERD_HOME="$home" "$(exe_of "$1")" jlist >"$tmp/jlist.json" 2>/dev/null || : >"$tmp/jlist.json" ;;
  esac
  echo "$tmp/jlist.json" >&"${JPARSE[1]}"
  ROWS=()
  while IFS= read -r -u "${JPARSE[0]}" line && [ "$line" != end ]; do ROWS+=("$line"); done
}
# The row of pm_id $2 from a fresh jlist: sets SLOT_PID, SLOT_STATUS, SLOT_SPAWNED ("" when
# absent).
slot_row() {
  local row id pid status up
  jlist_rows "$1"
  SLOT_PID=""; SLOT_STATUS=""; SLOT_SPAWNED=""
  for row in "${ROWS[@]}"; do
    read -r id pid status up <<<"$row"
    if [ "$id" = "$2" ]; then SLOT_PID="$pid"; SLOT_STATUS="$status"; SLOT_SPAWNED="$up"; fi
  done
}
# Both jlists are compact JSON with one "status" per process (pm2_env.status): counting the
# string keeps a jq process out of the 10 ms poll loop.
online_count() {
  local out rest
  case "$1" in
    pm2) out="$(PM2_HOME="$home" "$pm2" jlist 2>/dev/null)" || out="" ;;
    *) out="$(HERD_HOME="$home" "$(exe_of "$1")" jlist 2>/dev/null)" || out="" ;;
  esac
  rest="${out//\"status\":\"online\"/}"
  echo $(( (${#out} - ${#rest}) / 17 ))
}
record_app_pids() {
  local row
  jlist_rows "$1"
  for row in "${ROWS[@]}"; do set -- $row; echo "$2" >>"$tmp/app-pids"; done
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo nan; }

# ls/jlist latency, median in ms, into the samples.
latency() {  # variant verb round
  local v="$1" verb="$2" r="$3" exe json med
  exe="$(exe_of "$v")"
  json="$tmp/logs/hf-$v-$verb-$r.json"
  if [ "$have_hyperfine" = 1 ]; then
    run_waiting env "$(home_var "$v")=$home" timeout 120 hyperfine -N --warmup 3 --runs "$runs" \
      --export-json "$json" "$exe $verb" >>"$tmp/logs/hyperfine.log" 2>&1
    med="$(jq '.results[0].median * 1000' "$json")"
  else
    local i t0 f="$tmp/logs/rep-$v-$verb-$r"
    : >"$f"
    for i in 1 2 3; do cli "$v" "$verb" >/dev/null 2>&1; done
    for ((i = 0; i < runs; i++)); do
      now_us; t0=$NOW
      cli "$v" "$verb" >/dev/null 2>&1
      now_us; echo $((NOW - t0)) >>"$f"
    done
    med="$(sort -n "$f" | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000 }')"
  fi
  add_sample "$v" "$verb" "$med"
  printf '  %-6s %-5s median %8.2f ms\n' "$v" "$verb" "$med"
}

# Waits (10 ms between polls, at most $2 s) until jlist shows 4 online; sets T_ONLINE (us).
wait_online4() {
  local v="$1" limit="$2" t0 n
  now_us; t0=$NOW
  while :; do
    n="$(online_count "$v")"
    now_us
    if [ "$n" = 4 ]; then T_ONLINE=$NOW; return 0; fi
    if [ $((NOW - t0)) -gt $((limit * 1000000)) ]; then return 1; fi
    nap 0.01
  done
}

# The pids in the ready file (bench/node/hello.js appends "<pid> <epoch us>" once listening).
ready_file() { echo "$home/ready"; }

# One kill -9 and the recovery. Samples:
#   recovery_listen  kill -> the new pid listening, on the app's clock (Node hello only)
#   recovery_jlist   kill -> jlist shows a new pid online for the slot and a request gets a 200
#                    (polled; for the Node hello the poll starts once the new pid listens, so
#                    that PM2's ~100 ms-of-CPU jlist does not compete with its own restart)
#   recovery_serve   the goal's figure: recovery_listen, or recovery_jlist for bin/hello
recover_once() {  # variant port slot
  local v="$1" port="$2" slot="$3" rows victim old t0 t_listen="" t_jlist="" new_listen="" new_slot=""
  local row limit p ts i skip served="" spawned=""
  slot_row "$v" "$slot"
  victim="$SLOT_PID"
  old=" "
  for row in "${ROWS[@]}"; do set -- $row; old+="$2 "; done
  if [ -z "$victim" ] || [ "$victim" = 0 ]; then echo "  $v: no pid for slot $slot in jlist" >&2; return 1; fi
  skip="$(awk 'END { print NR }' "$(ready_file)")"
  now_us; t0=$NOW
  limit=$((t0 + 10000000))
  kill -KILL "$victim"
  if [ "$v" != hello ] && [ "$v" != before ]; then
    # The ready file, read by bash itself every 2 ms, until a line written after the kill by a
    # pid that did not exist before.
    while [ -z "$new_listen" ]; do
      i=0
      while read -r p ts; do
        i=$((i + 1))
        [ "$i" -gt "$skip" ] || continue
        if [[ "$old" != *" $p "* ]]; then new_listen="$p"; t_listen="$ts"; break; fi
      done <"$(ready_file)"
      [ -n "$new_listen" ] && break
      now_us; [ "$NOW" -lt "$limit" ] || { echo "  $v: no new pid listening within 10 s" >&2; return 1; }
      nap 0.002
    done
  fi
  # jlist: the slot has a pid that is not the victim's, online; then one request succeeds.
  while :; do
    slot_row "$v" "$slot"
    if [ -n "$SLOT_PID" ] && [ "$SLOT_PID" != "$victim" ] && [ "$SLOT_PID" != 0 ] &&
       [ "$SLOT_STATUS" = online ] && http_get "$port"; then
      now_us; t_jlist=$NOW; new_slot="$SLOT_PID"; spawned="$SLOT_SPAWNED"; break
    fi
    now_us; [ "$NOW" -lt "$limit" ] || { echo "  $v: slot $slot not back online within 10 s" >&2; return 1; }
    nap 0.002
  done
  echo "$new_slot" >>"$tmp/app-pids"
  if [ -n "$new_listen" ] && [ "$new_listen" != "$new_slot" ]; then
    echo "  $v: the new pid listening ($new_listen) is not the slot's new pid in jlist ($new_slot)" >&2
    return 1
  fi
  add_sample "$v" recovery_jlist "$(ms $((t_jlist - t0)))"
  # The manager's own part: kill -> the replacement spawned (its pm_uptime, ms resolution).
  [[ "$spawned" =~ ^[0-9]+$ ]] && add_sample "$v" recovery_spawn "$(ms $((spawned * 1000 - t0)))"
  if [ -n "$t_listen" ]; then
    # Check that the port is really served by the new pid (x-pid); not timed: with one shared
    # socket (herd) which process accepts a connection is up to the kernel, not round robin.
    for ((i = 0; i < 400; i++)); do
      if http_get "$port" && [ "$XPID" = "$new_listen" ]; then served=" (and answers on the port)"; break; fi
    done
    [ -n "$served" ] || served=" (WARNING: no answer from it in 400 requests)"
    add_sample "$v" recovery_listen "$(ms $((t_listen - t0)))"
    add_sample "$v" recovery_serve "$(ms $((t_listen - t0)))"
    printf '  %-6s kill -9 pid %s (slot %s) -> new pid %s listening %7.1f ms%s; jlist online + 200 %7.1f ms\n' \
      "$v" "$victim" "$slot" "$new_listen" "$(ms $((t_listen - t0)))" "$served" "$(ms $((t_jlist - t0)))"
  else
    add_sample "$v" recovery_serve "$(ms $((t_jlist - t0)))"
    printf '  %-6s kill -9 pid %s (slot %s) -> jlist shows new pid %s online + 200 %7.1f ms\n' \
      "$v" "$victim" "$slot" "$new_slot" "$(ms $((t_jlist - t0)))"
  fi
}

run_round() {  # variant round
  local v="$1" r="$2" port pidfile dpid t0 t1 startpid k n rc row
  home="$tmp/$v-$r"
  mkdir -p "$home"
  if [ "$v" = pm2 ]; then pm2_homes+=("$home"); else herd_homes+=("$home"); fi
  pidfile="$(pidfile_of "$v")"
  port="$(free_port)"
  echo "round $r, $v ($(home_var "$v")=$home, port $port)"

  # The daemon, started by the first command.
  now_us; t0=$NOW
  cli "$v" ping >>"$tmp/logs/$v-$r.log" 2>&1
  now_us; t1=$NOW
  add_sample "$v" daemon_start "$(ms $((t1 - t0)))"
  dpid="$(pid_in "$pidfile")"
  pid_alive "$dpid" || { echo "manager.sh: $v daemon did not start (no live pid in $pidfile)" >&2; exit 1; }
  nap 1
  add_sample "$v" rss_idle "$(rss_kb "$dpid")"
  printf '  %-6s daemon pid %s started in %.1f ms; RSS idle %s kB\n' "$v" "$dpid" "$(ms $((t1 - t0)))" "$(rss_kb "$dpid")"

  # start -i 4: the command in the background, jlist polled until 4 online.
  rm -f "$tmp/start-end"
  : >"$(ready_file)"
  start_args "$v" "$port"
  now_us; t0=$NOW
  (
    rc=0
    BENCH_READY_FILE="$(ready_file)" cli "$v" "${START_ARGS[@]}" >>"$tmp/logs/$v-$r.log" 2>&1 || rc=$?
    echo "${EPOCHREALTIME/./} $rc" >"$tmp/start-end"
  ) &
  startpid=$!
  if ! wait_online4 "$v" 20; then
    wait "$startpid" || true
    echo "manager.sh: $v: 4 instances not online within 20 s; log:" >&2
    cat "$tmp/logs/$v-$r.log" >&2
    exit 1
  fi
  wait "$startpid" || true
  n="$(cli "$v" jlist 2>/dev/null | jq '[.[] | select(.pm2_env.status == "online")] | length')"
  [ "$n" = 4 ] || { echo "manager.sh: $v: the poll saw 4 online, jq counts $n" >&2; exit 1; }
  read -r t1 rc <"$tmp/start-end"
  [ "$rc" = 0 ] || { echo "manager.sh: $v start exited $rc" >&2; cat "$tmp/logs/$v-$r.log" >&2; exit 1; }
  add_sample "$v" start_online "$(ms $((T_ONLINE - t0)))"
  add_sample "$v" start_cmd "$(ms $((t1 - t0)))"
  record_app_pids "$v"
  # The manager's own part: start -> the 4th instance spawned (pm_uptime, ms resolution).
  n=0
  for row in "${ROWS[@]}"; do set -- $row; [ "${4:-0}" -gt "$n" ] 2>/dev/null && n="$4"; done
  [ "$n" -gt 0 ] && add_sample "$v" start_spawn "$(ms $((n * 1000 - t0)))"
  printf '  %-6s 4th instance spawned %.1f ms after the start command began\n' "$v" "$(ms $((n * 1000 - t0)))"
  printf '  %-6s start -i 4: 4 online after %.1f ms (jlist polled); the start command took %.1f ms' \
    "$v" "$(ms $((T_ONLINE - t0)))" "$(ms $((t1 - t0)))"
  if [ "$v" != hello ] && [ "$v" != before ]; then
    # The last of the 4 instances to listen, on the apps' clock.
    n="$(awk 'END { print NR }' "$(ready_file)")"
    [ "$n" = 4 ] || { echo; echo "manager.sh: $v: $n lines in the ready file, not 4" >&2; exit 1; }
    t1="$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$(ready_file)")"
    add_sample "$v" start_listen "$(ms $((t1 - t0)))"
    printf '; the 4th listened after %.1f ms' "$(ms $((t1 - t0)))"
  fi
  echo
  http_get "$port" || { echo "manager.sh: $v: no answer on 127.0.0.1:$port" >&2; exit 1; }

  nap 1
  add_sample "$v" rss_apps "$(rss_kb "$dpid")"
  printf '  %-6s RSS with 4 instances %s kB\n' "$v" "$(rss_kb "$dpid")"

  latency "$v" ls "$r"
  latency "$v" jlist "$r"

  for ((k = 0; k < kills; k++)); do
    nap 1.6   # every instance past min_uptime (1 s), so the restart is not a crash-loop one
    recover_once "$v" "$port" "$k" || exit 1
  done

  if [ "$v" = pm2 ]; then stop_pm2 "$home"; else stop_herd "$home"; fi
  kill_leftover_apps
}

# --- the commands ---------------------------------------------------------------------------
echo "# bench/manager.sh: herd vs PM2, $(nproc) CPU, $(uname -r), node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# herd: $herd"
if [ "$want_pm2" = 1 ]; then
  pm2_version="$(pm2_version_of "$pm2")"
  echo "# pm2:  $pm2 (PM2 $pm2_version)"
fi
echo "# commands (PORT: a free port per round; each round has a fresh home and daemon):"
for v in "${variants[@]}"; do
  hv="$(home_var "$v")"; exe="$(exe_of "$v")"
  echo "#  [$v] $hv=$tmp/$v-<round>"
  pf="herd.pid"; [ "$v" = pm2 ] && pf="pm2.pid"
  echo "#    $exe ping                      # starts the daemon; RSS: VmRSS in /proc/\$(cat \$$hv/$pf)/status"
  start_args "$v" PORT
  echo "#    BENCH_READY_FILE=\$$hv/ready $exe ${START_ARGS[*]}"
  echo "#    $exe jlist                     # polled every 10 ms (from the start command's launch) until 4 online"
  if [ "$have_hyperfine" = 1 ]; then
    echo "#    hyperfine -N --warmup 3 --runs $runs --export-json FILE '$exe ls'"
    echo "#    hyperfine -N --warmup 3 --runs $runs --export-json FILE '$exe jlist'"
  else
    echo "#    $exe ls; $exe jlist            # 3 warm-ups + $runs timed runs each, median"
  fi
  if [ "$v" = hello ] || [ "$v" = before ]; then
    echo "#    kill -9 <pid of pm_id K>; $exe jlist every 2 ms until pm_id K has a new pid, online; GET http://127.0.0.1:PORT/"
  else
    echo "#    kill -9 <pid of pm_id K>; wait for the new pid's line in \$BENCH_READY_FILE; $exe jlist every 2 ms until pm_id K"
    echo "#      has that pid, online; GET http://127.0.0.1:PORT/; GETs until one is answered by it (x-pid)"
  fi
  echo "#    $exe kill"
done
echo

# --- the rounds -----------------------------------------------------------------------------
done_rounds=0
round_s=0
for ((r = 1; r <= rounds; r++)); do
  now_us; rs=$NOW
  if [ "$r" -gt 1 ] && [ $(( (rs - script_start) / 1000000 + round_s + 10 )) -gt "$budget" ]; then
    echo "# stopping after $done_rounds round(s): another (~${round_s}s) would pass the ${budget}s budget"
    break
  fi
  # Odd rounds in the given order, even rounds reversed: a manager measured right after another
  # one's teardown (its processes still exiting) is not always the same one.
  order=("${variants[@]}")
  if [ $((r % 2)) -eq 0 ]; then
    order=()
    for ((k = ${#variants[@]} - 1; k >= 0; k--)); do order+=("${variants[$k]}"); done
  fi
  for v in "${order[@]}"; do run_round "$v" "$r"; done
  done_rounds=$r
  now_us; round_s=$(( (NOW - rs) / 1000000 + 1 ))
done

# --- the table ------------------------------------------------------------------------------
herd_variants=()
for v in "${variants[@]}"; do [ "$v" != pm2 ] && herd_variants+=("$v"); done

echo
echo "## herd vs PM2: medians over $done_rounds round(s) (kill -9: over $done_rounds x $kills)"
echo
fmt_val() {  # value unit
  case "$1" in nan|"") echo "-" ;; *)
    case "$2" in
      ms) awk -v x="$1" 'BEGIN { printf (x < 10 ? "%.2f ms" : "%.0f ms"), x }' ;;
      kB) awk -v x="$1" 'BEGIN { printf "%.1f MiB", x / 1024 }' ;;
    esac ;;
  esac
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.1fx", a / b }'; }
verdict() {  # kind herd pm2 goal
  awk -v k="$1" -v h="$2" -v p="$3" -v g="$4" 'BEGIN {
    if (g == "" ) { print ""; exit }
    if (h == "nan" || (k == "ratio" && p == "nan")) { print "-"; exit }
    if (k == "ratio") ok = (p / h >= g); else ok = (h <= g);
    print ok ? "PASS" : "MISS" }'
}
printf '| %-42s | %-9s | %9s | %9s | %8s | %-13s | %-6s |\n' metric "herd runs" herd pm2 pm2/herd goal result
dashes() { printf -- '-%.0s' $(seq "$1"); }
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(dashes 44)" "$(dashes 11)" "$(dashes 11)" "$(dashes 11)" \
  "$(dashes 10)" "$(dashes 15)" "$(dashes 8)"
row() {  # label metric unit goal-kind goal-value goal-text
  local label="$1" metric="$2" unit="$3" kind="$4" goal="$5" text="$6" v h p hv
  p="$( [ "$want_pm2" = 1 ] && median pm2 "$metric" || echo nan)"
  for v in "${herd_variants[@]:-none}"; do
    h="$(median "$v" "$metric")"
    [ "$h" = nan ] && [ "$(count pm2 "$metric")" = 0 ] && continue
    case "$v" in hello) hv="bin/hello" ;; node) hv="hello.js" ;; before) hv="before" ;; *) hv="-" ;; esac
    local g=""
    if [ "$kind" = ratio ]; then g="$goal"; elif [ "$kind" = max ]; then g="$goal"; fi
    printf '| %-42s | %-9s | %9s | %9s | %8s | %-13s | %-6s |\n' "$label" "$hv" \
      "$(fmt_val "$h" "$unit")" "$(fmt_val "$p" "$unit")" "$(ratio "$p" "$h")" "$text" \
      "$(verdict "$kind" "$h" "$p" "$g")"
  done
}
row "ls latency (4 instances)" ls ms ratio 40 ">= 40x faster"
row "jlist latency (4 instances)" jlist ms none "" ""
row "daemon start (first command)" daemon_start ms none "" ""
row "daemon RSS, idle" rss_idle kB none "" ""
row "daemon RSS, 4 instances" rss_apps kB max 5120 "<= 5 MiB"
row "start -i 4 -> 4 online (jlist polled)" start_online ms ratio 20 ">= 20x faster"
row "start -i 4: the start command's wall" start_cmd ms none "" ""
row "start -i 4 -> 4 listening (apps' clock)" start_listen ms none "" ""
row "start -i 4 -> 4th spawned (pm_uptime)" start_spawn ms none "" ""
row "kill -9 -> new pid serving (*)" recovery_serve ms ratio 10 ">= 10x faster"
row "kill -9 -> new pid listening (app clock)" recovery_listen ms none "" ""
row "kill -9 -> jlist new pid online + 200" recovery_jlist ms none "" ""
row "kill -9 -> new pid spawned (pm_uptime)" recovery_spawn ms none "" ""
echo
if [[ " ${variants[*]} " == *" before "* && " ${variants[*]} " == *" hello "* ]]; then
  echo "This build against BEFORE ($before_herd), both running bin/hello; before/now > 1: now is"
  echo "lower (faster, smaller):"
  printf '| %-30s | %9s | %9s | %10s |\n' "metric" "now" "before" "before/now"
  for m in ls:ms jlist:ms daemon_start:ms rss_idle:kB rss_apps:kB start_online:ms; do
    metric="${m%%:*}"; unit="${m##*:}"
    now="$(median hello "$metric")"; was="$(median before "$metric")"
    printf '| %-30s | %9s | %9s | %10s |\n' "$metric" "$(fmt_val "$now" "$unit")" \
      "$(fmt_val "$was" "$unit")" "$(ratio "$was" "$now")"
  done
  echo
fi
echo "herd runs: the server herd supervises (bin/hello: $hello_bin; hello.js: $hello_js with"
echo "--wait-ready). PM2 always runs hello.js in its cluster mode. Times: lower is better; pm2/herd > 1"
echo "means herd is faster. (*) kill -9 -> new pid serving: for hello.js (both managers) the moment the"
echo "new pid listens, from its own clock; bin/hello reports no pid, so for it the jlist figure (a new"
echo "pid online in its slot, then a 200): an upper bound, compared with PM2's listening figure."
echo "total: $(elapsed_s) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPU)"
