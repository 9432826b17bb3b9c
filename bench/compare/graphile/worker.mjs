// graphile-worker's side of scripts/bench-compare (docs/benchmarks.md): one worker process with
// the batched settings of graphile-worker's performance page (worker.graphile.org/docs/performance).
//
//   node worker.mjs --url POSTGRES_URL --task webhook --target http://127.0.0.1:PORT/hook
//   node worker.mjs --url POSTGRES_URL --task noop --once
//
// webhook: POSTs the job's payload (the event JSON the trigger built) to --target over a
//   keep-alive agent, like the daemon's webhook action; a status outside 2xx fails the job, which
//   graphile-worker then retries.
// noop: does nothing (the raw queue: claim and complete alone, as perfTest/tasks/log_if_999.js).
// --once: graphile-worker's runOnce, which returns when no job is left (perfTest/run.js); without
//   it the worker runs until SIGTERM or SIGINT (graphile-worker's own graceful shutdown).
import http from "node:http";
import { Logger, run, runOnce } from "graphile-worker";

const CONCURRENCY = 24;

function parseArgs(argv) {
  const args = { url: "", task: "", target: "", once: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--once") {
      args.once = true;
      continue;
    }
    if (!["--url", "--task", "--target"].includes(flag)) throw new Error(`unknown flag ${flag}`);
    if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
    args[flag.slice(2)] = argv[++i];
  }
  if (!args.url) throw new Error("--url is required");
  if (args.task !== "webhook" && args.task !== "noop") throw new Error("--task is webhook or noop");
  if (args.task === "webhook" && !args.target.startsWith("http://")) throw new Error("--task webhook needs --target http://...");
  return args;
}

function webhookTask(targetUrl) {
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (body, headers) =>
    new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: "POST",
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
          timeout: 30000,
        },
        (response) => {
          response.resume();
          response.on("error", reject);
          response.on("end", () => {
            if (response.statusCode >= 200 && response.statusCode < 300) resolve();
            else reject(new Error(`HTTP ${response.statusCode} from ${targetUrl}`));
          });
        },
      );
      request.on("timeout", () => request.destroy(new Error(`no answer from ${targetUrl} in 30 s`)));
      request.on("error", reject);
      request.end(body);
    });
  return async (payload, helpers) => {
    await post(JSON.stringify(payload), {
      "content-type": "application/json",
      "user-agent": "graphile-worker-bench",
      "webhook-id": String(helpers.job.id),
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
    });
  };
}

// Warnings and errors only: a line per job would measure the terminal.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile-worker ${level}] ${message}`);
});

const args = parseArgs(process.argv.slice(2));
const taskList = args.task === "webhook" ? { webhook: webhookTask(args.target) } : { noop: () => {} };
const options = {
  logger,
  taskList,
  parsedCronItems: [],
  preset: {
    worker: {
      connectionString: args.url,
      concurrentJobs: CONCURRENCY,
      maxPoolSize: CONCURRENCY + 1,
      // The batched settings of the performance page (and of perfTest/graphile.config.js).
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  },
};

try {
  if (args.once) {
    await runOnce(options);
  } else {
    const runner = await run(options);
    await runner.promise;
  }
} catch (error) {
  console.error(`worker.mjs: ${error.stack ?? error}`);
  process.exit(1);
}
