-- Indexes for the queries the job queue and the DLQ CLI run most.
-- Claims ask for one listener's due jobs, oldest first (src/queue/postgres_job_queue.cc kClaimSql):
-- with only (run_at), a queue shared by several listener ids scans the others' jobs.
CREATE INDEX IF NOT EXISTS idx_observer_jobs_listener_run_at ON observer_jobs (listener_id, run_at);
-- `dlq retry` and the flusher look dead letters up by delivery.
CREATE INDEX IF NOT EXISTS idx_observer_dead_letters_delivery ON observer_dead_letters (delivery_id);
