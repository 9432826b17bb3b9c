-- The capture trigger (reference section 2.5): statement-level, transition tables, one set-based
-- INSERT per statement, optional pre-image, suppressed when FraiseQL's executor already logged the
-- write (fraiseql.cdc_mediated = 'on'). Installed on a table by core.fn_observer_attach().
--   TG_ARGV[0] entity type name   [1] primary-key column ('id')
--   TG_ARGV[2] tenant column ('tenant_id')   [3] 'true' to record the pre-image
CREATE OR REPLACE FUNCTION core.fn_entity_change_log_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, core AS $$
DECLARE
  v_type text := TG_ARGV[0];
  v_pk text := COALESCE(TG_ARGV[1], 'id');
  v_tenant text := COALESCE(TG_ARGV[2], 'tenant_id');
  v_pre boolean := COALESCE(TG_ARGV[3], 'false') = 'true';
  v_uuid constant text := '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
  v_guc_tenant text := NULLIF(current_setting('fraiseql.tenant_id', true), '');
  v_actor_type text := NULLIF(current_setting('fraiseql.actor_type', true), '');
  v_acting_for text := NULLIF(current_setting('fraiseql.acting_for', true), '');
  v_schema_version text := NULLIF(current_setting('fraiseql.schema_version', true), '');
