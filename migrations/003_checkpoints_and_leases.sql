-- Listener checkpoints (the anchor's columns and CHECKs, plus the gapless position and the lease
-- epoch that fences writes), their history (written on resets, failovers and manual moves only),
-- and the lease that lets one process at a time read a listener's change log.
CREATE TABLE IF NOT EXISTS observer_checkpoints (
  listener_id VARCHAR(255) PRIMARY KEY,
  last_processed_id BIGINT NOT NULL DEFAULT 0 CHECK (last_processed_id >= 0),
  last_processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  batch_size INT NOT NULL DEFAULT 100 CHECK (batch_size >= 1 AND batch_size <= 10000),
  event_count INT NOT NULL DEFAULT 0,
  consecutive_errors INT NOT NULL DEFAULT 0 CHECK (consecutive_errors >= 0),
  last_error TEXT,
  updated_by VARCHAR(255),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The position is (last_processed_txid, last_processed_id): rows are read in that order.
ALTER TABLE observer_checkpoints
  ADD COLUMN IF NOT EXISTS last_processed_txid xid8 NOT NULL DEFAULT '0',
  ADD COLUMN IF NOT EXISTS lease_epoch BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS total_events BIGINT NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS observer_checkpoints_history (
  id BIGSERIAL PRIMARY KEY,
  listener_id VARCHAR(255) NOT NULL,
  last_processed_id BIGINT NOT NULL,
  batch_size INT,
  event_count INT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  reason VARCHAR(255) NOT NULL
);

ALTER TABLE observer_checkpoints_history
  ADD COLUMN IF NOT EXISTS last_processed_txid xid8,
  ADD COLUMN IF NOT EXISTS lease_epoch BIGINT,
  ADD COLUMN IF NOT EXISTS updated_by VARCHAR(255);

CREATE INDEX IF NOT EXISTS idx_observer_checkpoints_history_listener
  ON observer_checkpoints_history (listener_id, updated_at DESC);

-- One row per listener id. epoch grows by one on every change of holder, so a write stamped
-- with an older epoch is recognisably stale (guarantee 4).
CREATE TABLE IF NOT EXISTS observer_leases (
  listener_id VARCHAR(255) PRIMARY KEY,
  holder VARCHAR(255) NOT NULL,
  epoch BIGINT NOT NULL CHECK (epoch >= 1),
  acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  renewed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL
);
