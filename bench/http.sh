#!/usr/bin/env bash
# bench/http.sh: HTTP keep-alive throughput of herd's `hello` against two anchors measured side by
# side in the same run: Node 20 (one process, http.createServer) and nginx (1 worker,
# `return 200`), and against the limit: bench/limit_responder.c, a fixed response written for
# every read on bare epoll, in C, with no parsing (the least CPU a request can cost on this
# kernel). All four answer every request with the same 13-byte body "Hello World!\n" and
# Content-Type: text/plain.
#
# Usage:
#   bench/http.sh [--rounds N] [--duration 10s] [--connections 64] [--threads 1]
#                 [--warmup 2s] [--hello PATH] [--limit PATH] [--only hello,node,nginx,limit]
#
#   --rounds       interleaved rounds (hello node nginx, hello node nginx, ...); default 3
#   --duration     wrk -d per run; default 10s
#   --connections  wrk -c; default 64
#   --threads      wrk -t; default 1
#   --warmup       an uncounted wrk run per server before the rounds; default 2s ("0" skips it)
#   --hello        the hello binary; default build/bin/hello (build it Release: scripts/build)
#   --limit        the limit responder; default build/bin/limit_responder (same build)
#   --only         a comma-separated subset of the servers
#
# Method (DESIGN.md, Benchmarks):
#   - every server listens on 127.0.0.1 only, on a port chosen free at start-up;
#   - servers are pinned to CPU 0 (taskset -c 0) and wrk to CPU 1, so the server gets one core
#     and the load generator does not steal it;
#   - per run: wrk -t1 -c64 -d10s --latency; req/s and p99 come from wrk; the server's CPU time
#     is utime+stime from /proc/<pid>/stat of the server and every descendant (nginx's worker),
#     sampled right before and right after wrk, divided by the requests wrk completed;
#   - the table shows the median over the rounds of each figure, and the ratios against nginx,
#     Node and the limit; then hello's CPU per request over the limit's (the goal is <= 1.2x). CPU per request is the figure that separates fast servers: on a 2-core machine
#     wrk saturates its own core first, and req/s flattens at wrk's limit.
#   - nginx runs with keepalive_requests raised to 1000000 (its default, 1000, closes each
#     connection after 1000 requests; Node and herd never do unless asked), access_log off, a
#     config, pid, error log and temp paths all under a temp dir, daemon off, 1 worker.
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
hello="$root/build/bin/hello"
limit="$root/build/bin/limit_responder"
only="hello,node,nginx,limit"

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --hello) hello="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "http.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

IFS=',' read -r -a servers <<<"$only"
for s in "${servers[@]}"; do
  case "$s" in hello|node|nginx|limit) ;; *) echo "http.sh: unknown server '$s'" >&2; exit 2 ;; esac
done
need() { command -v "$1" >/dev/null || { echo "http.sh: '$1' not found ($2)" >&2; exit 1; }; }
need wrk "apt-get install wrk"
need taskset "util-linux"
need curl "apt-get install curl"
need pgrep "procps"
need ss "iproute2"
for s in "${servers[@]}"; do
  case "$s" in
    hello) [ -x "$hello" ] || { echo "http.sh: $hello missing; run scripts/build hello" >&2; exit 1; } ;;
    limit) [ -x "$limit" ] || { echo "http.sh: $limit missing; run ninja -C build limit_responder" >&2; exit 1; } ;;
    node) need node "apt-get install nodejs" ;;
    nginx) need nginx "apt-get install nginx" ;;
  esac
done

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
else
  echo "http.sh: only $ncpu CPU; running unpinned (server and wrk share it)" >&2
  server_pin=()
  client_pin=()
fi
clk_tck=$(getconf CLK_TCK)
# free_port, write_nginx_conf, tree_ticks, to_ms, median, ratio, stop_servers (shared with
# bench/cluster.sh).
# shellcheck source=bench/lib/http_common.sh
source "$root/bench/lib/http_common.sh"

tmp="$(mktemp -d /tmp/herd-bench-http.XXXXXX)"
declare -A pid_of=()
wrk_pid=""
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# --- the servers ---------------------------------------------------------------------------
declare -A port_of=() cmd_of=()

cat >"$tmp/node-hello.js" <<'EOF'
// The same server in Node: one process, the default http.createServer settings.
const http = require('http');
const port = Number(process.argv[2]);
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('Hello World!\n');
}).listen(port, '127.0.0.1');
EOF


for s in "${servers[@]}"; do
  free_port
  port_of[$s]=$REPLY
  case "$s" in
    hello) cmd_of[$s]="${server_pin[*]} $hello --host 127.0.0.1 --port ${port_of[$s]}" ;;
    node) cmd_of[$s]="${server_pin[*]} node $tmp/node-hello.js ${port_of[$s]}" ;;
    limit) cmd_of[$s]="${server_pin[*]} $limit ${port_of[$s]}" ;;
    nginx)
      write_nginx_conf "$tmp/nginx" "${port_of[$s]}" 1
      cmd_of[$s]="${server_pin[*]} nginx -e $tmp/nginx/error.log -p $tmp/nginx -c $tmp/nginx/nginx.conf"
      ;;
  esac
done
# For display; run_one runs the same command.
wrk_cmd() { echo "${client_pin[*]} wrk -t$threads -c$connections -d$1 --latency http://127.0.0.1:$2/"; }

