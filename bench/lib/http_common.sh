# shellcheck shell=bash
# bench/lib/http_common.sh: helpers of the HTTP load scripts (bench/http.sh, bench/cluster.sh).
# Sourced; expects nothing but bash 4. Every helper is a function; nothing runs at source time
# except the declaration of the record of ports given out.

# Sets REPLY to a port nobody uses right now on this host, from a random start in 20000..59999,
# and not one already given to another server of this run. (Not called as $(free_port): the
# record of given ports must outlive the call.)
declare -A port_taken=()
free_port() {
  local p=$((20000 + RANDOM % 40000))
  while [ -n "${port_taken[$p]:-}" ] || [ -n "$(ss -Htan "sport = :$p")" ]; do
    p=$((p + 1 > 59999 ? 20000 : p + 1))
  done
  port_taken[$p]=1
  REPLY=$p
}

# nginx answering every request with the 13-byte "Hello World!\n", as hello does; every path it
# writes (pid, error log, temp dirs) under <dir>.
write_nginx_conf() {  # write_nginx_conf <dir> <port> <workers>: <dir>/nginx.conf
  local dir=$1 port=$2 workers=$3 user_line=""
  # As root the master would hand the worker to "nobody"; keep it the invoking user instead.
  [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes $workers;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/plain;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "Hello World!\n"; }
  }
}
EOF
}

# utime+stime, in clock ticks, of `pid` and all its descendants (threads are included in each
# process's own figures). Field 14 and 15 of /proc/<pid>/stat; the command name (field 2) may
# hold spaces, so the fields are counted after its closing parenthesis.
tree_ticks() {
  local total=0 p stat rest
  local -a todo=("$1") f
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}
    todo=("${todo[@]:1}")
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12]))
    # shellcheck disable=SC2207
    todo+=($(pgrep -P "$p" || true))
  done
  echo "$total"
}

# wrk's latency figures come as 850.00us, 1.23ms or 1.02s: normalise to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { [ -n "${2:-}" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }

# The EXIT trap of bench/http.sh and bench/cluster.sh: stops wrk ($wrk_pid) and every server in
# pid_of (SIGTERM, SIGKILL after 5 s), then removes $tmp.
stop_servers() {
  local p
  if [ -n "$wrk_pid" ]; then kill -KILL "$wrk_pid" 2>/dev/null || true; fi
  for p in "${pid_of[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pid_of[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}

# Reads one counted wrk run of server $s from $out (wrk's output) and the server's CPU ticks
# $before/$after: sets requests, rps, p99 (ms), errors and cpu_us (µs per request), and appends
# the run to rps_runs, p99_runs and cpu_runs. A run that completed no request ends the script.
read_wrk_run() {  # $1: the script's name, for the error
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  errors=$(awk '/Socket errors|Non-2xx/ {printf "%s; ", $0}' <<<"$out")
  if [ -z "$requests" ] || [ "$requests" = 0 ]; then
    echo "$1: wrk completed no request against $s:" >&2
    echo "$out" >&2
    exit 1
  fi
  cpu_us=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$requests" \
    'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
  rps_runs[$s]+="$rps "
  p99_runs[$s]+="$p99 "
  cpu_runs[$s]+="$cpu_us "
}
