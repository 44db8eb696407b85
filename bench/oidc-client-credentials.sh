#!/usr/bin/env bash
# Client-credentials tokens per second over HTTP (loopback): Trustplane against oidc-provider
# (npm, OpenID-certified) in the same run, the same load generator (wrk) against both.
#
# Each server gets one core (taskset; Trustplane runs one Tokio worker, Node is single-threaded)
# and wrk another. Rounds are interleaved so that both see the same machine; the script prints
# every round and the medians.
#
#   bench/oidc-client-credentials.sh            # ROUNDS=3 DURATION=10 CONNECTIONS=16
#
# Needs: cargo, node/npm (oidc-provider@8 is installed into $OIDC_PROVIDER_DIR, outside the
# repository), wrk (installed from Debian if missing), taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
OIDC_PROVIDER_DIR=${OIDC_PROVIDER_DIR:-$HOME/.cache/oidc-provider-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/trustplane-target}

log() { printf '==> %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
  log "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ ! -f "$OIDC_PROVIDER_DIR/node_modules/oidc-provider/package.json" ]; then
  log "installing oidc-provider@8 into $OIDC_PROVIDER_DIR"
  mkdir -p "$OIDC_PROVIDER_DIR"
  (cd "$OIDC_PROVIDER_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --silent oidc-provider@8)
fi
cp "$root/bench/oidc-provider-server.mjs" "$OIDC_PROVIDER_DIR/"

log "building the Trustplane benchmark node (release)"
cargo build --release --quiet -p trustplane-server --example oidc_bench_server
trustplane_bin="$CARGO_TARGET_DIR/release/examples/oidc_bench_server"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME COMMAND... : starts a server on SERVER_CPU and waits for its "ready" line.
start() {
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    grep -q '^ready' "$work/$name.log" 2>/dev/null && return 0
    sleep 0.1
  done
  log "$name did not start:"; cat "$work/$name.log" >&2; exit 1
}

tp_port=$(free_port)
start trustplane "$trustplane_bin" "$tp_port" "$secret" "$work/trustplane-data"
op_port=$(free_port)
# Node resolves `oidc-provider` next to the script, which is why it was copied there.
start oidc-provider-jwt env NODE_ENV=production ACCESS_TOKEN_FORMAT=jwt \
  node "$OIDC_PROVIDER_DIR/oidc-provider-server.mjs" "$op_port" "$secret"
op_opaque_port=$(free_port)
start oidc-provider-opaque env NODE_ENV=production ACCESS_TOKEN_FORMAT=opaque \
  node "$OIDC_PROVIDER_DIR/oidc-provider-server.mjs" "$op_opaque_port" "$secret"

declare -A url=(
  [trustplane]="http://127.0.0.1:$tp_port/oauth2/token"
  [oidc-provider-jwt]="http://127.0.0.1:$op_port/token"
  [oidc-provider-opaque]="http://127.0.0.1:$op_opaque_port/token"
)
order=(trustplane oidc-provider-jwt oidc-provider-opaque)

# One request each first: the answer must hold an access token.
for name in "${order[@]}"; do
  body=$(curl -sf -u "bench-client:$secret" -d 'grant_type=client_credentials&scope=api.read' "${url[$name]}")
  python3 -c 'import json,sys; t=json.loads(sys.argv[1]); assert t["access_token"] and t["token_type"].lower()=="bearer", t; print(sys.argv[2], "access token:", t["access_token"][:24] + "...", file=sys.stderr)' "$body" "$name"
done

export CLIENT_ID=bench-client CLIENT_SECRET=$secret
declare -A results
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s per run after ${WARMUP}s warm-up; servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
for round in $(seq 1 "$ROUNDS"); do
  for name in "${order[@]}"; do
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/client-credentials.lua "${url[$name]}" >/dev/null
    line=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/client-credentials.lua "${url[$name]}" | grep '^RESULT')
    printf 'round %d %-22s %s\n' "$round" "$name" "${line#RESULT }"
    results[$name]+="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line") "
  done
done
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "median tokens per second (one server core):"
for name in "${order[@]}"; do
  python3 - "$name" "${results[$name]}" <<'PY'
import statistics, sys
values = [float(x) for x in sys.argv[2].split()]
rounds = ", ".join(f"{x:.1f}" for x in values)
print(f"  {sys.argv[1]:<22} {statistics.median(values):>9.1f}   (rounds: {rounds})")
PY
done