BEGIN
  IF current_setting('fraiseql.cdc_mediated', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF v_guc_tenant !~ v_uuid THEN v_guc_tenant := NULL; END IF;
  IF v_acting_for !~ v_uuid THEN v_acting_for := NULL; END IF;

  IF TG_OP = 'INSERT' THEN
    INSERT INTO core.tb_entity_change_log
      (object_type, modification_type, object_id, object_data, tenant_id, actor_type, acting_for,
       schema_version, change_status, extra_metadata, commit_time)
    SELECT v_type, 'INSERT', (n.j ->> v_pk)::uuid, n.j,
           CASE WHEN n.j ->> v_tenant ~ v_uuid THEN (n.j ->> v_tenant)::uuid ELSE v_guc_tenant::uuid END,
           v_actor_type, v_acting_for::uuid, v_schema_version, 'success',
           '{"cdc_source": "fallback_trigger"}'::jsonb, clock_timestamp()
      FROM (SELECT to_jsonb(t) AS j FROM new_table t) n
     WHERE n.j ->> v_pk ~ v_uuid;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO core.tb_entity_change_log
      (object_type, modification_type, object_id, object_data, object_data_before, tenant_id,
       actor_type, acting_for, schema_version, change_status, extra_metadata, commit_time)
    SELECT v_type, 'UPDATE', (n.j ->> v_pk)::uuid, n.j, CASE WHEN v_pre THEN o.j END,
           CASE WHEN n.j ->> v_tenant ~ v_uuid THEN (n.j ->> v_tenant)::uuid ELSE v_guc_tenant::uuid END,
           v_actor_type, v_acting_for::uuid, v_schema_version, 'success',
           '{"cdc_source": "fallback_trigger"}'::jsonb, clock_timestamp()
      FROM (SELECT to_jsonb(t) AS j FROM new_table t) n
      LEFT JOIN (SELECT to_jsonb(t) AS j FROM old_table t) o ON o.j ->> v_pk = n.j ->> v_pk
     WHERE n.j ->> v_pk ~ v_uuid;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO core.tb_entity_change_log
      (object_type, modification_type, object_id, object_data, object_data_before, tenant_id,
       actor_type, acting_for, schema_version, change_status, extra_metadata, commit_time)
    SELECT v_type, 'DELETE', (o.j ->> v_pk)::uuid, NULL, CASE WHEN v_pre THEN o.j END,
           CASE WHEN o.j ->> v_tenant ~ v_uuid THEN (o.j ->> v_tenant)::uuid ELSE v_guc_tenant::uuid END,
           v_actor_type, v_acting_for::uuid, v_schema_version, 'success',
           '{"cdc_source": "fallback_trigger"}'::jsonb, clock_timestamp()
      FROM (SELECT to_jsonb(t) AS j FROM old_table t) o
     WHERE o.j ->> v_pk ~ v_uuid;
  END IF;
  RETURN NULL;
END
$$;

-- Installs (or replaces) the three capture triggers on an application table. Identifiers are
-- quoted here, server-side, so the client passes everything as parameters.
CREATE OR REPLACE FUNCTION core.fn_observer_attach(p_table regclass, p_entity text, p_pk text,
                                                   p_pre_image boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_args text := format('%L, %L, %L, %L', p_entity, p_pk, 'tenant_id', CASE WHEN p_pre_image THEN 'true' ELSE 'false' END);
  v_wrong_types text;
BEGIN
  IF p_entity IS NULL OR p_entity = '' THEN
    RAISE EXCEPTION 'the entity type name must not be empty' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                  WHERE attrelid = p_table AND attname = p_pk AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'table % has no column %', p_table, p_pk USING ERRCODE = '42703';
  END IF;
  -- Older FraiseQL change logs have acting_for BIGINT (FraiseQL's migration 08 retypes it, losing
  -- the values; 001 only adds columns). The capture trigger writes uuids there, so on such a log
  -- every INSERT/UPDATE/DELETE on the attached table would fail: refuse before breaking writes.
  SELECT string_agg(format('%I is %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attname)
    INTO v_wrong_types
    FROM pg_attribute
   WHERE attrelid = 'core.tb_entity_change_log'::regclass AND attnum > 0 AND NOT attisdropped
     AND attname IN ('object_id', 'tenant_id', 'acting_for') AND atttypid <> 'uuid'::regtype;
  IF v_wrong_types IS NOT NULL THEN
    RAISE EXCEPTION 'core.tb_entity_change_log has columns of an older contract (%); the capture '
                    'trigger writes uuid values there, so every write to % would fail', v_wrong_types, p_table
      USING ERRCODE = '55000', HINT = 'retype those columns to uuid (FraiseQL''s migration 08 does) before attaching';
  END IF;
  EXECUTE format('CREATE OR REPLACE TRIGGER tr_fraiseql_observer_ins AFTER INSERT ON %s '
                 'REFERENCING NEW TABLE AS new_table FOR EACH STATEMENT '
                 'EXECUTE FUNCTION core.fn_entity_change_log_capture(%s)', p_table, v_args);
  EXECUTE format('CREATE OR REPLACE TRIGGER tr_fraiseql_observer_upd AFTER UPDATE ON %s '
                 'REFERENCING OLD TABLE AS old_table NEW TABLE AS new_table FOR EACH STATEMENT '
                 'EXECUTE FUNCTION core.fn_entity_change_log_capture(%s)', p_table, v_args);
  EXECUTE format('CREATE OR REPLACE TRIGGER tr_fraiseql_observer_del AFTER DELETE ON %s '
                 'REFERENCING OLD TABLE AS old_table FOR EACH STATEMENT '
                 'EXECUTE FUNCTION core.fn_entity_change_log_capture(%s)', p_table, v_args);
END
$$;

-- Removes what fn_observer_attach installed; true when there was something to remove.
CREATE OR REPLACE FUNCTION core.fn_observer_detach(p_table regclass) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_found boolean := EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_table
                              AND tgname IN ('tr_fraiseql_observer_ins', 'tr_fraiseql_observer_upd',
                                             'tr_fraiseql_observer_del'));
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS tr_fraiseql_observer_ins ON %s', p_table);
  EXECUTE format('DROP TRIGGER IF EXISTS tr_fraiseql_observer_upd ON %s', p_table);
  EXECUTE format('DROP TRIGGER IF EXISTS tr_fraiseql_observer_del ON %s', p_table);
  RETURN v_found;
END
$$;
