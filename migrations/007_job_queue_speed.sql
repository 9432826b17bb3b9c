-- Job queue speed (docs/queue.md, "Performance"):
-- * Claims mark rows held (locked_by, locked_until) and give them back; neither column is
--   indexed, so with free room on the page those updates are HOT: no new index entries, and the
--   page is pruned as it is reused. Room is left only on pages written from now on.
-- * The queue's rows live for milliseconds to hours, so the default thresholds (20 % of the
--   table) leave the planner's statistics and the dead rows of a burst unattended for too long:
--   vacuum and analyze after a fixed number of changes instead.
-- * (listener_id, run_at) serves every query that (run_at) served; one index less to maintain
--   on every insert, reschedule and delete.
ALTER TABLE observer_jobs SET (fillfactor = 70,
                               autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                               autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000);
DROP INDEX IF EXISTS idx_observer_jobs_run_at;
