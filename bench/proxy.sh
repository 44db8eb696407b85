#!/usr/bin/env bash
# The identity-aware proxy's cost on one core: requests per second and latency of the same
# upstream page fetched directly and through `trustplane-proxy` (signed-in session, identity
# headers and a signed assertion added, session policy evaluated), with wrk on loopback.
#
# The benchmark process (`crates/server/examples/proxy_bench_server.rs`) runs the Trustplane
# node, the upstream and the proxy on one Tokio worker pinned to SERVER_CPU; wrk runs on
# CLIENT_CPU. Rounds interleave direct and proxied runs; the script prints every round and
# the medians.
#
#   bench/proxy.sh            # ROUNDS=3 DURATION=10 CONNECTIONS=16
#
# Needs: cargo, wrk (installed from Debian if missing), taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/trustplane-target}

log() { printf '==> %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
  log "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

log "building the benchmark process (release)"
cargo build --release --quiet -p trustplane-server --example proxy_bench_server
bin="$CARGO_TARGET_DIR/release/examples/proxy_bench_server"

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c "$SERVER_CPU" "$bin" "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^ready' "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '^ready' "$work/server.log" || { log "the benchmark process did not start:"; cat "$work/server.log" >&2; exit 1; }
read -r _ direct proxied cookie < <(grep '^ready' "$work/server.log")

# run NAME URL [HEADER]: one wrk run; prints "rps p50_us p99_us".
run() {
  local url=$1; shift
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1" --latency "${@:2}" "$url" >"$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        sys.exit(f"cannot read wrk's output:\n{text}")
    n, unit = m.groups()
    return float(n) * {"us": 1, "ms": 1000, "s": 1e6, "m": 6e7}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = us(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = us(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"non-2xx answers: {errors.group(1)}\n{text}")
print(f"{rps:.0f} {p50:.0f} {p99:.0f}")
PY
}

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s per run after ${WARMUP}s warm-up; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
declare -A rps p50 p99
for round in $(seq 1 "$ROUNDS"); do
  for name in direct proxied; do
    if [ "$name" = direct ]; then url=$direct; hdr=(); else url=$proxied; hdr=(-H "Cookie: $cookie"); fi
    run "$url" "${WARMUP}s" "${hdr[@]}" >/dev/null
    read -r r a b < <(run "$url" "${DURATION}s" "${hdr[@]}")
    printf 'round %d %-8s %8s req/s   p50 %6s us   p99 %6s us\n' "$round" "$name" "$r" "$a" "$b"
    rps[$name]+="$r "; p50[$name]+="$a "; p99[$name]+="$b "
  done
done
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${rps[direct]}" "${rps[proxied]}" "${p50[direct]}" "${p50[proxied]}" "${p99[direct]}" "${p99[proxied]}" <<'PY'
import statistics as st, sys
m = [st.median(float(x) for x in a.split()) for a in sys.argv[1:]]
print(f"\nmedians: direct {m[0]:.0f} req/s, proxied {m[1]:.0f} req/s on one core: throughput cost {100 * (1 - m[1] / m[0]):.1f} %")
print(f"latency added: p50 {m[3] - m[2]:.0f} us, p99 {m[5] - m[4]:.0f} us")
PY
