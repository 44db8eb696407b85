#!/usr/bin/env bash
# Starts a throw-away PostgreSQL on a free loopback port and prints its URL.
# Usage: scripts/postgres.sh start DIR   -> prints postgres://... on stdout
#        scripts/postgres.sh stop DIR
#        scripts/postgres.sh restart DIR (keeps data and port)
set -euo pipefail
cmd=${1:?start|stop|restart}
dir=${2:?data directory}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { runuser -u postgres -- "$@"; }

case "$cmd" in
start)
  mkdir -p "$dir"
  chown postgres "$dir"
  # The test peers' Python when there is one: tests run where python3 on PATH is refused.
  port=$("${TRUSTPLANE_TEST_PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
  fi
  echo "$port" >"$dir/port"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
restart)
  port=$(cat "$dir/port")
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  ;;
esac
