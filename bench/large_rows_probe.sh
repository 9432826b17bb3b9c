#!/usr/bin/env bash
# large_rows_probe: 28 rows of 10 MB object_data committed in one transaction, then a
# good row (280 MB); the Release daemon must deliver all 29 in byte-bounded batches, /ready 200.
# Usage (after scripts/build release and scripts/services start): bench/large_rows_probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/release/bin/fraiseql-observer}
RECV=${RECV:-build/release/bench/fast_http_receiver}
tmp=$(mktemp -d)
daemon="" recv=""
source .test-services/env
base=${FRAISEQL_TEST_PG_URL%/*}
db=repro_big_$$
psql "$base/postgres" -qc "CREATE DATABASE $db"
url="$base/$db"
trap 'kill $daemon $recv 2>/dev/null; wait 2>/dev/null; psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$tmp"' EXIT
DATABASE_URL=$url $BIN migrate >/dev/null
psql "$url" -qc "BEGIN; INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data)
  SELECT 'Order', 'INSERT', gen_random_uuid(), jsonb_build_object('n', n, 'blob',
    (SELECT string_agg(md5(n::text || g::text), '') FROM generate_series(1, 327680) g))
  FROM generate_series(1, 28) n; COMMIT;"
psql "$url" -qc "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) VALUES ('Order', 'INSERT', gen_random_uuid(), '{\"n\": 29}')"
psql "$url" -Atc "SELECT count(*), pg_size_pretty(sum(octet_length(object_data::text))) FROM core.tb_entity_change_log"
$RECV --port 0 > $tmp/recv.out 2>&1 & recv=$!
for i in $(seq 100); do port=$(grep -o '127.0.0.1:[0-9]*' $tmp/recv.out | cut -d: -f2 || true); [ -n "$port" ] && break; sleep 0.1; done
cat > $tmp/config.toml <<TOML
[database]
listener_id = "repro"
[metrics]
listen = "127.0.0.1:19464"
[security]
allow_private_targets = ["127.0.0.0/8"]
[[observers]]
name = "orders"
entity = "Order"
event_type = "INSERT"
[[observers.actions]]
type = "webhook"
url = "http://127.0.0.1:$port/hook"
TOML
start=$(date +%s.%N)
DATABASE_URL=$url $BIN run --config $tmp/config.toml > $tmp/daemon.log 2>&1 & daemon=$!
for i in $(seq 1200); do
  done_rows=$(psql "$url" -Atc "SELECT last_processed_id FROM observer_checkpoints" 2>/dev/null || true)
  jobs=$(psql "$url" -Atc "SELECT count(*) FROM observer_jobs")
  dl=$(psql "$url" -Atc "SELECT count(*) FROM observer_dead_letters")
  [ "$done_rows" = "29" ] && [ "$jobs" = "0" ] && break
  sleep 0.5
done
end=$(date +%s.%N)
echo "checkpoint pk=$done_rows jobs_left=$jobs dead_letters=$dl after $(echo "$end - $start" | bc) s"
echo "ready: $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19464/ready)"
curl -s http://127.0.0.1:19464/metrics | grep -E "^fraiseql_observer_(listener_batch_size_(count|sum)|listener_batches_split_total|events_processed_total)" || true
echo "daemon peak RSS: $(grep VmHWM /proc/$daemon/status)"
kill -TERM $daemon; wait $daemon || true
cat $tmp/recv.out | tail -2
