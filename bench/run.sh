#!/usr/bin/env bash
# Side-by-side HTTP proxy benchmark: orion against nginx, haproxy and (when ENVOY_BIN is set) envoy.
# The proxy under test is pinned to CPUs 0..W-1 and listens on 127.0.0.1:19100; an nginx origin on
# 127.0.0.1:19000 and wrk share the remaining CPUs, so a proxy only competes with itself.
# Each proxy gets a warm-up run (JIT, upstream pools) and then a measured run of the same length.
# Results are printed as markdown and appended to bench/RESULTS.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/run.sh [options]
  --quick                 2 s runs
  --duration S            seconds per run (default 8)
  --connections N         wrk connections (default: per scenario)
  --workers N             proxy workers / threads, pinned to CPUs 0..N-1 (default 1)
  --scenario A[,B]        scenarios to run (default: all)
  --only P[,Q]            proxies to run: orion,nginx,haproxy,envoy (default: all available)
Env: ENVOY_BIN=/path/to/envoy adds envoy.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
COMMAND=$(printf '%q ' bench/run.sh "$@")
COMMAND=${COMMAND% }

# Scenario table, one entry each: name|default connections|request path|extra wrk args (';'-separated).
SCENARIOS=(
  "h1-keepalive|64|/|"
  "h1-newconn|64|/|-H;Connection: close"
)

DURATION=8 CONNECTIONS="" WORKERS=1 ONLY_SCENARIOS="" ONLY_PROXIES=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) DURATION=2 ;;
    --duration) DURATION=${2:?}; shift ;;
    --connections) CONNECTIONS=${2:?}; shift ;;
    --workers) WORKERS=${2:?}; shift ;;
    --scenario) ONLY_SCENARIOS=${2:?}; shift ;;
    --only) ONLY_PROXIES=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for v in "$DURATION" "$WORKERS" ${CONNECTIONS:+"$CONNECTIONS"}; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: expected a positive integer, got '$v'" >&2; exit 2; }
done

export PATH="$ROOT/node_modules/.bin:$PATH:/usr/sbin:/sbin"
export DEBIAN_FRONTEND=noninteractive
WORK=/tmp/orion-bench
mkdir -p "$WORK"

install_missing() {
  local missing=() entry prog pkg
  for entry in "nginx nginx-light" "haproxy haproxy" "wrk wrk" "curl curl"; do
    read -r prog pkg <<<"$entry"
    command -v "$prog" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}" >&2
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 || { tail -5 "$WORK/apt.log" >&2; exit 1; }
}

# CPU layout: proxy on 0..W-1, origin and wrk on the rest (or everything when there is no rest).
NPROC=$(nproc)
cpu_range() { if [ "$1" -eq "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }
PROXY_CPUS=$(cpu_range 0 $((WORKERS - 1)))
if [ "$WORKERS" -lt "$NPROC" ]; then
  LOAD_CPUS=$(cpu_range "$WORKERS" $((NPROC - 1))); LOAD_N=$((NPROC - WORKERS))
else
  LOAD_CPUS=$(cpu_range 0 $((NPROC - 1))); LOAD_N=$NPROC
  echo "warning: $WORKERS workers on $NPROC CPUs; load generator shares the proxy's CPUs" >&2
fi
export BENCH_WORKERS=$WORKERS  # read by bench/haproxy.cfg

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # port seconds [pid]: gives up early when pid (the program that should listen) exits
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    port_open "$1" && return 0
    [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}

wait_http() {  # url seconds: until the proxy answers 200 end to end
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS -o /dev/null -m 1 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# Processes belonging to a proxy: its process group plus anything descended from the leader
# (workers forked into their own group still count).
group_pids() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$1" '
    { pid = $1; sub(/^.*\) /, ""); ppid[pid] = $2; grp[pid] = $3 }
    END {
      for (p in grp) if (grp[p] == pg || p == pg) keep[p] = 1
      do { changed = 0; for (p in ppid) if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; changed = 1 } } while (changed)
      for (p in keep) print p
    }'
}

group_cpu_ticks() {  # utime+stime summed over the group
  local sum=0 p s f
  for p in $(group_pids "$1"); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -ra f <<<"${s##*) }"
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}

