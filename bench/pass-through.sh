#!/usr/bin/env bash
# Pass-through sign-ins per second against a local Samba AD domain controller (issue 19):
# full sign-ins through the sign-in flow (LDAPS connect, the connection's bind, the lookup by
# objectGUID, the person's bind, conditional access, risk, session and sign-in log), 8 at a
# time and one at a time, and the directory check alone. Prints one line per measurement.
#
# Needs: cargo, samba (Debian package), node and tests/peers' packages (the same test also
# signs in through oidc-provider). Samba binds fixed ports: the run holds /tmp/samba.lock.
#
# bench/pass-through.sh [SIGN_INS]     (default 400)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-400}
TRUSTPLANE_BENCH_PASS_THROUGH=$n flock /tmp/samba.lock \
  cargo test -p trustplane-idp --test pass_through -- --nocapture 2>&1 | grep 'pass-through bench'
