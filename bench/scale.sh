#!/usr/bin/env bash
# bench/scale.sh: what herd's daemon costs per instance, at 10, 100 and 1,000 instances, side by
# side with PM2 in the same run.
#
# Usage:
#   BUILD=build bench/scale.sh [--counts 10,100,1000] [--mix 1000] [--only herd,pm2]
#                              [--idle SECONDS] [--runs N] [--pm2-max N] [--budget SECONDS]
#   BUILD=build bench/scale.sh --logs [--only herd,pm2] [--log-apps 100] [--log-rate 1000]
#                                     [--log-seconds 10]
#
#   BUILD      the CMake build dir holding bin/herd; default build
#   PM2        a pm2 executable; default `pm2` from PATH, else PM2 is installed with npm into the
#              temp dir
#   --counts   instance counts to measure, each in a fresh home with a fresh daemon
#   --mix      after the counts, the mix: this many instances of which a tenth are HTTP servers
#              (below); 0 for none (default 1000)
#   --only     managers to run: herd, pm2 (default both)
#   --idle     seconds over which the idle daemon's CPU is measured (default 30)
#   --runs     timed runs of `ls` and `jlist` per count (median; 2 warm-ups first; default 10)
#   --pm2-max  the largest count PM2 is given (default 1000); above it the table says "not run"
#   --budget   wall-clock bound of the whole script in seconds (default 1500): a count that
#              would start after it is skipped and the table says so
#   KEEP       a directory: --logs copies each follower's output there (follow-<manager>.out)
#
# The apps: `sleep 100000` (a native program that does nothing, so the figures are the
# manager's), in fork mode, 10 instances an app (count/10 apps), started from one ecosystem file
# that both managers read.
# The mix: the same, except that one app of count/10 instances runs build/bin/hello (libherd's
# HTTP server, a native binary) instead of sleep, in fork mode under both managers, each instance
# on its own port on 127.0.0.1 (PORT from a free range, PM2's increment_var, which herd reads
# too): the same binary and the same file for both. (PM2's cluster mode is for Node scripts
# only, so neither manager shares a port here.) Once all are online, one request to each
# server's port checks that every hello answers (the table's "hello answering" row).
# Per count and manager, in order:
#   start      wall time from launching `start eco.json` until `jlist` shows every instance
#              online (polled every 100 ms)
#   ls, jlist  median wall time of the CLI command, its output discarded
#   RSS        the daemon's VmRSS once everything is online and listed (right after the ls and
#              jlist runs), after its idle period, and 3 s after `delete all`
#   idle CPU   the daemon's utime+stime over --idle seconds, as % of one core (herd samples every
#              instance's CPU and memory once a second, as PM2 does)
#   fds        the daemon's open descriptors with every instance online, and after `delete all`
#              (back at the idle value, or the table shows what stayed)
#   stop all, delete all   wall time of the command
# Per-instance figures divide by the count: RSS above the idle daemon's, CPU, fds.
#
# --logs: --log-apps apps (build/bin/line_writer, fork mode) each print --log-rate numbered
# lines of 100 bytes a second for --log-seconds, while `logs --raw --lines 0` follows them all.
# Printed per manager: the MB written, the daemon's CPU from the start until the files hold
# every line, that CPU per MB, the lines in the log files and those the follower got (of the
# total), lines split or interleaved mid-line (in the files and in the follower's output), the
# follower's other lines (a manager's own messages), and what it said about lines it missed.
# Everything runs under one temp dir that is removed at exit with every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

counts=10,100,1000
mix=1000
only=herd,pm2
idle=30
runs=10
pm2_max=1000
budget=1500
logs=0
log_apps=100
log_rate=1000
log_seconds=10
while [ $# -gt 0 ]; do
  case "$1" in
    --counts) counts=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --pm2-max) pm2_max=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --logs) logs=1; shift ;;
    --log-apps) log_apps=$2; shift 2 ;;
    --log-rate) log_rate=$2; shift 2 ;;
    --log-seconds) log_seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
