#!/usr/bin/env bash
# producer_bench: what the capture trigger (core.fn_entity_change_log_capture, attached with
# core.fn_observer_attach) costs the application that writes. Rows/s of batch INSERTs (1,000 rows
# per statement), single-row INSERTs and 1,000-row UPDATEs, each with and without the trigger,
# alternating, on a database of its own (dropped at exit); then the WAL each case writes per row.
#
# Usage: bench/producer_bench.sh [--url URL] [--runs N] [--batches N] [--singles N] [--updates N]
#                                [--migrate-through V] [--cases batch,single,update]
#   --url URL             any database on the server to measure (default: FRAISEQL_TEST_PG_URL from
#                         .test-services/env); the benchmark creates and drops a database beside it,
#                         so the role needs CREATEDB (and superuser for CHECKPOINT and pg_walinspect,
#                         which are skipped with a note otherwise)
#   --runs N              measurements per case, alternating which case goes first (default 5)
#   --batches N           1,000-row INSERT statements per batch measurement (default 100)
#   --singles N           single-row INSERT transactions per measurement (default 3000)
#   --updates N           1,000-row UPDATE statements per measurement (default 20)
#   --migrate-through V   apply migrations/ only up to version V (say 5, to measure the trigger
#                         as 002 wrote it, before 006 made it faster)
#   --cases LIST          which of batch, single and update to measure (default all three)
# Every statement is its own transaction, committed durably (fsync and synchronous_commit on;
# the benchmark says so when the server runs without fsync). One client (pgbench -c 1 -M prepared).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 batches=100 singles=3000 updates=20 through=999 url="" cases=batch,single,update
usage() { sed -n '7,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while (($#)); do
  case $1 in
    --url) url=${2:?--url needs a value}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --batches) batches=${2:?}; shift 2 ;;
    --singles) singles=${2:?}; shift 2 ;;
    --updates) updates=${2:?}; shift 2 ;;
    --migrate-through) through=${2:?}; shift 2 ;;
    --cases) cases=${2:?}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "producer_bench: unknown argument $1" >&2; usage >&2 ;;
  esac
done
[[ $cases =~ ^(batch|single|update)(,(batch|single|update))*$ ]] ||
  { echo "producer_bench: --cases takes a comma-separated list of batch, single and update, got '$cases'" >&2; exit 2; }
wanted() { [[ ,$cases, == *,$1,* ]]; }
for n in "$runs" "$batches" "$singles" "$updates" "$through"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "producer_bench: counts must be positive integers, got '$n'" >&2; exit 2; }
done

if [[ -z $url ]]; then
  [[ -f .test-services/env ]] || { echo "producer_bench: no --url and no .test-services/env (scripts/services start)" >&2; exit 2; }
  source .test-services/env
  url=${FRAISEQL_TEST_PG_URL:?.test-services/env sets no FRAISEQL_TEST_PG_URL}
fi
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $pg_bin/pgbench ]] || pg_bin=$(dirname "$(command -v pgbench || echo /none/pgbench)")
[[ -x $pg_bin/pgbench ]] || { echo "producer_bench: pgbench not found (set PG_BIN)" >&2; exit 2; }
psql=("$pg_bin/psql" -X -q -v ON_ERROR_STOP=1)
[[ -x ${psql[0]} ]] || psql[0]=psql

# The same server, another database: keep scheme, credentials, host and query, replace the path.
[[ $url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]] ||
  { echo "producer_bench: --url must be a postgresql:// URL" >&2; exit 2; }
server=${BASH_REMATCH[1]} query=${BASH_REMATCH[4]}
db=producer_bench_$$
db_url=$server/$db$query
tmp=$(mktemp -d)
cleanup() {
  "${psql[@]}" -d "$url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$tmp"
}
"${psql[@]}" -d "$url" -c "CREATE DATABASE $db"
trap cleanup EXIT
trap 'exit 130' INT TERM
q() { "${psql[@]}" -d "$db_url" -At "$@"; }

