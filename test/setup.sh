#!/usr/bin/env bash
# Installs the system programs the integration tests drive. Idempotent: when everything is present
# it touches neither apt nor the network, so `npm test` stays fast and works offline.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
export DEBIAN_FRONTEND=noninteractive

# program (or file, by absolute path) → Debian package providing it; haproxy and the nginx stream
# module are for bench/run.sh, which test/bench-smoke.test.ts runs
NEEDS=(
  "curl curl"
  "nginx nginx-light"
  "h2load nghttp2-client"
  "redis-server redis-server"
  "openssl openssl"
  "wrk wrk"
  "haproxy haproxy"
  "/usr/lib/nginx/modules/ngx_stream_module.so libnginx-mod-stream"
)

missing=()
for entry in "${NEEDS[@]}"; do
  read -r prog pkg <<<"$entry"
  if [[ $prog == /* ]]; then [ -e "$prog" ] || missing+=("$pkg")
  else command -v "$prog" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
echo "test/setup.sh: installing ${missing[*]}" >&2
# One index refresh for the whole batch; the cached index is usually too stale to resolve packages.
$SUDO apt-get update -q >/dev/null
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/orion-test-setup.log 2>&1; then
  echo "test/setup.sh: apt-get install failed; see /tmp/orion-test-setup.log" >&2
  tail -5 /tmp/orion-test-setup.log >&2
  exit 1
fi
