#!/usr/bin/env bash
# Side by side: `trustplane scan aws` and Prowler (CIS AWS 3.0) against the same moto emulator,
# seeded with what the collector's tests seed (crates/aws/tests/common/seed.rs, three regions).
# Each tool runs RUNS times (interleaved) under /usr/bin/time -v; the report gives wall time,
# CPU time and peak RSS per run, and PASS/FAIL counts per CIS 3.0 control on each side.
#
#   bench/posture-vs-prowler.sh            # RUNS=3, results in a fresh temporary folder
#   RUNS=5 OUT=/tmp/pvp bench/posture-vs-prowler.sh
#
# Needs python3 (venvs are made outside the clone: ~/.cache/trustplane-venv for moto,
# ~/.cache/prowler-venv for `pip install prowler`), and GNU time (`apt-get install time`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${RUNS:-3}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
venv=${TRUSTPLANE_VENV:-$HOME/.cache/trustplane-venv}
pvenv=${PROWLER_VENV:-$HOME/.cache/prowler-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/trustplane-target}
log() { printf '==> %s\n' "$*" >&2; }

[ -x /usr/bin/time ] || { log "GNU time is missing: apt-get install -y time"; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/requirements.txt"
if [ ! -x "$pvenv/bin/prowler" ]; then
  log "installing Prowler into $pvenv"
  python3 -m venv "$pvenv"
  "$pvenv/bin/pip" install --quiet --disable-pip-version-check prowler
fi

log "building trustplane (release) and the seeding example"
cargo build --release --quiet -p trustplane
cargo build --quiet -p trustplane-aws --example seed_moto
bin=$CARGO_TARGET_DIR/release/trustplane
seed=$CARGO_TARGET_DIR/debug/examples/seed_moto

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
log "starting moto on $url"
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" \
  >"$out/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "$url/moto-api/" && break
  sleep 0.3
done

# Both tools read the same static test credentials; nothing from the user's AWS set-up.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
log "seeding"
"$seed" "$url" >"$out/seeded.txt"

# Trustplane assesses against CIS AWS 3.0 only, as Prowler's --compliance does.
mkdir -p "$out/benchmarks"
cp "$root/crates/posture/benchmarks/cis_3.0_aws.json" "$out/benchmarks/"
# CPU seconds the emulator has used so far (utime + stime of the moto process), to tell how much
# of each run's wall time is the emulator answering.
moto_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$moto_pid/stat"; }
for i in $(seq 1 "$runs"); do
  log "run $i: trustplane"
  moto_cpu >"$out/trustplane-$i.moto"
  /usr/bin/time -v -o "$out/trustplane-$i.time" "$bin" scan --benchmarks "$out/benchmarks" --format csv \
    aws --regions us-east-1,eu-west-1,ap-southeast-2 --endpoint-url "$url" \
    >"$out/trustplane-$i.csv" 2>"$out/trustplane-$i.err"
  moto_cpu >>"$out/trustplane-$i.moto"
  log "run $i: prowler"
  moto_cpu >"$out/prowler-$i.moto"
  status=0
  AWS_ENDPOINT_URL=$url /usr/bin/time -v -o "$out/prowler-$i.time" "$pvenv/bin/prowler" aws \
    --compliance cis_3.0_aws --scan-unused-services --region us-east-1 eu-west-1 ap-southeast-2 \
    --output-formats csv --output-directory "$out/prowler-$i" --no-banner --no-color \
    >"$out/prowler-$i.log" 2>&1 || status=$?
  moto_cpu >>"$out/prowler-$i.moto"
  # Prowler exits 3 when there are FAIL findings.
  [ "$status" -eq 0 ] || [ "$status" -eq 3 ] || { log "prowler failed ($status), see $out/prowler-$i.log"; exit 1; }
done

python3 "$root/bench/compare-prowler.py" "$out" "$runs" | tee "$out/report.md"
log "report: $out/report.md"
