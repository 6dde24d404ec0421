#!/usr/bin/env bash
# `make demo`: the whole path on embedded defaults, with nothing external.
# Starts a throwaway PostgreSQL 15 cluster with an `orders` module database and a `shipping`
# module database, the Kafka-protocol dev broker, and `modsync run` on
# config/examples/orders-to-shipping.yaml; writes a few orders; shows the change events with kcat
# (an independent Kafka client) and the shipping module's projection; stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
modsync="$root/$build/daemon/modsync"
. "$root/scripts/pg-cluster.sh"

work=$(mktemp -d /tmp/modsync-demo.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pg_cluster_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
psql_orders() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d orders "$@"; }

step "Starting PostgreSQL 15 (wal_level=logical) in $work/pg"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE orders" -c "CREATE DATABASE shipping"
psql_orders <<'SQL'
CREATE TABLE orders (
  id          bigserial PRIMARY KEY,
  customer_id int NOT NULL,
  status      text NOT NULL DEFAULT 'new',
  total       numeric(12,2) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line_no  int NOT NULL,
  sku      text NOT NULL,
  qty      int NOT NULL,
  PRIMARY KEY (order_id, line_no)
);
-- Rows that exist before modsync starts arrive through the initial snapshot (op "r").
INSERT INTO orders (customer_id, status, total) VALUES (7, 'paid', 19.90), (8, 'new', 5.00);
SQL

psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d shipping <<'SQL'
-- The shipping module's projection of paid orders, in its own shape. The two _modsync columns
-- hold the source position of each row (the version guard: replays never regress a row).
CREATE TABLE orders_to_ship (
  order_id     bigint PRIMARY KEY,
  customer_id  int NOT NULL,
  amount       numeric(12,2) NOT NULL,
  _modsync_lsn pg_lsn NOT NULL,
  _modsync_seq integer NOT NULL
);
SQL

step "Starting the Kafka-protocol dev broker"
"$modsync" dev-broker --partitions 3 --address-file "$work/broker.addr" \
  >"$work/broker.out" 2>"$work/broker.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/broker.addr" ] && break; sleep 0.1; done
brokers=$(cat "$work/broker.addr")
echo "bootstrap address: $brokers"

step "Starting modsync run --config config/examples/orders-to-shipping.yaml"
export ORDERS_DSN="host=127.0.0.1 port=$port dbname=orders user=postgres"
export SHIPPING_DSN="host=127.0.0.1 port=$port dbname=shipping user=postgres"
export KAFKA_BROKERS="$brokers" MODSYNC_STATE_DIR="$work/state" MODSYNC_HTTP_LISTEN="127.0.0.1:$(pg_free_port)"
"$modsync" run --config "$root/config/examples/orders-to-shipping.yaml" 2>"$work/modsync.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "streaming from slot" "$work/modsync.log" && break; sleep 0.1; done
sed 's/^/  modsync: /' "$work/modsync.log"

step "Writing orders: insert, update, delete, and one multi-row transaction"
psql_orders <<'SQL'
INSERT INTO orders (customer_id, total) VALUES (42, 99.50);
UPDATE orders SET status = 'paid' WHERE customer_id = 42;
DELETE FROM orders WHERE customer_id = 8;
BEGIN;
INSERT INTO orders (customer_id, status, total) VALUES (43, 'paid', 12.00);
INSERT INTO order_lines VALUES (currval('orders_id_seq'), 1, 'SKU-1', 2), (currval('orders_id_seq'), 2, 'SKU-2', 1);
COMMIT;
SELECT pg_logical_emit_message(true, 'outbox', '{"type":"OrderPlaced","order":4}');
SQL

step "Change events on Kafka (read back with kcat)"
fmt='  %t [partition %p, offset %o]\n    key:     %k\n    headers: %h\n    value:   %s\n'
expect_topic() {  # topic, expected count
  local n=0
  for _ in $(seq 50); do
    n=$(kcat -C -b "$brokers" -t "$1" -o beginning -e -q -f 'x\n' 2>/dev/null | grep -c x || true)
    [ "$n" -ge "$2" ] && break
    sleep 0.2
  done
  kcat -C -b "$brokers" -t "$1" -o beginning -e -q -f "$fmt"
}
expect_topic orders.public.orders 6
expect_topic orders.public.order_lines 2
expect_topic orders.messages 1

step "The shipping module's projection: paid orders with total > 0, id renamed to order_id"
for _ in $(seq 50); do
  n=$(psql -X -A -t -h 127.0.0.1 -p "$port" -U postgres -d shipping -c "SELECT count(*) FROM orders_to_ship")
  [ "$n" -ge 3 ] && break
  sleep 0.2
done
psql -X -h 127.0.0.1 -p "$port" -U postgres -d shipping -c \
  "SELECT order_id, customer_id, amount, _modsync_lsn FROM orders_to_ship ORDER BY order_id"
echo "  (source rows for comparison:)"
psql -X -h 127.0.0.1 -p "$port" -U postgres -d orders -c \
  "SELECT id, customer_id, status, total FROM orders ORDER BY id"

step "What modsync reports on http://$MODSYNC_HTTP_LISTEN (/readyz, /status, /metrics)"
curl -s "http://$MODSYNC_HTTP_LISTEN/readyz"; echo
curl -s "http://$MODSYNC_HTTP_LISTEN/status"; echo
curl -s "http://$MODSYNC_HTTP_LISTEN/metrics" | grep -E '^modsync_(events_captured_total|rows_applied_total|source_lag_bytes)' | head -12

step "Stopping modsync (SIGTERM: flush Kafka, checkpoint, confirm to PostgreSQL)"
kill -TERM "${pids[1]}"
wait "${pids[1]}" || true
tail -n 3 "$work/modsync.log" | sed 's/^/  modsync: /'
psql -X -h 127.0.0.1 -p "$port" -U postgres -d orders -c \
  "SELECT slot_name, confirmed_flush_lsn, pg_current_wal_lsn() FROM pg_replication_slots"
step "Done; everything stops now"
