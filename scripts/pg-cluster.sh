#!/usr/bin/env bash
# Throwaway PostgreSQL 15 clusters for the demo and benchmarks (the C++ tests use
# tests/support's PgCluster). Source this file, then:
#   pg_cluster_start DIR PORT [extra postgresql.conf lines...]   # initdb + start
#   pg_cluster_stop DIR
# As root, the server runs as the `postgres` OS user (PostgreSQL refuses root).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_cluster_start() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  chmod 0755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
fsync = off
full_page_writes = off
shared_buffers = 128MB
CONF
  local line
  for line in "$@"; do echo "$line" >>"$dir/data/postgresql.conf"; done
  pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
    { cat "$dir/server.log" >&2; return 1; }
}

pg_cluster_stop() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