"${psql[@]}" -d "$url" -c "ALTER DATABASE $db SET synchronous_commit = on" -c "ALTER DATABASE $db SET client_min_messages = warning"
for file in migrations/[0-9][0-9][0-9]_*.sql; do
  version=$((10#$(basename "$file" | cut -c1-3)))
  ((version <= through)) || continue
  "${psql[@]}" -d "$db_url" -1 -f "$file"
  applied=$(basename "$file" .sql)
done
[[ -n ${applied:-} ]] || { echo "producer_bench: no migration applied" >&2; exit 2; }

# A realistic application table: uuid key, tenant, text, numeric, timestamps, a small jsonb.
q <<'SQL'
CREATE TABLE public.bench_orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL,
  customer_name text NOT NULL,
  status text NOT NULL,
  note text,
  total numeric(12,2) NOT NULL,
  quantity integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  attributes jsonb NOT NULL
);
CREATE INDEX bench_orders_tenant ON public.bench_orders (tenant_id);
SQL
can_checkpoint=yes walinspect=yes
q -c "CHECKPOINT" 2>/dev/null || can_checkpoint=no
q -c "CREATE EXTENSION IF NOT EXISTS pg_walinspect" 2>/dev/null || walinspect=no

# The row of number :n (pgbench passes :n as a parameter; psql, which runs the WAL probe, as a
# literal): 20 tenants, so an UPDATE of one tenant's rows is 1,000 rows of a 20,000-row table.
row_values() {
  local n=$1
  echo "('00000000-0000-4000-8000-' || lpad(($n % 20)::text, 12, '0'))::uuid, 'customer ' || $n,
    (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + $n % 4], md5(($n)::text), ($n % 100000) / 100.0,
    1 + $n % 7, jsonb_build_object('sku', 'SKU-' || ($n % 500), 'channel', 'web',
    'tags', jsonb_build_array('gift', 'express'), 'weight_kg', ($n % 50) / 10.0)"
}
columns="public.bench_orders (tenant_id, customer_name, status, note, total, quantity, attributes)"
cat > "$tmp/batch.sql" <<SQL
\set n random(1, 1000000000)
INSERT INTO $columns SELECT $(row_values "(:n + g)") FROM generate_series(1, 1000) g;
SQL
cat > "$tmp/single.sql" <<SQL
\set n random(1, 1000000000)
INSERT INTO $columns VALUES ($(row_values ":n"));
SQL
cat > "$tmp/update.sql" <<SQL
\set t random(0, 19)
UPDATE public.bench_orders SET status = 'paid', total = total + 1, updated_at = now()
 WHERE tenant_id = ('00000000-0000-4000-8000-' || lpad((:t)::text, 12, '0'))::uuid;
SQL

# The same statements in a server-side loop, one transaction each, timing the backend's own CPU
# (/proc/self/schedstat, nanoseconds on the CPU): what the trigger costs per row, unlike rows/s
# hardly moved by other work on the machine. Needs a superuser (pg_read_file) and Linux.
q <<SQL
CREATE PROCEDURE public.bench_cpu(kind text, statements int, INOUT us_per_row numeric DEFAULT NULL)
LANGUAGE plpgsql AS \$\$
DECLARE
  t0 bigint := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
  rows_per_statement int := CASE kind WHEN 'single' THEN 1 ELSE 1000 END;
BEGIN
  FOR i IN 1..statements LOOP
    IF kind = 'batch' THEN
      INSERT INTO $columns SELECT $(row_values "(i * 1000 + g)") FROM generate_series(1, 1000) g;
    ELSIF kind = 'single' THEN
      INSERT INTO $columns VALUES ($(row_values i));
    ELSE
      UPDATE public.bench_orders SET status = 'paid', total = total + 1, updated_at = now()
       WHERE tenant_id = ('00000000-0000-4000-8000-' || lpad((i % 20)::text, 12, '0'))::uuid;
    END IF;
    COMMIT;
  END LOOP;
  us_per_row := round((split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - t0)
                      / 1000.0 / statements / rows_per_statement, 2);
END
\$\$;
SQL
cpu=yes
q -c "SELECT pg_read_file('/proc/self/schedstat')" >/dev/null 2>&1 || cpu=no

# none | trigger | pre (trigger with the pre-image)
set_mode() {
  case $1 in
    none) q -c "SELECT core.fn_observer_detach('public.bench_orders')" >/dev/null ;;
    trigger) q -c "SELECT core.fn_observer_attach('public.bench_orders', 'Order', 'id', false)" >/dev/null ;;
    pre) q -c "SELECT core.fn_observer_attach('public.bench_orders', 'Order', 'id', true)" >/dev/null ;;
  esac
}
checkpoint() { [[ $can_checkpoint == no ]] || q -c "CHECKPOINT"; }
# Empty tables for INSERTs; 20,000 fresh, vacuumed rows for UPDATEs. Then a checkpoint, so every
# measurement starts with the same full-page-write state.
reset_tables() {
  q -c "TRUNCATE public.bench_orders, core.tb_entity_change_log"
  if [[ $1 == update ]]; then
    set_mode none
    q -c "INSERT INTO $columns SELECT $(row_values g) FROM generate_series(1, 20000) g"
    q -c "VACUUM ANALYZE public.bench_orders"
  fi
  checkpoint
}
# Prints rows/s of `transactions` runs of `script` (each statement writes `rows` rows).
measure() {
  local script=$1 transactions=$2 rows=$3 out
  out=$("$pg_bin/pgbench" -n -M prepared -c 1 -t "$transactions" -f "$tmp/$script.sql" "$db_url" 2>&1) ||
    { echo "$out" >&2; return 1; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
  [[ -n $tps ]] || { echo "$out" >&2; return 1; }
  awk -v tps="$tps" -v rows="$rows" 'BEGIN { printf "%.0f\n", tps * rows }'
}

declare -A results  # "<case> <mode>" -> rows/s of each run, space-separated
run_case() {  # case script transactions rows-per-transaction modes...
  local name=$1 script=$2 transactions=$3 rows=$4
  shift 4
  local mode
  for mode in "$@"; do
    reset_tables "$name"
    set_mode "$mode"
    results["$name $mode"]+="$(measure "$script" "$transactions" "$rows") "
  done
}

declare -A cpu_results  # "<case> <mode>" -> backend CPU us per row of each run
cpu_case() {  # case statements modes...
  local name=$1 statements=$2
  shift 2
  local mode
  for mode in "$@"; do
    reset_tables "$name"
    set_mode "$mode"
    cpu_results["$name $mode"]+="$(q -c "CALL public.bench_cpu('$name', $statements)") "
  done
}

echo "producer_bench: $(q -c "SELECT split_part(version(), ' ', 2)" | head -1) on $server (database $db, migrations through $applied)"
echo "  fsync=$(q -c 'SHOW fsync') synchronous_commit=$(q -c 'SHOW synchronous_commit') full_page_writes=$(q -c 'SHOW full_page_writes') wal_compression=$(q -c 'SHOW wal_compression') shared_buffers=$(q -c 'SHOW shared_buffers'); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
[[ $(q -c 'SHOW fsync') == on ]] || echo "  NOTE: the server runs with fsync off: single-row figures are not durable-commit figures"
[[ $can_checkpoint == yes ]] || echo "  NOTE: CHECKPOINT not allowed for this role: measurements do not start from a checkpoint"
echo "  runs=$runs, cases $cases: batch $batches x 1,000 rows, single $singles x 1 row, update $updates x 1,000 rows of 20,000"

for ((run = 1; run <= runs; run++)); do
  # Alternate which mode goes first, so a drift in the machine's load does not favour one.
  if ((run % 2)); then forward=(none trigger); update_order=(none trigger pre)
  else forward=(trigger none); update_order=(pre trigger none); fi
  ! wanted batch || run_case batch batch "$batches" 1000 "${forward[@]}"
  ! wanted single || run_case single single "$singles" 1 "${forward[@]}"
  ! wanted update || run_case update update "$updates" 1000 "${update_order[@]}"
  if [[ $cpu == yes ]]; then
    ! wanted batch || cpu_case batch "$((batches / 5 + 1))" "${forward[@]}"
    ! wanted single || cpu_case single "$((singles / 5 + 1))" "${forward[@]}"
    ! wanted update || cpu_case update "$updates" "${update_order[@]}"
  fi
  echo "  run $run/$runs done" >&2
done

# min median max of a list of numbers
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%d %d %d\n", v[1], m, v[NR] }'; }
median() { stats "$1" | cut -d' ' -f2; }
# median, min and max of the per-run ratios (run i with / run i without)
paired() { paste <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) |
  awk '{ print $1 / $2 }' | sort -g | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (runs %.2f..%.2f)", m, v[1], v[NR] }'; }

label() {
  case $1 in
    "batch none") echo "batch INSERT, 1,000 rows/stmt    no trigger" ;;
    "batch trigger") echo "batch INSERT, 1,000 rows/stmt    trigger" ;;
    "single none") echo "single-row INSERT                no trigger" ;;
    "single trigger") echo "single-row INSERT                trigger" ;;
    "update none") echo "UPDATE, 1,000 rows/stmt          no trigger" ;;
    "update trigger") echo "UPDATE, 1,000 rows/stmt          trigger" ;;
    "update pre") echo "UPDATE, 1,000 rows/stmt          trigger, pre-image" ;;
  esac
}
echo
printf '%-52s %10s %10s %10s   %s\n' "rows/s" min median max "with/without (median; per-run pairs)"
for key in "batch none" "batch trigger" "single none" "single trigger" "update none" "update trigger" "update pre"; do
  wanted "${key% *}" || continue
  read -r lo mid hi <<<"$(stats "${results[$key]}")"
  ratio=""
  if [[ $key != *none ]]; then
    without=${results["${key% *} none"]}
    ratio=$(awk -v a="$mid" -v b="$(median "$without")" 'BEGIN { printf "%.2f", a / b }')
    ratio="$ratio; $(paired "${results[$key]}" "$without")"
  fi
  printf '%-52s %10s %10s %10s   %s\n' "$(label "$key")" "$lo" "$mid" "$hi" "$ratio"
