#!/usr/bin/env bash
# Side-by-side proxy benchmark (issue 7): orion-proxy against nginx and haproxy (and Envoy when
# ENVOY_BIN is set) on every scenario of bench/lib/scenarios.ts. This wrapper installs what the
# bench drives (from Debian packages, when missing), raises the open-file limit for the 10,000
# idle connections, and runs bench/main.ts on the project's Node 24. Options: bench/run.sh --help.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH:/usr/sbin:/sbin"
export DEBIAN_FRONTEND=noninteractive

case " $* " in *" --help "*|*" -h "*|*" --list "*) exec node bench/main.ts "$@" ;; esac

# program or file → Debian package providing it
NEEDS=(
  "nginx nginx-light"
  "/usr/lib/nginx/modules/ngx_stream_module.so libnginx-mod-stream"
  "haproxy haproxy"
  "wrk wrk"
  "h2load nghttp2-client"
  "curl curl"
  "openssl openssl"
  "taskset util-linux"
)
missing=()
for entry in "${NEEDS[@]}"; do
  read -r what pkg <<<"$entry"
  if [[ $what == /* ]]; then [ -e "$what" ] || missing+=("$pkg")
  else command -v "$what" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  echo "bench/run.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -q >/dev/null
  if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/orion-bench-apt.log 2>&1; then
    echo "bench/run.sh: apt-get install failed; see /tmp/orion-bench-apt.log" >&2
    tail -5 /tmp/orion-bench-apt.log >&2
    exit 1
  fi
fi

# 10,000 idle connections need ~10,000 descriptors in the proxy and as many in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# exec: Ctrl-C reaches main.ts, which stops every process group it started.
exec node bench/main.ts "$@"