group_rss_kb() {
  local p
  for p in $(group_pids "$1"); do cat "/proc/$p/status" 2>/dev/null || true; done | awk '/^VmRSS:/ { kb += $2 } END { print kb + 0 }'
}

stop_group() {  # pgid pid: TERM the whole group, KILL after 5 s, reap the leader
  local i
  kill -TERM -- "-$1" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 -- "-$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
}

BACKEND_PID="" PROXY_PID=""
cleanup() {
  [ -n "$PROXY_PID" ] && stop_group "$PROXY_PID" "$PROXY_PID"
  [ -n "$BACKEND_PID" ] && stop_group "$BACKEND_PID" "$BACKEND_PID"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# setsid makes each launched program the leader of its own process group (pgid = $!).
launch() {  # cpus log command...
  local cpus=$1 log=$2; shift 2
  setsid taskset -c "$cpus" "$@" >"$log" 2>&1 </dev/null &
  LAUNCHED=$!
}

# Proxy table: how to start each one. All listen on 127.0.0.1:19100 and forward to :19000.
start_proxy() {  # name log
  case $1 in
    orion) launch "$PROXY_CPUS" "$2" env ORION_CPU_LIMIT="$WORKERS" node src/orion.js -c bench/peer.yaml --drain-time-s 0 ;;
    nginx) launch "$PROXY_CPUS" "$2" nginx -c "$ROOT/bench/nginx-proxy.conf" -g "worker_processes $WORKERS;" ;;
    haproxy) launch "$PROXY_CPUS" "$2" haproxy -f bench/haproxy.cfg ;;
    envoy) launch "$PROXY_CPUS" "$2" "$ENVOY_BIN" -c bench/peer.yaml --concurrency "$WORKERS" --disable-hot-restart -l error ;;
  esac
}

proxy_unavailable() {  # name → reason on stdout when it cannot run here
  case $1 in
    orion) [ -f src/orion.js ] || echo "src/orion.js missing" ;;
    envoy) [ -n "${ENVOY_BIN:-}" ] && [ -x "${ENVOY_BIN:-}" ] || echo "ENVOY_BIN not set" ;;
  esac
}

# wrk output → "rps p50_ms p99_ms notes"
parse_wrk() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; if (v ~ /m$/) return v * 60000; return v + 0 }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { notes = notes "non-2xx " $NF "; " }
    /Socket errors:/ { sub(/^ *Socket errors: */, ""); notes = notes "errors: " $0 "; " }
    END { if (rps == "") { rps = 0; notes = notes "wrk failed" } printf "%d %.2f %.2f %s\n", rps, p50, p99, notes }'
}

run_wrk() {  # port path connections extra-args
  local port=$1 path=$2 conns=$3 extra=()
  [ -n "$4" ] && IFS=';' read -ra extra <<<"$4"
  local threads=$((LOAD_N < conns ? LOAD_N : conns))
  timeout $((DURATION + 30)) taskset -c "$LOAD_CPUS" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 5s --latency "${extra[@]}" "http://127.0.0.1:$port$path" 2>&1 || true
}

declare -A RPS P50 P99 CPU RSS NOTES
ROWS=()

record() {  # scenario proxy rps p50 p99 cpu rss notes
  local k="$1/$2"
  ROWS+=("$k"); RPS[$k]=$3; P50[$k]=$4; P99[$k]=$5; CPU[$k]=$6; RSS[$k]=$7; NOTES[$k]=$8
}

