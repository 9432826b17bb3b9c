-- Fast failover (docs/scaling.md, "Failover"): a holder also keeps a session-level advisory lock
-- on its lease connection, which PostgreSQL releases the moment that connection's backend ends
-- (the holder died, or its connection broke). session_lock says whether the holder held it when
-- it last took or renewed the lease: only then does a free lock prove the holder gone, and a
-- standby that takes the lock may take over the lease before it expires.
ALTER TABLE observer_leases ADD COLUMN IF NOT EXISTS session_lock BOOLEAN NOT NULL DEFAULT false;
