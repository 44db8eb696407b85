#!/usr/bin/env bash
# Outbound provisioning into moto's Identity Store: USERS users in GROUPS groups from empty,
# then a 1 % change, then a reconciliation. Usage: bench/provision-identity-store.sh [USERS] [GROUPS]
# Needs TRUSTPLANE_TEST_PYTHON (a Python with moto[server], tests/requirements.txt).
set -euo pipefail
users=${1:-10000}
groups=${2:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${TRUSTPLANE_TEST_PYTHON:?set TRUSTPLANE_TEST_PYTHON to a Python with moto[server]}
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m moto.server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break
  sleep 0.2
done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
cd "$root"
cargo run -q -p trustplane-cloud --example provision_identity_store -- "$users" "$groups" "http://127.0.0.1:$port"