done

# Like stats, with two decimals.
stats2() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %.1f %.1f\n", v[1], m, v[NR] }'; }
echo
if [[ $cpu == yes ]]; then
  printf '%-52s %10s %10s %10s   %s\n' "backend CPU us/row (in-server loop)" min median max "without/with (median; per-run pairs)"
  for key in "batch none" "batch trigger" "single none" "single trigger" "update none" "update trigger" "update pre"; do
    wanted "${key% *}" || continue
    read -r lo mid hi <<<"$(stats2 "${cpu_results[$key]}")"
    ratio=""
    if [[ $key != *none ]]; then
      without=${cpu_results["${key% *} none"]}
      ratio=$(awk -v a="$mid" -v b="$(stats2 "$without" | cut -d' ' -f2)" 'BEGIN { printf "%.2f", b / a }')
      ratio="$ratio; $(paired "$without" "${cpu_results[$key]}")"
    fi
    printf '%-52s %10s %10s %10s   %s\n' "$(label "$key")" "$lo" "$mid" "$hi" "$ratio"
  done
else
  echo "backend CPU per row: skipped (reading /proc/self/schedstat with pg_read_file needs a superuser and Linux)"
fi

# WAL written per row, counted by pg_walinspect from this benchmark's own transactions (their
# xids are the xmin of the rows they left), so other sessions on the server do not count. The
# statements are the measured ones, run by psql: 10 batches, 200 single rows, one UPDATE per tenant.
wal_probe() {  # case mode -> "bytes/row fpi-bytes/row"
  local name=$1 mode=$2 i script=$tmp/probe.sql
  reset_tables "$name"
  set_mode "$mode"
  : > "$script"
  case $name in
    batch) for ((i = 1; i <= 10; i++)); do
             echo "\\set n $((i * 1000000))"; tail -n +2 "$tmp/batch.sql"; done >> "$script" ;;
    single) for ((i = 1; i <= 200; i++)); do
              echo "\\set n $i"; tail -n +2 "$tmp/single.sql"; done >> "$script" ;;
    update) for ((i = 0; i < 20; i++)); do
              echo "\\set t $i"; tail -n +2 "$tmp/update.sql"; done >> "$script" ;;
  esac
  local start
  start=$(q -c "SELECT pg_current_wal_insert_lsn()")
  q -f "$script"
  if [[ $name == batch && $mode == trigger ]]; then
    q -c "SELECT 'row sizes: application row ' || (SELECT round(avg(pg_column_size(b.*))) FROM public.bench_orders b)
            || ' B, change-log row ' || round(avg(pg_column_size(l.*))) || ' B (object_data '
            || round(avg(pg_column_size(l.object_data))) || ' B)' FROM core.tb_entity_change_log l" > "$tmp/sizes"
  fi
  q -c "SELECT round(sum(w.record_length)::numeric / (SELECT count(*) FROM public.bench_orders), 1),
               round(sum(w.fpi_length)::numeric / (SELECT count(*) FROM public.bench_orders), 1)
          FROM pg_get_wal_records_info('$start', pg_current_wal_flush_lsn()) w
         WHERE w.xid IN (SELECT DISTINCT xmin FROM public.bench_orders)" | tr '|' ' '
}
echo
if [[ $walinspect == yes ]]; then
  printf '%-52s %14s %14s\n' "WAL per changed row (this benchmark's xids only)" "bytes/row" "of which FPI"
  for key in "batch none" "batch trigger" "single none" "single trigger" "update none" "update trigger" "update pre"; do
    wanted "${key% *}" || continue
    read -r bytes fpi <<<"$(wal_probe $key)"
    printf '%-52s %14s %14s\n' "$(label "$key")" "$bytes" "$fpi"
  done
  [[ ! -f $tmp/sizes ]] || cat "$tmp/sizes"
else
  echo "WAL per row: skipped (CREATE EXTENSION pg_walinspect needs a superuser)"
fi
