#!/usr/bin/env bash
# The wide-row table of wide_snapshot.sh and wide_apply.sh: a business module's table of
# fourteen columns (text, numeric, jsonb, text[] and integer[], timestamptz), about 500 bytes a
# row, none TOASTed. Source it after lib.sh. Provides:
#   wide_columns                        # the column list, for SELECTs and checksums
#   wide_create_table PORT DB NAME [EXTRA_COLUMNS]  # CREATE TABLE NAME (…, EXTRA_COLUMNS)
#   wide_rows_sql LO HI                 # a SELECT of rows LO..HI (deterministic, from the id)
#   wide_load_clusters ROWS [SRC_SETTING...]  # clusters $src (database src, table wide with ROWS
#                                       # rows, vacuumed) and $dst (database dst, empty wide_copy)
#                                       # under $work, autovacuum off
#   wide_workload_sql FILE ROWS         # the workload as one psql script, each statement its own
#                                       # transaction: ROWS inserts (100 per transaction), then an
#                                       # update of two columns of every row (100 per transaction),
#                                       # then deletes of the first half (100 per transaction).
#                                       # Row changes: ROWS + ROWS + ROWS/2

wide_columns="id, customer_id, sku, title, description, quantity, unit_price, discount, status,
  attributes, tags, dimensions, created_at, updated_at"

wide_create_table() {
  local port=$1 db=$2 name=$3 extra=${4:-}
  bench_psql "$port" "$db" -c "CREATE TABLE $name (
    id          bigint PRIMARY KEY,
    customer_id integer NOT NULL,
    sku         text NOT NULL,
    title       text NOT NULL,
    description text,
    quantity    integer NOT NULL,
    unit_price  numeric(12,2) NOT NULL,
    discount    numeric(5,2),
    status      text NOT NULL,
    attributes  jsonb,
    tags        text[],
    dimensions  integer[],
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL${extra:+, $extra})"
}

wide_load_clusters() {
  local rows=$1
  shift
  src=$(pg_free_port)
  pg_cluster_start "$work/src" "$src" "max_wal_size = 4GB" "autovacuum = off" "$@"
  dst=$(pg_free_port)
  pg_cluster_start "$work/dst" "$dst" "max_wal_size = 4GB" "autovacuum = off"
  bench_psql "$src" postgres -c "CREATE DATABASE src"
  bench_psql "$dst" postgres -c "CREATE DATABASE dst"
  wide_create_table "$src" src wide
  bench_psql "$src" src -c "INSERT INTO wide ($wide_columns) $(wide_rows_sql 1 "$rows")"
  bench_psql "$src" src -c "VACUUM ANALYZE wide"
  wide_create_table "$dst" dst wide_copy
}

wide_rows_sql() {
  cat <<SQL
SELECT g, (g % 5000)::int, 'SKU-' || lpad((g % 100000)::text, 6, '0'),
  'Product ' || g || ' ' || md5(g::text),
  repeat('lorem ipsum dolor sit amet ', 3 + (g % 5)::int) || md5((g * 7)::text),
  1 + (g % 20)::int, (g % 100000) / 100.0 + 0.99, (g % 30) / 2.0,
  (ARRAY['new', 'paid', 'packed', 'shipped'])[1 + g % 4],
  jsonb_build_object('color', (ARRAY['red', 'green', 'blue'])[1 + g % 3], 'weight_g', 100 + g % 900,
    'gift', g % 7 = 0, 'dims', jsonb_build_array(g % 50, g % 40, g % 30), 'origin', 'warehouse ' || g % 12),
  ARRAY['tag' || g % 10, 'tag' || g % 13, 'promo'],
  ARRAY[(g % 50)::int, (g % 40)::int, (g % 30)::int],
  timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second',
  timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
FROM generate_series($1::bigint, $2::bigint) g
SQL
}

wide_workload_sql() {
  local file=$1 rows=$2 lo
  : >"$file"
  for ((lo = 1; lo <= rows; lo += 100)); do
    echo "INSERT INTO wide ($wide_columns) $(wide_rows_sql "$lo" "$((lo + 99 > rows ? rows : lo + 99))");" >>"$file"
  done
  for ((lo = 1; lo <= rows; lo += 100)); do
    echo "UPDATE wide SET status = 'shipped', updated_at = updated_at + interval '1 day' WHERE id BETWEEN $lo AND $((lo + 99));" >>"$file"
  done
  for ((lo = 1; lo <= rows / 2; lo += 100)); do
    echo "DELETE FROM wide WHERE id BETWEEN $lo AND $((lo + 99 > rows / 2 ? rows / 2 : lo + 99));" >>"$file"
  done
}
