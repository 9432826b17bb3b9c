-- The durable job queue (one row per delivery still to be done) and the dead-letter store (what
-- failed for good, with every attempt). Format described in docs/pipeline.md.
CREATE TABLE IF NOT EXISTS observer_jobs (
  delivery_id UUID PRIMARY KEY,            -- MakeDeliveryId(event id, observer, action index)
  listener_id VARCHAR(255) NOT NULL,
  change_log_pk BIGINT,                    -- the row it came from, for operators
  event JSONB NOT NULL,                    -- the event snapshot (EventToJson)
  observer TEXT NOT NULL,
  action_index INT NOT NULL CHECK (action_index >= 0),
  attempt INT NOT NULL DEFAULT 0 CHECK (attempt >= 0),  -- attempts made so far
  attempts JSONB NOT NULL DEFAULT '[]',    -- each: started_at, outcome, status, error, duration_ms
  run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  locked_by VARCHAR(255),
  locked_until TIMESTAMPTZ,
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_observer_jobs_run_at ON observer_jobs (run_at);

CREATE TABLE IF NOT EXISTS observer_dead_letters (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id UUID,              -- NULL when no delivery existed (an unreadable row, a condition error)
  listener_id VARCHAR(255),
  change_log_pk BIGINT,
  event JSONB,                   -- NULL when the row could not be converted into an event
  row_data JSONB,                -- the raw change-log row, when it could not be converted
  observer TEXT,
  action_index INT,
  action_type TEXT,
  entity_type TEXT,
  attempts JSONB NOT NULL DEFAULT '[]',
  reason TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  retry_count INT NOT NULL DEFAULT 0,
  last_retried_at TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS idx_observer_dead_letters_created ON observer_dead_letters (created_at);
CREATE INDEX IF NOT EXISTS idx_observer_dead_letters_observer ON observer_dead_letters (observer, created_at);
