-- FraiseQL's entity change-log contract (reference section 2.3, migration 08), created only when
-- absent, plus the one column the gapless reader needs. Additive and idempotent: safe on a
-- FraiseQL database that already has the table.
CREATE SCHEMA IF NOT EXISTS core;
CREATE SEQUENCE IF NOT EXISTS core.seq_entity_change_log;

CREATE TABLE IF NOT EXISTS core.tb_entity_change_log (
  pk_entity_change_log BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  object_type TEXT NOT NULL,
  modification_type TEXT NOT NULL,
  id UUID NOT NULL DEFAULT gen_random_uuid(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE core.tb_entity_change_log
  ADD COLUMN IF NOT EXISTS tenant_id UUID,
  ADD COLUMN IF NOT EXISTS fk_customer_org BIGINT,
  ADD COLUMN IF NOT EXISTS fk_contact BIGINT,
  ADD COLUMN IF NOT EXISTS object_id UUID,
  ADD COLUMN IF NOT EXISTS object_data JSONB,
  ADD COLUMN IF NOT EXISTS object_data_before JSONB,
  ADD COLUMN IF NOT EXISTS updated_fields TEXT[],
  ADD COLUMN IF NOT EXISTS "cascade" JSONB,
  ADD COLUMN IF NOT EXISTS duration_ms INTEGER,
  ADD COLUMN IF NOT EXISTS started_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS commit_time TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS seq BIGINT DEFAULT nextval('core.seq_entity_change_log'),
  ADD COLUMN IF NOT EXISTS actor_type TEXT,
  ADD COLUMN IF NOT EXISTS acting_for UUID,
  ADD COLUMN IF NOT EXISTS schema_version TEXT,
  ADD COLUMN IF NOT EXISTS trace_id TEXT,
  ADD COLUMN IF NOT EXISTS trace_context JSONB,
  ADD COLUMN IF NOT EXISTS change_status TEXT,
  ADD COLUMN IF NOT EXISTS extra_metadata JSONB,
  ADD COLUMN IF NOT EXISTS nats_published_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS nats_event_id UUID;

-- The writer's top-level transaction id. The reader only takes rows whose txid is below the
-- oldest transaction still running (pg_snapshot_xmin of its snapshot), in (txid, pk) order, so a
-- row whose transaction commits after a later-numbered row's is never skipped (guarantee 1).
-- Rows that exist when this runs all get this migration's txid: they are read first, together.
ALTER TABLE core.tb_entity_change_log
  ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX IF NOT EXISTS idx_entity_log_txid_pk
  ON core.tb_entity_change_log (txid, pk_entity_change_log);
CREATE INDEX IF NOT EXISTS idx_entity_log_created ON core.tb_entity_change_log (created_at);
CREATE INDEX IF NOT EXISTS idx_entity_log_type ON core.tb_entity_change_log (object_type);

-- Wakes listeners within milliseconds of a commit: one notification per statement, not per row
-- (NOTIFY is delivered at commit, and duplicates within a transaction are folded).
CREATE OR REPLACE FUNCTION core.fn_entity_change_log_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('fraiseql_observer_change_log', '');
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER tr_entity_change_log_notify
  AFTER INSERT ON core.tb_entity_change_log
  FOR EACH STATEMENT EXECUTE FUNCTION core.fn_entity_change_log_notify();