echo "# commands"
for s in "${servers[@]}"; do echo "$s: ${cmd_of[$s]}"; done
echo "load: $(wrk_cmd "$duration" '<port>')"
for s in "${servers[@]}"; do
  [ "$s" = nginx ] && { echo "nginx.conf:"; sed 's/^/    /' "$tmp/nginx/nginx.conf"; }
done
echo

start_server() {
  local s=$1
  # shellcheck disable=SC2086  # the command line is split on purpose
  ${cmd_of[$s]} >"$tmp/$s.out" 2>&1 &
  pid_of[$s]=$!
  local deadline=$((SECONDS + 10)) body
  while :; do
    body=$(curl -s --max-time 1 "http://127.0.0.1:${port_of[$s]}/" 2>/dev/null || true)
    [ "$body" = "Hello World!" ] && break  # $(...) drops the trailing newline
    if ! kill -0 "${pid_of[$s]}" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "http.sh: $s did not come up; its output:" >&2
      cat "$tmp/$s.out" >&2
      exit 1
    fi
    sleep 0.1
  done
  local bytes
  bytes=$(curl -s "http://127.0.0.1:${port_of[$s]}/" | wc -c)
  [ "$bytes" = 13 ] || { echo "http.sh: $s answers $bytes bytes, not 13" >&2; exit 1; }
}



declare -A rps_runs=() p99_runs=() cpu_runs=()
run_one() {  # run_one <server> <duration> <counted: 1|0>
  local s=$1 d=$2 counted=$3 before after out requests rps p99 errors cpu_us
  before=$(tree_ticks "${pid_of[$s]}")
  # In the background and waited for, so that ^C reaches the trap at once and wrk is stopped too.
  "${client_pin[@]}" wrk -t"$threads" -c"$connections" -d"$d" --latency \
    "http://127.0.0.1:${port_of[$s]}/" >"$tmp/wrk.out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || { echo "http.sh: wrk failed against $s:" >&2; cat "$tmp/wrk.out" >&2; exit 1; }
  wrk_pid=""
  out=$(cat "$tmp/wrk.out")
  after=$(tree_ticks "${pid_of[$s]}")
  [ "$counted" = 1 ] || return 0
  read_wrk_run http.sh
  printf '%-6s %12s req/s  p99 %8s ms  %7s us CPU/request  (%s requests, %s ticks)%s\n' \
    "$s" "$rps" "$p99" "$cpu_us" "$requests" $((after - before)) "${errors:+  $errors}"
}


for s in "${servers[@]}"; do start_server "$s"; done
if [ "$warmup" != 0 ]; then
  for s in "${servers[@]}"; do run_one "$s" "$warmup" 0; done
fi
for r in $(seq "$rounds"); do
  echo "# round $r"
  for s in "${servers[@]}"; do run_one "$s" "$duration" 1; done
done

declare -A rps_med=() p99_med=() cpu_med=()
for s in "${servers[@]}"; do
  rps_med[$s]=$(median "${rps_runs[$s]}")
  p99_med[$s]=$(median "${p99_runs[$s]}")
  cpu_med[$s]=$(median "${cpu_runs[$s]}")
done

echo
echo "# medians of $rounds rounds; wrk -t$threads -c$connections -d$duration --latency;" \
  "server on CPU 0, wrk on CPU 1; $(nproc) CPUs, $(uname -r)"
printf '| %-6s | %10s | %8s | %12s | %14s | %14s | %13s | %13s | %13s |\n' \
  server "req/s" "p99 ms" "CPU us/req" "req/s vs nginx" "CPU vs nginx" "req/s vs node" "CPU vs node" \
  "CPU vs limit"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------- ------------ ---------- -------------- \
  ---------------- ---------------- --------------- --------------- ---------------
for s in "${servers[@]}"; do
  printf '| %-6s | %10.0f | %8s | %12s | %14s | %14s | %13s | %13s | %13s |\n' "$s" "${rps_med[$s]}" \
    "${p99_med[$s]}" "${cpu_med[$s]}" \
    "$(ratio "${rps_med[$s]}" "${rps_med[nginx]:-}")" "$(ratio "${cpu_med[$s]}" "${cpu_med[nginx]:-}")" \
    "$(ratio "${rps_med[$s]}" "${rps_med[node]:-}")" "$(ratio "${cpu_med[$s]}" "${cpu_med[node]:-}")" \
    "$(ratio "${cpu_med[$s]}" "${cpu_med[limit]:-}")"
done
if [ -n "${cpu_med[hello]:-}" ] && [ -n "${cpu_med[limit]:-}" ]; then
  echo
  echo "hello CPU/request / limit's: $(ratio "${cpu_med[hello]}" "${cpu_med[limit]}")" \
    "(${cpu_med[hello]} / ${cpu_med[limit]} us; goal <= 1.20x)"
  # The same ratio round by round: the spread the median hides.
  read -r -a h_runs <<<"${cpu_runs[hello]}"
  read -r -a l_runs <<<"${cpu_runs[limit]}"
  per_round=""
  for k in "${!h_runs[@]}"; do
    per_round+=" $(ratio "${h_runs[$k]}" "${l_runs[$k]:-}")"
  done
  echo "per round:$per_round"
fi
