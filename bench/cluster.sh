#!/usr/bin/env bash
# bench/cluster.sh: herd's cluster (hello --workers 2) in each scheduling mode against two anchors
# measured side by side in the same run: Node 20's cluster module (2 workers, round robin) and
# nginx (2 workers). All answer every request with the same 13-byte "Hello World!\n". Beside
# them, an unmodified Node server (bench/node/plain-hello.js: listen(PORT), nothing else) run by
# herd's cluster mode (`herd start plain-hello.js -i 2`) and by PM2's (`pm2 start ... -i 2`).
#
# Usage:
#   bench/cluster.sh [--rounds N] [--duration 10s] [--connections 64] [--threads 1]
#                    [--warmup 2s] [--workers 2] [--kill-duration 6s] [--hello PATH]
#                    [--only hello-rr,hello-shared,hello-reuseport,node,nginx,herd-node,pm2-node]
#
#   --rounds         interleaved rounds (every server once per round); default 3
#   --duration       wrk -d per run; default 10s
#   --connections    wrk -c; default 64
#   --threads        wrk -t; default 1
#   --warmup         an uncounted wrk run per server before the rounds; default 2s ("0" skips it)
#   --workers        worker processes of every server; default 2
#   --kill-duration  the run during which one worker is killed with SIGKILL (2 s in); default 6s
#                    ("0" skips it)
#   --close-duration a run per server with "Connection: close" (a new connection per request:
#                    the spread of connections, which is what a scheduling mode decides); default
#                    5s ("0" skips it)
#   --hello          the hello binary; default build/bin/hello (build it Release: scripts/build)
#   --only           a comma-separated subset of the servers (herd-node and pm2-node need node;
#                    PM2 is installed with npm into the temp dir unless PM2 or PATH has one)
#
# Method (DESIGN.md, Benchmarks):
#   - every server listens on 127.0.0.1 only, on a port chosen free at start-up; nothing is
#     pinned: the workers and wrk share the machine's cores, as a cluster on a small box does;
#   - per run: wrk -t1 -c64 -d10s --latency; req/s and p99 come from wrk; the server's CPU time is
#     utime+stime from /proc of the primary (master) and every descendant, sampled right before
#     and after wrk, divided by the requests wrk completed;
#   - each worker's share of the requests: hello's primary prints its workers' request counts on
#     SIGUSR1, bench/node/cluster.js on SIGUSR2 (read before and after each run); nginx keeps no
#     per-worker count without an access log, so its share is each worker's share of the CPU time;
#   - the table shows the median over the rounds of each figure (and of the largest worker share:
#     50% is a perfect spread), and the ratios against nginx and Node;
#   - then, per server, one run during which a worker is killed with SIGKILL: the requests wrk
#     saw fail (socket errors: connect, read, write, timeout; and non-2xx answers).
#   - nginx runs with keepalive_requests 1000000, access_log off, every path under a temp dir.
#
# The exact commands are printed before the first run. Every process this script starts is
# stopped on exit (also on ^C or an error), and the temp dir is removed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=3
duration=10s
connections=64
threads=1
warmup=2s
workers=2
kill_duration=6s
close_duration=5s
hello="$root/build/bin/hello"
only="hello-rr,hello-shared,hello-reuseport,node,nginx,herd-node,pm2-node"
herd="$root/build/bin/herd"

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --kill-duration) kill_duration="$2"; shift 2 ;;
    --close-duration) close_duration="$2"; shift 2 ;;
    --hello) hello="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

IFS=',' read -r -a servers <<<"$only"
for s in "${servers[@]}"; do
  case "$s" in hello-rr|hello-shared|hello-reuseport|node|nginx|herd-node|pm2-node) ;;
    *) echo "cluster.sh: unknown server '$s'" >&2; exit 2 ;;
  esac
done
need() { command -v "$1" >/dev/null || { echo "cluster.sh: '$1' not found ($2)" >&2; exit 1; }; }
need wrk "apt-get install wrk"
need curl "apt-get install curl"
need pgrep "procps"
need ss "iproute2"
for s in "${servers[@]}"; do
  case "$s" in
    hello-*) [ -x "$hello" ] || { echo "cluster.sh: $hello missing; run scripts/build hello" >&2; exit 1; } ;;
    node|pm2-node) need node "apt-get install nodejs" ;;
    herd-node) need node "apt-get install nodejs"
      [ -x "$herd" ] || { echo "cluster.sh: $herd missing; run scripts/build" >&2; exit 1; } ;;
    nginx) need nginx "apt-get install nginx" ;;
  esac
