#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, starts a
# throw-away PostgreSQL on a free loopback port, runs formatting, lint and every test on both
# backends, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '==> %s\n' "$*" >&2; }

# Debian packages: PostgreSQL for the second backend, Chromium for the browser tests,
# OpenSSL headers for webauthn-rs, xmlsec1 and openssl to check SAML signatures and certificates,
# Node.js and a Python venv for the independent peers; slapd and samba for directory sources.
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev pkg-config)
command -v python3 >/dev/null || need+=(python3 python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)
command -v xmlsec1 >/dev/null || need+=(xmlsec1)
command -v openssl >/dev/null || need+=(openssl)
# Directory sources: OpenLDAP and a Samba Active Directory domain controller, started by the
# directory-sync tests themselves.
[ -x /usr/sbin/slapd ] || need+=(slapd)
{ [ -x /usr/sbin/samba ] && [ -x /usr/bin/samba-tool ]; } || need+=(samba)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The packages' own services, where an init system started them, would hold the ports the tests'
# directories use (Samba AD binds 389 and 636).
for svc in slapd samba-ad-dc smbd nmbd; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# Builds are slow on small machines: keep the target folder outside the clone so that later
# runs on the same machine reuse it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/trustplane-target}
export CARGO_TERM_COLOR=never

# Independent peers in Python (a venv outside the clone, reused between runs).
venv=${TRUSTPLANE_VENV:-$HOME/.cache/trustplane-venv}
if [ ! -x "$venv/bin/python" ]; then
  log "creating the Python venv at $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/requirements.txt"
export TRUSTPLANE_TEST_PYTHON="$venv/bin/python"

# Playwright drives Debian's Chromium; it downloads no browser of its own.
log "installing the browser test's packages"
(cd "$root/tests/browser" && npm ci --no-audit --no-fund --silent)
# The upstream OpenID Connect provider the sign-in-through-a-provider tests start.
log "installing the test peers' packages (oidc-provider)"
(cd "$root/tests/peers" && npm ci --no-audit --no-fund --silent)

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  "$root/scripts/postgres.sh" stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

log "starting PostgreSQL"
TRUSTPLANE_TEST_POSTGRES_URL=$("$root/scripts/postgres.sh" start "$work/pg")
export TRUSTPLANE_TEST_POSTGRES_URL
unset TRUSTPLANE_SKIP_POSTGRES

# The checks run in an environment that exposes only what this script installed: the Rust
# toolchain, Debian's packages, the venv (by TRUSTPLANE_TEST_PYTHON) and the services started
# above. Nothing from /usr/local, pyenv or the caller's environment leaks in, and `python3`,
# `python` and `pip` on PATH fail loudly, so a test that takes a peer from the machine instead
# of from here fails on every machine, not only on a fresh one.
guard="$work/guard-bin"
mkdir -p "$guard"
for tool in python python3 pip pip3; do
  printf '#!/bin/sh\necho "%s from PATH is not a test peer: use TRUSTPLANE_TEST_PYTHON" >&2\nexit 127\n' \
    "$tool" >"$guard/$tool"
  chmod 755 "$guard/$tool"
done
cargo_bin=$(dirname "$(command -v cargo)")
restricted=(env -i
  HOME="$HOME" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}"
  PATH="$guard:$cargo_bin:/usr/sbin:/usr/bin:/sbin:/bin"
  CI="${CI:-}" CARGO_TARGET_DIR="$CARGO_TARGET_DIR" CARGO_TERM_COLOR=never
  TRUSTPLANE_TEST_PYTHON="$TRUSTPLANE_TEST_PYTHON"
  TRUSTPLANE_TEST_POSTGRES_URL="$TRUSTPLANE_TEST_POSTGRES_URL")
[ -n "${RUSTUP_HOME:-}" ] && restricted+=(RUSTUP_HOME="$RUSTUP_HOME")
[ -n "${CARGO_HOME:-}" ] && restricted+=(CARGO_HOME="$CARGO_HOME")
[ -n "${RUSTUP_TOOLCHAIN:-}" ] && restricted+=(RUSTUP_TOOLCHAIN="$RUSTUP_TOOLCHAIN")

log "cargo fmt --check"
"${restricted[@]}" cargo fmt --all -- --check

log "cargo clippy"
"${restricted[@]}" cargo clippy --workspace --all-targets --quiet -- -D warnings

log "cargo test (SQLite and PostgreSQL at $TRUSTPLANE_TEST_POSTGRES_URL), restricted environment"
"${restricted[@]}" cargo test --workspace --no-fail-fast