bench_proxy() {  # scenario path conns extra proxy
  local sc=$1 path=$2 conns=$3 extra=$4 name=$5 log="$WORK/$5.log" why
  why=$(proxy_unavailable "$name")
  if [ -n "$why" ]; then record "$sc" "$name" - - - - - "skipped: $why"; return; fi
  start_proxy "$name" "$log"
  PROXY_PID=$LAUNCHED
  if ! wait_port 19100 15 "$PROXY_PID" || ! wait_http "http://127.0.0.1:19100$path" 10; then
    record "$sc" "$name" - - - - - "did not start: $(tail -2 "$log" | tr '\n|' '  ')"
  else
    run_wrk 19100 "$path" "$conns" "$extra" >/dev/null
    local t0 c0 t1 c1 out rps p50 p99 notes cpu rss
    c0=$(group_cpu_ticks "$PROXY_PID"); t0=$(date +%s%N)
    out=$(run_wrk 19100 "$path" "$conns" "$extra")
    t1=$(date +%s%N); c1=$(group_cpu_ticks "$PROXY_PID")
    rss=$(group_rss_kb "$PROXY_PID")
    read -r rps p50 p99 notes <<<"$(parse_wrk <<<"$out")"
    cpu=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", d / hz / (ns / 1e9) * 100 }')
    record "$sc" "$name" "$rps" "$p50" "$p99" "$cpu" "$(awk -v kb="$rss" 'BEGIN { printf "%.1f", kb / 1024 }')" "$notes"
  fi
  stop_group "$PROXY_PID" "$PROXY_PID"
  PROXY_PID=""
  local i
  for ((i = 0; i < 50; i++)); do port_open 19100 || break; sleep 0.1; done
}

selected() {  # list item: empty list selects everything
  [ -z "$1" ] || [[ ",$1," == *",$2,"* ]]
}

ratio() {  # value base
  awk -v v="$1" -v b="$2" 'BEGIN { if (v == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", v / b }'
}

table() {
  echo "| scenario | proxy | req/s | req/s ×nginx | p50 ms | p99 ms | p99 ×nginx | CPU % | RSS MB | notes |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  local k sc
  for k in "${ROWS[@]}"; do
    sc=${k%%/*}
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$sc" "${k#*/}" "${RPS[$k]}" \
      "$(ratio "${RPS[$k]}" "${RPS[$sc/nginx]:--}")" "${P50[$k]}" "${P99[$k]}" \
      "$(ratio "${P99[$k]}" "${P99[$sc/nginx]:--}")" "${CPU[$k]}" "${RSS[$k]}" "${NOTES[$k]% }"
  done
}

main() {
  install_missing
  local p
  for p in 19000 19100; do
    if port_open "$p"; then echo "bench/run.sh: port $p is already in use" >&2; exit 1; fi
  done
  launch "$LOAD_CPUS" "$WORK/backend.log" nginx -c "$ROOT/bench/nginx-backend.conf" -g "worker_processes $LOAD_N;"
  BACKEND_PID=$LAUNCHED
  wait_port 19000 10 "$BACKEND_PID" || { echo "origin nginx did not start: $(tail -3 "$WORK/backend.log")" >&2; exit 1; }

  local entry sc conns path extra name out rps p50 p99 notes
  for entry in "${SCENARIOS[@]}"; do
    IFS='|' read -r sc conns path extra <<<"$entry"
    selected "$ONLY_SCENARIOS" "$sc" || continue
    conns=${CONNECTIONS:-$conns}
    echo "== $sc: ${DURATION}s, $conns connections" >&2
    out=$(run_wrk 19000 "$path" "$conns" "$extra")
    read -r rps p50 p99 notes <<<"$(parse_wrk <<<"$out")"
    record "$sc" "direct (no proxy)" "$rps" "$p50" "$p99" - - "$notes"
    # nginx first: it is the yardstick the ratios refer to.
    for name in nginx orion haproxy envoy; do
      selected "$ONLY_PROXIES" "$name" || continue
      echo "   $name" >&2
      bench_proxy "$sc" "$path" "$conns" "$extra" "$name"
    done
  done

  local report
  report=$(
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — \`$COMMAND\`"
    echo
    echo "Machine: $NPROC × $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); node $(node --version 2>/dev/null || echo '?');" \
      "$(nginx -v 2>&1 | sed 's/.*: //'); $(haproxy -v 2>/dev/null | awk 'NR == 1 { print "haproxy/" $3 }')."
    echo "Runs: ${DURATION}s warm-up + ${DURATION}s measured; $WORKERS worker(s) on CPU $PROXY_CPUS; origin nginx + wrk on CPU $LOAD_CPUS."
    echo "CPU % and RSS cover every process of the proxy (primary + workers)."
    echo
    table
    echo
  )
  echo "$report"
  echo "$report" >>bench/RESULTS.md
}

main