herd_bin="$build/bin/herd"
[ -x "$herd_bin" ] || { echo "scale.sh: $herd_bin not built (scripts/build)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "scale.sh: python3 not found (apt-get install python3)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/herd-scale.XXXXXX)
script_start=$SECONDS
homes=()
cleanup() {
  local h pid f
  # Only what this run started: a pid from its homes' files whose process is still one of ours
  # (a daemon, PM2, or an app), never a pid the system has given to someone else since.
  ours() { grep -qaE 'herd|PM2|sleep|line_writer|hello' "/proc/$1/cmdline" 2>/dev/null; }
  for h in "${homes[@]}"; do
    for f in "$h"/pids/*.pid "$h/herd.pid" "$h/pm2.pid"; do
      [ -f "$f" ] || continue
      pid=$(cat "$f" 2>/dev/null) || continue
      [ -n "$pid" ] && ours "$pid" || continue
      # herd's keeper (the daemon's parent) would start the daemon again: it goes first.
      local parent
      parent=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null | tail -1)
      if [ -n "$parent" ] && [ "$parent" -gt 1 ] &&
        grep -qa 'herd' "/proc/$parent/cmdline" 2>/dev/null &&
        grep -qa 'daemon' "/proc/$parent/cmdline" 2>/dev/null; then
        kill -9 "$parent" 2>/dev/null || true
      fi
      kill -9 "$pid" 2>/dev/null || true
    done
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

pm2_bin=${PM2:-}
if [[ ",$only," == *",pm2,"* ]] && [ -z "$pm2_bin" ]; then
  if command -v pm2 >/dev/null; then
    pm2_bin=$(command -v pm2)
  else
    echo "scale.sh: installing PM2 into $tmp/pm2 (npm)" >&2
    npm install --silent --prefix "$tmp/pm2" pm2@latest >/dev/null 2>&1 ||
      { echo "scale.sh: npm install pm2 failed; run with --only herd" >&2; exit 1; }
    pm2_bin="$tmp/pm2/node_modules/.bin/pm2"
  fi
fi

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
cli() {  # manager args...
  local m=$1; shift
  if [ "$m" = herd ]; then HERD_HOME=$home "$herd_bin" "$@"; else PM2_HOME=$home "$pm2_bin" "$@"; fi
}
daemon_pid() { cat "$home/$1.pid" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# utime + stime; the fields counted after the command name, which may hold spaces (PM2's does).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
online() {  # manager: how many instances jlist shows online
  cli "$1" jlist 2>/dev/null | python3 -c '
import json, sys
try: print(sum(1 for p in json.load(sys.stdin) if p["pm2_env"]["status"] == "online"))
except Exception: print(0)'
}
median_ms() {  # manager verb: median wall ms of `verb` over --runs runs (2 warm-ups)
  local m=$1 verb=$2 i t0 samples=()
  for i in 1 2; do cli "$m" "$verb" >/dev/null 2>&1 || true; done
  for ((i = 0; i < runs; i++)); do
    t0=${EPOCHREALTIME/./}
    cli "$m" "$verb" >/dev/null 2>&1 || true
    samples+=($(( ${EPOCHREALTIME/./} - t0 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}
count_of() { echo "${1#mix}"; }  # "mix1000" (the mix's column) -> 1000
# The first port of `count` free consecutive ports on 127.0.0.1 (each bound once to check).
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(50):
    base = random.randrange(20000, 60000 - n)
    ok = True
    for p in range(base, base + n):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        finally:
            s.close()
        if not ok:
            break
    if ok:
        print(base)
        sys.exit(0)
sys.exit("no free port range")
EOF
}
write_eco() {  # file count [hello-binary first-port]: with the last two, the mix
  python3 - "$1" "$2" "${3:-}" "${4:-0}" <<'EOF'
import json, sys
path, n, hello, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
per = 10 if n >= 10 else n
sleepers = n - n // 10 if hello else n
apps = [{"name": f"s{k}", "script": "/bin/sleep", "args": "100000", "interpreter": "none",
         "exec_mode": "fork", "instances": per, "autorestart": True}
        for k in range(sleepers // per)]
if hello:
    apps.append({"name": "hello", "script": hello, "args": ["--host", "127.0.0.1"],
                 "interpreter": "none", "exec_mode": "fork", "instances": n // 10,
                 "autorestart": True, "env": {"PORT": str(port)}, "increment_var": "PORT"})
json.dump({"apps": apps}, open(path, "w"))
EOF
}
# How many of `count` ports from `base` answer "Hello World!" over HTTP.
hello_answers() {
  python3 - "$1" "$2" <<'EOF'
import sys, urllib.request
base, n = int(sys.argv[1]), int(sys.argv[2])
ok = 0
for p in range(base, base + n):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{p}/", timeout=5) as r:
            ok += r.read().startswith(b"Hello World!")
    except Exception:
        pass
print(ok)
EOF
}

declare -A R=()  # R[manager.count.metric]
measure() {  # manager count ("mix<count>" for the mix)
  local m=$1 key=$2 n pid t0 online_n c0 c1 port=0
  n=$(count_of "$key")
  home="$tmp/$m-$key"
  mkdir -p "$home"
  homes+=("$home")
  if [ "$key" != "$n" ]; then
    port=$(free_ports $((n / 10)))
    write_eco "$home/eco.json" "$n" "$build/bin/hello" "$port"
  else
    write_eco "$home/eco.json" "$n"
  fi
  cli "$m" ping >/dev/null 2>&1 || { R[$m.$key.note]="daemon did not start"; return; }
  pid=$(daemon_pid "$m")
  sleep 1
  R[$m.$key.rss0]=$(rss_kb "$pid")
  R[$m.$key.fd0]=$(fd_count "$pid")
  t0=$(now_ms)
  cli "$m" start "$home/eco.json" >"$home/start.out" 2>&1 &
  local start_job=$!
  local deadline=$(( $(now_ms) + 60000 + n * 200 ))
  online_n=0
  while [ "$online_n" -lt "$n" ] && [ "$(now_ms)" -lt "$deadline" ]; do
    online_n=$(online "$m")
    [ "$online_n" -lt "$n" ] && sleep 0.1
  done
  R[$m.$key.start]=$(( $(now_ms) - t0 ))
  wait "$start_job" || true
  if [ "$online_n" -lt "$n" ]; then
    R[$m.$key.note]="only $online_n of $n online after $(( (deadline - t0) / 1000 )) s"
    R[$m.$key.start]=nan
  fi
  [ "$port" != 0 ] && R[$m.$key.hello]=$(hello_answers "$port" $((n / 10)))
  R[$m.$key.ls]=$(median_ms "$m" ls)
  R[$m.$key.jlist]=$(median_ms "$m" jlist)
  R[$m.$key.rss]=$(rss_kb "$pid")
  R[$m.$key.fd]=$(fd_count "$pid")
  sleep 2
  c0=$(cpu_ticks "$pid")
  sleep "$idle"
  c1=$(cpu_ticks "$pid")
  R[$m.$key.idle_cpu]=$(awk -v d=$((c1 - c0)) -v t="$idle" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", 100 * d / hz / t }')
  R[$m.$key.rss_idle]=$(rss_kb "$pid")
  t0=$(now_ms); cli "$m" stop all >/dev/null 2>&1 || true; R[$m.$key.stop]=$(( $(now_ms) - t0 ))
  t0=$(now_ms); cli "$m" delete all >/dev/null 2>&1 || true; R[$m.$key.delete]=$(( $(now_ms) - t0 ))
  sleep 3  # herd gives freed memory back 2 s after the last request
  R[$m.$key.fd_after]=$(fd_count "$pid")
  R[$m.$key.rss_after]=$(rss_kb "$pid")
  cli "$m" kill >/dev/null 2>&1 || true
}

IFS=, read -r -a count_list <<<"$counts"
[ "$mix" -gt 0 ] && count_list+=("mix$mix")
IFS=, read -r -a managers <<<"$only"

if [ "$logs" = 1 ]; then
  writer="$build/bin/line_writer"
  [ -x "$writer" ] || { echo "scale.sh: $writer not built (ninja -C build line_writer)" >&2; exit 1; }
  total=$((log_apps * log_rate * log_seconds))
  # classify split|other <lines: how many are an app's line cut or mixed with another (not 99
  # characters of "w<n> <seq> xxx"), or something else (the manager's own messages).
  classify() {
    LC_ALL=C awk -v want="$1" '
      length($0) == 99 && /^w[0-9]+ [0-9]+ x+$/ { next }
      /^w[0-9]+ [0-9]+ x*$/ || /xxxxxxxxxx/ { split_n++; next }
      { other_n++ }
      END { print (want == "split" ? split_n : other_n) + 0 }'
  }
  printf '%-44s' "logs: $log_apps apps x $log_rate lines/s x $log_seconds s"
  for m in "${managers[@]}"; do printf '%14s' "$m"; done
  printf '\n'
  declare -A L=()
  for m in "${managers[@]}"; do
    echo "scale.sh: logs under $m ..." >&2
    home="$tmp/$m-logs"
    mkdir -p "$home"
    homes+=("$home")
    python3 - "$home/eco.json" "$writer" "$log_apps" "$log_rate" "$log_seconds" "$home/go" <<'EOF2'
import json, sys
path, writer, n, rate, secs, go = sys.argv[1:7]
apps = [{"name": f"w{k}", "script": writer, "args": [rate, secs], "interpreter": "none",
         "exec_mode": "fork", "autorestart": False,
         "env": {"LINE_WRITER_TAG": f"w{k}", "LINE_WRITER_GO": go}} for k in range(int(n))]
json.dump({"apps": apps}, open(path, "w"))
EOF2
    cli "$m" start "$home/eco.json" >/dev/null 2>&1 || true
    pid=$(daemon_pid "$m")
    cli "$m" logs --raw --lines 0 >"$home/follow.out" 2>"$home/follow.err" &
    follower=$!
    sleep 2  # the follower connected (a bench, not a test: no event to wait for)
    c0=$(cpu_ticks "$pid")
    : >"$home/go"
    deadline=$(( $(now_ms) + (log_seconds + 60) * 1000 ))
    in_files=0
    while [ "$(now_ms)" -lt "$deadline" ]; do
      in_files=$({ cat "$home"/logs/w*-out*.log 2>/dev/null || true; } | wc -l)
      [ "$in_files" -ge "$total" ] && break
      sleep 0.5
    done
    c1=$(cpu_ticks "$pid")
    prev=-1  # the follower may still be printing what it was sent
    while :; do n=$(wc -l <"$home/follow.out"); [ "$n" = "$prev" ] && break; prev=$n; sleep 1; done
    kill "$follower" 2>/dev/null || true
    wait "$follower" 2>/dev/null || true
    mb=$(awk -v t="$total" 'BEGIN { printf "%.1f", t * 100 / 1e6 }')
    L[$m.mb]=$mb
    L[$m.cpu]=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", d / hz }')
    L[$m.per_mb]=$(awk -v c="${L[$m.cpu]}" -v mb="$mb" 'BEGIN { printf "%.1f", 1000 * c / mb }')
    L[$m.files]=$in_files
    L[$m.follower]=$(wc -l <"$home/follow.out")
    L[$m.bad_files]=$({ cat "$home"/logs/w*-out*.log 2>/dev/null || true; } | classify split)
    L[$m.bad_follow]=$(classify split <"$home/follow.out")
    L[$m.other_follow]=$(classify other <"$home/follow.out")
    L[$m.said]=$({ grep -ao 'herd: [0-9]* line(s) skipped' "$home/follow.err" || true; } | awk '{ s += $2 } END { print s + 0 }')
    [ -n "${KEEP:-}" ] && cp "$home/follow.out" "$KEEP/follow-$m.out"
    cli "$m" kill >/dev/null 2>&1 || true
  done
  lrow() {
    printf '%-44s' "$1"
    for m in "${managers[@]}"; do printf '%14s' "${L[$m.$2]:--}"; done
    printf '\n'
  }
  lrow "MB written by the apps" mb
  lrow "daemon CPU until the files were whole (s)" cpu
  lrow "  per MB (ms)" per_mb
  lrow "lines in the log files (of $total)" files
  lrow "lines the follower printed" follower
  lrow "lines split/interleaved in the files" bad_files
  lrow "lines split/interleaved, follower" bad_follow
  lrow "other lines the follower printed" other_follow
  lrow "lines the follower was told it missed" said
  exit 0
fi
for n in "${count_list[@]}"; do
  for m in "${managers[@]}"; do
    if [ "$m" = pm2 ] && [ "$(count_of "$n")" -gt "$pm2_max" ]; then R[$m.$n.note]="not run (--pm2-max $pm2_max)"; continue; fi
    if [ $((SECONDS - script_start)) -gt "$budget" ]; then R[$m.$n.note]="not run (budget)"; continue; fi
    echo "scale.sh: $m with $n instances ..." >&2
    measure "$m" "$n"
  done
done

get() { echo "${R[$1]:-nan}"; }
per() {  # value count [base]: (value - base) / count
  awk -v v="$1" -v n="$(count_of "$2")" -v b="${3:-0}" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf "%.2f", (v - b) / n }'
}
printf '\n%-34s' "instances"
for n in "${count_list[@]}"; do for m in "${managers[@]}"; do printf '%14s' "$m $n"; done; done
printf '\n'
row() {  # label metric [transform]
  local label=$1 metric=$2 how=${3:-}
  printf '%-34s' "$label"
  for n in "${count_list[@]}"; do
    for m in "${managers[@]}"; do
      local v; v=$(get "$m.$n.$metric")
      case "$how" in
        mib) v=$(awk -v k="$v" 'BEGIN { if (k == "nan") print "-"; else printf "%.1f", k / 1024 }') ;;
        per_inst_kib) v=$(per "$v" "$n" "$(get "$m.$n.rss0")") ;;
        per_inst_fd) v=$(per "$v" "$n" "$(get "$m.$n.fd0")") ;;
        # % of a core per instance is 0.00 at 1,000: CPU microseconds a second read better.
        per_inst_cpu) v=$(awk -v x="$v" -v n="$(count_of "$n")" 'BEGIN { if (x == "nan") print "-"; else printf "%.1f", x * 10000 / n }') ;;
        s) v=$(awk -v x="$v" 'BEGIN { if (x == "nan") print "-"; else printf "%.2f", x / 1000 }') ;;
        opt) [ "$v" = nan ] && v=- ;;
      esac
      printf '%14s' "$v"
    done
  done
  printf '\n'
}
row "start, all online (s)" start s
[ "$mix" -gt 0 ] && row "hello answering (mix: of $((mix / 10)))" hello opt
row "ls (ms, median)" ls
row "jlist (ms, median)" jlist
row "daemon RSS idle, no app (MiB)" rss0 mib
row "daemon RSS, all online (MiB)" rss mib
row "  per instance (KiB)" rss per_inst_kib
row "daemon RSS after the idle period (MiB)" rss_idle mib
row "daemon idle CPU (% of a core)" idle_cpu
row "  per instance (CPU us a second)" idle_cpu per_inst_cpu
row "daemon fds, all online" fd
row "  per instance" fd per_inst_fd
row "stop all (s)" stop s
row "delete all (s)" delete s
row "daemon fds after delete all" fd_after
row "daemon fds idle, no app" fd0
row "daemon RSS after delete all (MiB)" rss_after mib
for n in "${count_list[@]}"; do
  for m in "${managers[@]}"; do
    note=$(get "$m.$n.note")
    [ "$note" != nan ] && echo "note: $m $n: $note"
  done
done
[ "$mix" -gt 0 ] && echo "mix$mix: $mix instances, $((mix / 10)) of them build/bin/hello (fork mode, a port each), the rest sleep"
echo "goals at 1,000 (issue 18): ls and jlist <= 20 ms, daemon RSS <= 20 MiB, idle CPU <= 1 %"