done
clk_tck=$(getconf CLK_TCK)

tmp="$(mktemp -d /tmp/herd-bench-cluster.XXXXXX)"
mkdir -p "$tmp/logs"
declare -A pid_of=()
wrk_pid=""
pm2=""
bench_name=cluster.sh
# shellcheck source=bench/lib/managers.sh
source "$root/bench/lib/managers.sh"   # stop_herd, stop_pm2, install_pm2 (its free_port is
source "$root/bench/lib/http_common.sh" # replaced by http_common's, which sets REPLY)
herd_home="$tmp/herd-home"
pm2_home="$tmp/pm2-home"
cleanup() {
  stop_herd "$herd_home"
  if [ -n "$pm2" ]; then stop_pm2 "$pm2_home"; fi
  stop_servers
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -A port_of=() cmd_of=()
for s in "${servers[@]}"; do
  free_port
  port_of[$s]=$REPLY
  case "$s" in
    hello-*) cmd_of[$s]="$hello --host 127.0.0.1 --port ${port_of[$s]} --workers $workers --sched ${s#hello-}" ;;
    node) cmd_of[$s]="node $root/bench/node/cluster.js ${port_of[$s]} $workers" ;;
    nginx)
      write_nginx_conf "$tmp/nginx" "${port_of[$s]}" "$workers"
      cmd_of[$s]="nginx -e $tmp/nginx/error.log -p $tmp/nginx -c $tmp/nginx/nginx.conf"
      ;;
    herd-node) cmd_of[$s]="$herd start $root/bench/node/plain-hello.js -n hello -i $workers -- ${port_of[$s]}" ;;
    pm2-node)
      install_pm2
      cmd_of[$s]="$pm2 start $root/bench/node/plain-hello.js -n hello -i $workers -- ${port_of[$s]}"
      ;;
  esac
done

echo "# commands"
for s in "${servers[@]}"; do echo "$s: ${cmd_of[$s]}"; done
echo "load: wrk -t$threads -c$connections -d$duration --latency http://127.0.0.1:<port>/"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Each worker's request count so far, as "id=count ..." in REPLY ("" for nginx). The primary
# prints them on a signal; the lines after the last "stats end" are the answer.
worker_counts() {
  local s=$1 sig before
  case "$s" in hello-*) sig=USR1 ;; node) sig=USR2 ;; *) REPLY=""; return 0 ;; esac
  before=$(grep -c 'stats end' "$tmp/$s.out" || true)
  kill -"$sig" "${pid_of[$s]}"
  for _ in $(seq 100); do
    [ "$(grep -c 'stats end' "$tmp/$s.out" || true)" -gt "$before" ] && break
    sleep 0.05
  done
  REPLY=$(awk -v n="$before" '/stats end/ { ends++; next }
    ends == n && /stats worker/ {
      for (i = 1; i <= NF; i++) { if ($i == "worker") id = $(i + 1); if ($i == "requests") c = $(i + 1) }
      printf "%s=%s ", id, c }' "$tmp/$s.out")
}

# utime+stime of each child of server $1's master (nginx; herd's and PM2's daemons), as
# "pid=ticks ...".
child_ticks() {
  local p out=""
  for p in $(pgrep -P "${pid_of[$1]}"); do
    out+="$p=$(tree_ticks "$p") "
  done
  REPLY=$out
}

# Per-worker counts where the server keeps them, else each worker's CPU ticks, in REPLY.
shares_source() {
  case "$1" in nginx|herd-node|pm2-node) child_ticks "$1" ;; *) worker_counts "$1" ;; esac
}

