// graphile-worker's enqueue rate for scripts/bench-compare (docs/benchmarks.md): --jobs no-op jobs
// added with graphile_worker.add_jobs, --batch per statement (one transaction each), as
// perfTest/init.js adds them, with payloads shaped like the events bench/queue_throughput inserts.
//
//   node enqueue.mjs --url POSTGRES_URL [--jobs 50000] [--batch 1000] [--task noop]
// Prints: "enqueue: <jobs> jobs in <s> s = <rate> jobs/s".
import pg from "pg";

function parseArgs(argv) {
  const args = { url: "", jobs: "50000", batch: "1000", task: "noop" };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!(name in args) || !argv[i].startsWith("--")) throw new Error(`unknown flag ${argv[i]}`);
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    args[name] = argv[i + 1];
  }
  if (!args.url) throw new Error("--url is required");
  for (const name of ["jobs", "batch"]) {
    const value = Number(args[name]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} wants a positive number, not '${args[name]}'`);
    args[name] = value;
  }
  if (!/^[a-zA-Z0-9_]+$/.test(args.task)) throw new Error(`--task '${args.task}' is not a task identifier`);
  return args;
}

function jobSpec(n, task) {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return {
    identifier: task,
    payload: {
      id,
      event_type: "UPDATE",
      entity_type: "Order",
      entity_id: "550e8400-e29b-41d4-a716-446655440000",
      timestamp: "2026-11-29T12:00:00Z",
      tenant_id: null,
      user_id: null,
      data: { id: n, status: "paid", total: 42.5, customer: { name: "Ada", tier: "gold" } },
      changes: { status: { old: "new", new: "paid" } },
    },
  };
}

const args = parseArgs(process.argv.slice(2));
// The jobs are made beforehand (queue_throughput makes its events beforehand too); each batch is
// serialised inside the timed loop, as InsertJobs serialises its rows.
const batches = [];
for (let first = 0; first < args.jobs; first += args.batch) {
  const batch = [];
  for (let n = first; n < Math.min(args.jobs, first + args.batch); n++) batch.push(jobSpec(n, args.task));
  batches.push(batch);
}
const client = new pg.Client({ connectionString: args.url });
await client.connect();
try {
  const start = process.hrtime.bigint();
  for (const batch of batches) {
    await client.query(
      "select 1 from graphile_worker.add_jobs(array(select json_populate_recordset(null::graphile_worker.job_spec, $1::json)))",
      [JSON.stringify(batch)],
    );
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`enqueue: ${args.jobs} jobs in ${seconds.toFixed(2)} s = ${(args.jobs / seconds).toFixed(0)} jobs/s`);
} finally {
  await client.end();
}
