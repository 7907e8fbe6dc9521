#!/usr/bin/env bash
# bench/node_metrics.sh: what herd's code metrics cost a Node server (docs/diagnostics.md). The
# Node hello (bench/node/hello.js) runs twice under one herd daemon, in fork mode, side by side:
# "metrics" with herd's Node preload (code metrics reported once a second, the event loop delay
# sampled every 20 ms) and "plain" with --no-inject (no preload at all). wrk loads each in turn,
# interleaved (metrics plain, metrics plain, ...); the table shows the medians and the ratio
# metrics/plain of req/s and of the server's CPU time per request, and then the CPU time each
# app uses in 10 s without load (the collection's fixed cost). The goal: at most 2 % fewer req/s.
#
# Usage:
#   bench/node_metrics.sh [--rounds N] [--duration 5s] [--connections 64] [--warmup 2s]
#
#   --rounds       interleaved rounds; default 5
#   --duration     wrk -d per run; default 5s
#   --connections  wrk -c; default 64
#   --warmup       an uncounted wrk run per server before the rounds; default 2s ("0" skips it)
#
# Method (DESIGN.md, Benchmarks): the daemon (and so both apps) is pinned to CPU 0, wrk
# (-t1 --latency) to CPU 1; each app listens on 127.0.0.1 on a port chosen free; CPU per request
# is utime+stime of the app's process, before and after wrk, over the requests wrk completed.
# The exact commands are printed first. The daemon (a temporary HERD_HOME) and wrk are stopped
# on exit, also on ^C or an error, and the temp dir is removed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=5
duration=5s
connections=64
threads=1
warmup=2s
herd="$root/build/bin/herd"

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "node_metrics.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null || { echo "node_metrics.sh: needs $1 ($2)" >&2; exit 1; }; }
need wrk "apt-get install wrk"
need node "Node.js"
need taskset "util-linux"
[ -x "$herd" ] || { echo "node_metrics.sh: build herd first ($herd)" >&2; exit 1; }

if [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
else
  server_pin=()
  client_pin=()
fi
# shellcheck disable=SC2034  # read by read_wrk_run (http_common.sh)
clk_tck=$(getconf CLK_TCK)
# shellcheck source=bench/lib/http_common.sh
source "$root/bench/lib/http_common.sh"

tmp="$(mktemp -d /tmp/herd-bench-metrics.XXXXXX)"
export HERD_HOME="$tmp/home"
declare -A pid_of=()
wrk_pid=""
cleanup() {
  if [ -n "$wrk_pid" ]; then kill -KILL "$wrk_pid" 2>/dev/null || true; fi
  "$herd" kill >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

servers=(metrics plain)
declare -A port_of=()
free_port; port_of[metrics]=$REPLY
free_port; port_of[plain]=$REPLY
hello="$root/bench/node/hello.js"
echo "# HERD_HOME=$HERD_HOME ${server_pin[*]} $herd daemon"
"${server_pin[@]}" "$herd" ping >/dev/null
cmd_metrics=("$herd" start "$hello" --name metrics -- "${port_of[metrics]}")
cmd_plain=("$herd" start "$hello" --name plain --no-inject -- "${port_of[plain]}")
echo "# ${cmd_metrics[*]}"
"${cmd_metrics[@]}" >/dev/null
echo "# ${cmd_plain[*]}"
"${cmd_plain[@]}" >/dev/null
for s in "${servers[@]}"; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:${port_of[$s]}/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  pid_of[$s]=$("$herd" pid "$s")
done
echo "# ${client_pin[*]} wrk -t$threads -c$connections -d$duration --latency http://127.0.0.1:<port>/"

declare -A rps_runs=() p99_runs=() cpu_runs=()
# shellcheck disable=SC2034  # its locals are read by read_wrk_run (http_common.sh)
run_one() {  # run_one <server> <duration> <counted: 1|0>
  local s=$1 d=$2 counted=$3 before after out requests rps p99 errors cpu_us
  before=$(tree_ticks "${pid_of[$s]}")
  "${client_pin[@]}" wrk -t"$threads" -c"$connections" -d"$d" --latency \
    "http://127.0.0.1:${port_of[$s]}/" >"$tmp/wrk.out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || { echo "node_metrics.sh: wrk failed against $s" >&2; cat "$tmp/wrk.out" >&2; exit 1; }
  wrk_pid=""
  out=$(cat "$tmp/wrk.out")
  after=$(tree_ticks "${pid_of[$s]}")
  [ "$counted" = 1 ] || return 0
  read_wrk_run node_metrics.sh
  printf '%-8s %12s req/s  p99 %8s ms  %7s us CPU/request%s\n' \
    "$s" "$rps" "$p99" "$cpu_us" "${errors:+  $errors}"
}

if [ "$warmup" != 0 ]; then
  for s in "${servers[@]}"; do run_one "$s" "$warmup" 0; done
fi
for r in $(seq "$rounds"); do
  echo "# round $r"
  for s in "${servers[@]}"; do run_one "$s" "$duration" 1; done
done

# The preload really reported during the runs (else the comparison measured nothing).
reported=$("$herd" jlist | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const p = JSON.parse(s).find((x) => x.name === "metrics");
    console.log(p && p.pm2_env.code_metrics ? "yes" : "no");
  });')
[ "$reported" = yes ] || { echo "node_metrics.sh: the metrics app reported no code metrics" >&2; exit 1; }

# The collection's fixed cost, without load: CPU time of each idle app over the same 10 s, from
# /proc/<pid>/schedstat (nanoseconds on CPU), read for both at the same moments.
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }
idle_s=10
declare -A idle_before=() idle_ms=()
for s in "${servers[@]}"; do idle_before[$s]=$(cpu_ns "${pid_of[$s]}"); done
sleep "$idle_s"
for s in "${servers[@]}"; do
  idle_ms[$s]=$(awk -v a="${idle_before[$s]}" -v b="$(cpu_ns "${pid_of[$s]}")" -v t="$idle_s" \
    'BEGIN { printf "%.3f", (b - a) / 1e6 / t }')
done

declare -A rps_med=() p99_med=() cpu_med=()
for s in "${servers[@]}"; do
  rps_med[$s]=$(median "${rps_runs[$s]}")
  p99_med[$s]=$(median "${p99_runs[$s]}")
  cpu_med[$s]=$(median "${cpu_runs[$s]}")
done
echo
echo "# medians of $rounds rounds; wrk -t$threads -c$connections -d$duration --latency;" \
  "apps on CPU 0, wrk on CPU 1; $(nproc) CPUs, node $(node --version)"
printf '| %-8s | %10s | %8s | %12s |\n' app "req/s" "p99 ms" "CPU us/req"
printf '|----------|-----------:|---------:|-------------:|\n'
for s in "${servers[@]}"; do
  printf '| %-8s | %10s | %8s | %12s |\n' "$s" "${rps_med[$s]}" "${p99_med[$s]}" "${cpu_med[$s]}"
done
echo
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "idle CPU per second ($idle_s s, no load): metrics ${idle_ms[metrics]} ms," \
  "plain ${idle_ms[plain]} ms"
echo "req/s metrics/plain: $(ratio3 "${rps_med[metrics]}" "${rps_med[plain]}")" \
  "   CPU per request metrics/plain: $(ratio3 "${cpu_med[metrics]}" "${cpu_med[plain]}")"