# "a=1 b=2" before and "a=4 b=8" after -> the shares of the differences, "a:33% b:67%", in
# REPLY, and the largest share (percent) in MAX_SHARE.
shares() {
  REPLY=$(awk -v b="$1" -v a="$2" 'BEGIN {
    n = split(b, bs, " "); for (i = 1; i <= n; i++) { split(bs[i], kv, "="); before[kv[1]] = kv[2] }
    n = split(a, as, " "); total = 0
    for (i = 1; i <= n; i++) { split(as[i], kv, "="); d[kv[1]] = kv[2] - before[kv[1]]; total += d[kv[1]] }
    max = 0
    for (k in d) { s = total > 0 ? 100 * d[k] / total : 0; if (s > max) max = s; printf "%s:%.0f%% ", k, s }
    printf "\t%.1f", max }')
  MAX_SHARE=${REPLY##*$'\t'}
  REPLY=${REPLY%$'\t'*}
}

start_server() {
  local s=$1
  case "$s" in
    herd-node|pm2-node)
      # The manager's CLI starts its daemon, which is the tree measured (daemon + instances).
      # shellcheck disable=SC2086
      HERD_HOME="$herd_home" PM2_HOME="$pm2_home" ${cmd_of[$s]} >"$tmp/$s.out" 2>&1 || {
        cat "$tmp/$s.out" >&2; echo "cluster.sh: $s did not start" >&2; exit 1; }
      if [ "$s" = herd-node ]; then pid_of[$s]=$(pid_in "$herd_home/herd.pid"); else pid_of[$s]=$(pid_in "$pm2_home/pm2.pid"); fi
      ;;
    *)
      # shellcheck disable=SC2086  # the command line is split on purpose
      ${cmd_of[$s]} >"$tmp/$s.out" 2>&1 &
      pid_of[$s]=$!
      ;;
  esac
  local deadline=$((SECONDS + 15)) body
  while :; do
    body=$(curl -s --max-time 1 "http://127.0.0.1:${port_of[$s]}/" 2>/dev/null || true)
    if [ "$body" = "Hello World!" ]; then
      case "$s" in
        hello-*) [ "$(grep -c 'listening on' "$tmp/$s.out" || true)" -ge "$workers" ] && break ;;
        node) worker_counts node; [ "$(wc -w <<<"$REPLY")" -ge "$workers" ] && break ;;
        *) [ "$(pgrep -cP "${pid_of[$s]}" || true)" -ge "$workers" ] && break ;;
      esac
    fi
    if ! kill -0 "${pid_of[$s]}" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "cluster.sh: $s did not come up; its output:" >&2
      cat "$tmp/$s.out" >&2
      exit 1
    fi
    sleep 0.1
  done
}

run_wrk() {  # run_wrk <server> <duration> [wrk options...]: wrk's output in $tmp/wrk.out
  local s=$1 d=$2
  shift 2
  wrk -t"$threads" -c"$connections" -d"$d" --latency "$@" "http://127.0.0.1:${port_of[$s]}/" \
    >"$tmp/wrk.out" 2>&1 &
  wrk_pid=$!
}

declare -A rps_runs=() p99_runs=() cpu_runs=() max_runs=() share_last=()
run_one() {  # run_one <server> <duration> <counted: 1|0>
  local s=$1 d=$2 counted=$3 before after out requests rps p99 errors cpu_us counts_before
  shares_source "$s"
  counts_before=$REPLY
  before=$(tree_ticks "${pid_of[$s]}")
  run_wrk "$s" "$d"
  wait "$wrk_pid" || { echo "cluster.sh: wrk failed against $s:" >&2; cat "$tmp/wrk.out" >&2; exit 1; }
  wrk_pid=""
  after=$(tree_ticks "${pid_of[$s]}")
  shares_source "$s"
  shares "$counts_before" "$REPLY"
  [ "$counted" = 1 ] || return 0
  out=$(cat "$tmp/wrk.out")
  read_wrk_run cluster.sh
  max_runs[$s]+="$MAX_SHARE "
  share_last[$s]=$REPLY
  printf '%-16s %10s req/s  p99 %8s ms  %6s us CPU/request  shares %s (%s requests)%s\n' \
    "$s" "$rps" "$p99" "$cpu_us" "$REPLY" "$requests" "${errors:+  $errors}"
}

