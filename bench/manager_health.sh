#!/usr/bin/env bash
# bench/manager_health.sh (bench/manager.sh --health): what health checks cost the daemon.
#
# Usage: BUILD=build bench/manager_health.sh [--instances N] [--window SECONDS] [--rounds N]
#
# Two variants, interleaved (none, http, none, http, ...), each in a fresh HERD_HOME with a fresh
# daemon, N instances (default 100) of build/bin/hello in fork mode, each on its own port
# (increment_var PORT):
#   none   no health check
#   http   health_check {"http": "/", "interval": "1s"}: 100 HTTP checks a second
# Once every instance is online (and, for http, healthy), the daemon's CPU time (utime + stime
# from /proc/<pid>/stat) is read at the start and the end of a window (default 30 s); its CPU
# % is the difference over the window, RSS is VmRSS at the end. Medians over the rounds
# (default 1). The whole run is bounded (about 2 x rounds x (window + 60) seconds at most).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
herd="$build/bin/herd"
hello="$build/bin/hello"
instances=100
window=30
rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) instances="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "manager_health.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$herd" ] && [ -x "$hello" ] || { echo "manager_health.sh: build $herd and $hello first" >&2; exit 1; }

tmp="$(mktemp -d /tmp/herd-bench-health.XXXXXX)"
home=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$home" ] && [ -d "$home" ]; then HERD_HOME="$home" timeout 30 "$herd" kill >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A base port with N free ports above it (the kernel's ephemeral range starts far higher).
base=$(( 20000 + (RANDOM % 20000) ))

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
count() { HERD_HOME="$home" "$herd" jlist | grep -o "$1" | wc -l; }

# variant -> one line "cpu_percent rss_kb"
run_variant() {
  local variant="$1" round="$2"
  home="$tmp/home-$variant-$round"
  mkdir -p "$home"
  local check=""
  [ "$variant" = http ] && check=', "health_check": {"http": "/", "interval": "1s", "timeout": "1s"}'
  cat >"$tmp/eco.json" <<JSON
{"apps": [{"name": "hello", "script": "$hello", "exec_mode": "fork", "instances": $instances,
  "increment_var": "PORT", "env": {"PORT": "$base"}$check}]}
JSON
  HERD_HOME="$home" timeout 120 "$herd" start "$tmp/eco.json" >/dev/null
  local want='"status":"online"' deadline=$(( SECONDS + 60 ))
  while [ "$(count "$want")" -lt "$instances" ]; do
    [ $SECONDS -lt $deadline ] || { echo "manager_health.sh: $variant: instances not online" >&2; exit 1; }
    sleep 0.5
  done
  if [ "$variant" = http ]; then
    while [ "$(count '"status":"healthy"')" -lt "$instances" ]; do
      [ $SECONDS -lt $deadline ] || { echo "manager_health.sh: not all healthy" >&2; exit 1; }
      sleep 0.5
    done
  fi
  local pid hz t0 t1
  pid="$(cat "$home/herd.pid")"
  hz="$(getconf CLK_TCK)"
  sleep 2
  t0="$(cpu_ticks "$pid")"
  sleep "$window"
  t1="$(cpu_ticks "$pid")"
  local rss
  rss="$(rss_kb "$pid")"
  HERD_HOME="$home" timeout 60 "$herd" kill >/dev/null 2>&1 || true
  awk -v d=$(( t1 - t0 )) -v hz="$hz" -v w="$window" -v r="$rss" \
    'BEGIN { printf "%.2f %d\n", 100 * d / hz / w, r }'
}

declare -A cpu rss
for ((r = 1; r <= rounds; r++)); do
  for v in none http; do
    read -r c m < <(run_variant "$v" "$r")
    cpu[$v]+="$c "
    rss[$v]+="$m "
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "herd daemon with $instances instances of hello (fork mode), window ${window}s, $rounds round(s)"
echo "  herd start eco.json, eco.json = {\"apps\": [{\"name\": \"hello\", \"script\": \"$hello\","
echo "    \"exec_mode\": \"fork\", \"instances\": $instances, \"increment_var\": \"PORT\", \"env\": {\"PORT\": \"$base\"}"
echo "    (http: + \"health_check\": {\"http\": \"/\", \"interval\": \"1s\", \"timeout\": \"1s\"})}]}"
printf '%-28s %12s %12s\n' "variant" "daemon CPU %" "RSS (MiB)"
for v in none http; do
  c="$(echo "${cpu[$v]}" | median)"
  m="$(echo "${rss[$v]}" | median)"
  label="no health check"
  [ "$v" = http ] && label="HTTP check every 1 s each"
  printf '%-28s %12s %12s\n' "$label" "$c" "$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }')"
done
