-- graphile-worker's equivalent of the daemon's observer in scripts/bench-compare
-- (docs/benchmarks.md): each change-log row (migrations/001_change_log_contract.sql) of an Order
-- INSERT adds, in the writer's transaction, one 'webhook' job whose payload is the envelope the
-- daemon's webhook sends (src/event/event_json.cc, EventEnvelope).
CREATE OR REPLACE FUNCTION core.bench_enqueue_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM graphile_worker.add_job('webhook', json_build_object(
    'id', NEW.id,
    'event_type', NEW.modification_type,
    'entity_type', NEW.object_type,
    'entity_id', NEW.object_id,
    'timestamp', NEW.created_at,
    'tenant_id', NEW.tenant_id,
    'user_id', NULL,
    'data', NEW.object_data,
    'changes', '{}'::json));
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER bench_enqueue_webhook
  AFTER INSERT ON core.tb_entity_change_log
  FOR EACH ROW
  WHEN (NEW.object_type = 'Order' AND NEW.modification_type = 'INSERT')
  EXECUTE FUNCTION core.bench_enqueue_webhook();