# One run with a worker killed (SIGKILL) 2 s in; prints the requests that failed.
declare -A killed_failed=()
kill_run() {
  local s=$1 victim out requests failed
  run_wrk "$s" "$kill_duration"
  sleep 2
  victim=$(pgrep -P "${pid_of[$s]}" | head -1)
  [ -n "$victim" ] && kill -KILL "$victim"
  wait "$wrk_pid" || true
  wrk_pid=""
  out=$(cat "$tmp/wrk.out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  failed=$(awk '/Socket errors/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { sub(",", "", $i); n += $i } }
    /Non-2xx/ { n += $NF } END { print n + 0 }' <<<"$out")
  killed_failed[$s]=$failed
  printf '%-16s worker pid %s killed: %s of %s requests failed  %s\n' "$s" "${victim:-?}" \
    "$failed" "${requests:-0}" "$(awk '/Socket errors|Non-2xx/ {printf "%s; ", $0}' <<<"$out")"
}

for s in "${servers[@]}"; do start_server "$s"; done
if [ "$warmup" != 0 ]; then
  for s in "${servers[@]}"; do run_one "$s" "$warmup" 0; done
fi
for r in $(seq "$rounds"); do
  echo "# round $r (load average $(cut -d' ' -f1 /proc/loadavg))"
  for s in "${servers[@]}"; do run_one "$s" "$duration" 1; done
done

if [ "$close_duration" != 0 ]; then
  echo
  echo "# Connection: close, $close_duration per server (a new connection per request)"
  for s in "${servers[@]}"; do
    shares_source "$s"
    before_counts=$REPLY
    run_wrk "$s" "$close_duration" -H "Connection: close"
    wait "$wrk_pid" || true
    wrk_pid=""
    shares_source "$s"
    shares "$before_counts" "$REPLY"
    printf '%-16s %10s req/s  shares %s  %s\n' "$s" \
      "$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")" "$REPLY" \
      "$(awk '/Socket errors|Non-2xx/ {printf "%s; ", $0}' "$tmp/wrk.out")"
  done
fi

if [ "$kill_duration" != 0 ]; then
  echo
  echo "# a worker killed with SIGKILL 2 s into a $kill_duration run"
  for s in "${servers[@]}"; do kill_run "$s"; done
fi

declare -A rps_med=() p99_med=() cpu_med=() max_med=()
for s in "${servers[@]}"; do
  rps_med[$s]=$(median "${rps_runs[$s]}")
  p99_med[$s]=$(median "${p99_runs[$s]}")
  cpu_med[$s]=$(median "${cpu_runs[$s]}")
  max_med[$s]=$(median "${max_runs[$s]}")
done

echo
echo "# medians of $rounds rounds; wrk -t$threads -c$connections -d$duration --latency; $workers" \
  "workers per server; unpinned; $(nproc) CPUs, $(uname -r); load average at end" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-15s | %8s | %7s | %10s | %13s | %14s | %12s | %12s | %12s |\n' \
  server "req/s" "p99 ms" "CPU us/req" "max share %" "req/s vs nginx" "CPU vs nginx" \
  "req/s vs node" "failed on kill"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------------- ---------- --------- ------------ \
  --------------- ---------------- -------------- -------------- --------------
for s in "${servers[@]}"; do
  printf '| %-15s | %8.0f | %7s | %10s | %13s | %14s | %12s | %12s | %14s |\n' "$s" \
    "${rps_med[$s]}" "${p99_med[$s]}" "${cpu_med[$s]}" "${max_med[$s]}" \
    "$(ratio "${rps_med[$s]}" "${rps_med[nginx]:-}")" "$(ratio "${cpu_med[$s]}" "${cpu_med[nginx]:-}")" \
    "$(ratio "${rps_med[$s]}" "${rps_med[node]:-}")" "${killed_failed[$s]:--}"
done
if [ -n "${rps_med[herd-node]:-}" ] && [ -n "${rps_med[pm2-node]:-}" ]; then
  echo "unmodified Node server, herd -i $workers / pm2 -i $workers: req/s" \
    "$(ratio "${rps_med[herd-node]}" "${rps_med[pm2-node]}"), CPU/request" \
    "$(ratio "${cpu_med[herd-node]}" "${cpu_med[pm2-node]}")"
fi
echo
echo "# each worker's share of the requests, last round (worker id or pid: share)"
for s in "${servers[@]}"; do printf '%-16s %s\n' "$s" "${share_last[$s]}"; done
echo "(nginx's, herd-node's and pm2-node's shares are of CPU time: they count no requests per worker)"
