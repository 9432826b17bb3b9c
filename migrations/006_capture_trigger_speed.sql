-- The capture trigger of 002, writing the same rows for less: in a 1,000-row INSERT it costs about
-- 23 us of CPU per row instead of 51 (bench/producer_bench.sh, docs/benchmarks.md).
-- - to_jsonb runs once per row. In 002 the planner merged the subquery into the INSERT's SELECT
--   and evaluated to_jsonb(t) once per reference to n.j, five times per row; OFFSET 0 keeps the
--   subquery a subquery.
-- - The per-row uuid test costs a fifth of 002's regular expression, which builds its 36 states
--   afresh on every call. It accepts exactly the same strings: 36 characters with '-' at 9, 14, 19
--   and 24 (v_shape), no fifth '-' (v_five_dashes), nothing but hex digits and '-' (v_hex, one
--   state). NULL stays NULL: the row is not captured, or its tenant falls back to the setting.
-- The settings, read once per statement, keep the full regular expression.
CREATE OR REPLACE FUNCTION core.fn_entity_change_log_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, core AS $$
DECLARE
  v_type text := TG_ARGV[0];
  v_pk text := COALESCE(TG_ARGV[1], 'id');
  v_tenant text := COALESCE(TG_ARGV[2], 'tenant_id');
  v_pre boolean := COALESCE(TG_ARGV[3], 'false') = 'true';
  v_uuid constant text := '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
  v_shape constant text := '________-____-____-____-____________';
  v_five_dashes constant text := '%-%-%-%-%-%';
  v_hex constant text := '^[0-9a-fA-F-]+$';
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

  -- r: each row's jsonb, key (k) and tenant (tk) as text.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO core.tb_entity_change_log
      (object_type, modification_type, object_id, object_data, tenant_id, actor_type, acting_for,
       schema_version, change_status, extra_metadata, commit_time)
    SELECT v_type, 'INSERT', r.k::uuid, r.j,
           CASE WHEN r.tk LIKE v_shape AND r.tk NOT LIKE v_five_dashes AND r.tk ~ v_hex
                THEN r.tk::uuid ELSE v_guc_tenant::uuid END,
           v_actor_type, v_acting_for::uuid, v_schema_version, 'success',
           '{"cdc_source": "fallback_trigger"}'::jsonb, clock_timestamp()
      FROM (SELECT j, j ->> v_pk AS k, j ->> v_tenant AS tk
              FROM (SELECT to_jsonb(t) AS j FROM new_table t OFFSET 0) n) r
     WHERE r.k LIKE v_shape AND r.k NOT LIKE v_five_dashes AND r.k ~ v_hex;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO core.tb_entity_change_log
      (object_type, modification_type, object_id, object_data, object_data_before, tenant_id,
       actor_type, acting_for, schema_version, change_status, extra_metadata, commit_time)
    SELECT v_type, 'UPDATE', r.k::uuid, r.j, CASE WHEN v_pre THEN o.j END,
           CASE WHEN r.tk LIKE v_shape AND r.tk NOT LIKE v_five_dashes AND r.tk ~ v_hex
                THEN r.tk::uuid ELSE v_guc_tenant::uuid END,
           v_actor_type, v_acting_for::uuid, v_schema_version, 'success',
           '{"cdc_source": "fallback_trigger"}'::jsonb, clock_timestamp()
      FROM (SELECT j, j ->> v_pk AS k, j ->> v_tenant AS tk
              FROM (SELECT to_jsonb(t) AS j FROM new_table t OFFSET 0) n) r
      LEFT JOIN (SELECT to_jsonb(t) AS j FROM old_table t OFFSET 0) o ON o.j ->> v_pk = r.k
     WHERE r.k LIKE v_shape AND r.k NOT LIKE v_five_dashes AND r.k ~ v_hex;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO core.tb_entity_change_log
      (object_type, modification_type, object_id, object_data, object_data_before, tenant_id,
       actor_type, acting_for, schema_version, change_status, extra_metadata, commit_time)
    SELECT v_type, 'DELETE', r.k::uuid, NULL, CASE WHEN v_pre THEN r.j END,
           CASE WHEN r.tk LIKE v_shape AND r.tk NOT LIKE v_five_dashes AND r.tk ~ v_hex
                THEN r.tk::uuid ELSE v_guc_tenant::uuid END,
           v_actor_type, v_acting_for::uuid, v_schema_version, 'success',
           '{"cdc_source": "fallback_trigger"}'::jsonb, clock_timestamp()
      FROM (SELECT j, j ->> v_pk AS k, j ->> v_tenant AS tk
              FROM (SELECT to_jsonb(t) AS j FROM old_table t OFFSET 0) o) r
     WHERE r.k LIKE v_shape AND r.k NOT LIKE v_five_dashes AND r.k ~ v_hex;
  END IF;
  RETURN NULL;
END
$$;
