#!/usr/bin/env bash
# bench/list_latency.sh: `herd ls` and `herd jlist` of two herd builds side by side, at 10, 100
# and 1,000 instances, in one run: each build runs its own daemon (its own temp home) holding the
# same `sleep` instances, and the commands alternate between the two (A B A B ...), so both see
# the same machine. Printed per count: the median wall time of each command (the CLI's whole run,
# its output discarded, the daemon's work included), the median per instance, the bytes each
# command prints, and the load average before and after.
#
# Usage:
#   bench/list_latency.sh [--counts 10,100,1000] [--runs 21] A_HERD B_HERD
#     e.g. bench/list_latency.sh /work/main/build/bin/herd build/bin/herd
#
# Everything runs under one temp dir, removed at exit with both daemons and their instances
# (ended by their pids).
set -euo pipefail
cd "$(dirname "$0")/.."

counts=10,100,1000
runs=21
while [ $# -gt 2 ]; do
  case "$1" in
    --counts) counts=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "list_latency.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
bins=("$(realpath "$1")" "$(realpath "$2")")
for b in "${bins[@]}"; do [ -x "$b" ] || { echo "list_latency.sh: $b not executable" >&2; exit 1; }; done

tmp=$(mktemp -d /tmp/herd-list-latency.XXXXXX)
homes=()
cleanup() {
  local h pid parent
  for h in "${homes[@]}"; do
    pid=$(cat "$h/herd.pid" 2>/dev/null) || continue
    grep -qa herd "/proc/$pid/cmdline" 2>/dev/null || continue
    # The keeper (the daemon's parent) would start it again: it goes first. The instances die
    # with their daemon (PDEATHSIG).
    parent=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    if [ "${parent:-0}" -gt 1 ] && grep -qa daemon "/proc/$parent/cmdline" 2>/dev/null; then
      kill -9 "$parent" 2>/dev/null || true
    fi
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

write_eco() {  # file count
  python3 - "$1" "$2" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
per = 10 if n >= 10 else n
apps = [{"name": f"s{k}", "script": "/bin/sleep", "args": "100000", "interpreter": "none",
         "exec_mode": "fork", "instances": per} for k in range(n // per)]
json.dump({"apps": apps}, open(path, "w"))
EOF
}
online() {  # bin home: instances online
  HERD_HOME=$2 "$1" jlist 2>/dev/null | python3 -c '
import json, sys
try: print(sum(1 for p in json.load(sys.stdin) if p["pm2_env"]["status"] == "online"))
except Exception: print(0)'
}
elapsed_us() {  # bin home verb
  local t0=${EPOCHREALTIME/./}
  HERD_HOME=$2 "$1" "$3" >/dev/null 2>&1 || true
  echo $(( ${EPOCHREALTIME/./} - t0 ))
}
median() { sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'; }

echo "A: ${bins[0]}"
echo "B: ${bins[1]}"
printf '%-7s %-6s %-5s %9s %12s %10s\n' count verb build "ms" "us/instance" bytes
IFS=, read -r -a count_list <<<"$counts"
for n in "${count_list[@]}"; do
  for k in 0 1; do
    h="$tmp/$k-$n"
    mkdir -p "$h"
    homes+=("$h")
    write_eco "$h/eco.json" "$n"
    HERD_HOME=$h "${bins[$k]}" start "$h/eco.json" >/dev/null 2>&1
    deadline=$((SECONDS + 60 + n / 5))
    while [ "$(online "${bins[$k]}" "$h")" -lt "$n" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  done
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  for verb in ls jlist; do
    declare -a s0=() s1=()
    for k in 0 1; do  # warm-ups
      for i in 1 2; do elapsed_us "${bins[$k]}" "$tmp/$k-$n" "$verb" >/dev/null; done
    done
    for ((i = 0; i < runs; i++)); do
      s0+=("$(elapsed_us "${bins[0]}" "$tmp/0-$n" "$verb")")
      s1+=("$(elapsed_us "${bins[1]}" "$tmp/1-$n" "$verb")")
    done
    for k in 0 1; do
      if [ $k = 0 ]; then m=$(printf '%s\n' "${s0[@]}" | median); else m=$(printf '%s\n' "${s1[@]}" | median); fi
      bytes=$(HERD_HOME=$tmp/$k-$n "${bins[$k]}" "$verb" 2>/dev/null | wc -c)
      printf '%-7s %-6s %-5s %9s %12s %10s\n' "$n" "$verb" "$([ $k = 0 ] && echo A || echo B)" "$m" \
        "$(awk -v m="$m" -v n="$n" 'BEGIN { printf "%.1f", 1000 * m / n }')" "$bytes"
    done
  done
  echo "        load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  for k in 0 1; do HERD_HOME=$tmp/$k-$n "${bins[$k]}" kill >/dev/null 2>&1 || true; done
done
echo "(${runs} alternating runs per command; the CLI's wall time, daemon included)"
