// pipeline_bench: the whole pipeline as a user runs it, measured: the real fraiseql-observer binary
// (`run`) on a database of its own, delivering webhooks to bench/fast_http_receiver.
//
//   pipeline_bench drain   [--events 100000] [--sync on|off] [--actions webhook|none]
//   pipeline_bench latency [--rate 500] [--seconds 20] [--writers 4] [--writer-sync on|off] [--sync on|off]
//                          [--per-second on|off]
//   pipeline_bench drain   --target URL [--arrivals FILE] [--events 100000] [--sync on|off]
//   common: [--url URL] [--observer BIN] [--receiver BIN] [--per-target N] [--batch-size N]
//           [--performance 'key = value' ...] (lines added to the daemon's [performance] section)
//
// drain: inserts --events change-log rows first, then starts the daemon and times from its start
//   to the last webhook's arrival (--actions none: to the checkpoint reaching the last row, with
//   an observer that matches nothing: reading, converting, matching and checkpointing alone).
//   Prints events/s, the daemon's RSS through the run and its peak, and the CPU seconds the
//   daemon, PostgreSQL and the receiver used: where the time went.
//   --target URL: the webhooks go to a receiver this program does not run (nginx for
//   scripts/bench-compare), so the end is found without its help: with --arrivals FILE, when FILE
//   (the receiver's access log, one line per request, starting with the Unix time in seconds as
//   nginx's $msec writes it) has grown by --events lines, the end being the last line's time;
//   without, when the checkpoint is at the last row and no job is left (50 ms resolution). The
//   daemon, maybe of another build, first runs its own `migrate`; the PostgreSQL CPU is that of
//   the URL's cluster alone (its postmaster and children); dead letters fail the run.
// latency: the daemon runs first; rows are inserted one per transaction at --rate for --seconds
//   by --writers connections (each commit waits for its flush: one connection alone tops out
//   near 1 / commit time; --writer-sync off makes the writers' commits asynchronous, for a disk
//   whose flushes cannot keep up with --rate: the daemon's own --sync is apart), and each delivery's arrival is matched (by webhook-id) with its
//   row's commit: p50/p90/p99/max.
//
// The URL names the server (its database part is replaced); default $FRAISEQL_TEST_PG_URL
// (scripts/services start). The database is dropped at exit. Commands: docs/development.md.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_database.h"
#include "process_cpu.h"
#include "db/connection.h"
#include "db/migrations.h"
#include "delivery/delivery.h"

extern char** environ;

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

struct Options {
  std::string mode;
  std::string url;
  std::string observer = FRAISEQL_OBSERVER_BINARY;
  std::string receiver = FRAISEQL_RECEIVER_BINARY;
  long events = 100000;
  bool synchronous = true;
  bool webhook = true;
  long rate = 500;
  long seconds = 20;
  long writers = 4;
  bool writers_synchronous = true;
  bool per_second = false;  // latency: also the worst latency of each second's commits
  long per_target = 0;  // 0: the config default
  long batch_size = 1000;
  std::string target;    // an external receiver's URL; empty: bench/fast_http_receiver
  std::string arrivals;  // with target: the receiver's access log, one line per request
  std::vector<std::string> performance;  // more [performance] lines for the daemon's config
};

[[noreturn]] void Usage(const std::string& problem) {
  std::fprintf(stderr,
               "pipeline_bench: %s\n"
               "usage: pipeline_bench drain [--events N] [--sync on|off] [--actions webhook|none]\n"
               "       pipeline_bench drain --target URL [--arrivals FILE] [--events N] [--sync on|off]\n"
               "       pipeline_bench latency [--rate R] [--seconds S] [--writers N] [--writer-sync on|off] [--sync on|off]\n"
               "                              [--per-second on|off]\n"
               "       common: [--url URL] [--observer BIN] [--receiver BIN] [--per-target N] [--batch-size N]\n"
               "               [--performance 'key = value' ...]\n",
               problem.c_str());
  std::exit(2);
}

long PositiveNumber(const char* flag, const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) Usage(std::string(flag) + " wants a positive number, not '" + text + "'");
  return value;
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  if (argc < 2) Usage("which run: drain or latency");
  options.mode = argv[1];
  if (options.mode != "drain" && options.mode != "latency") Usage("unknown run '" + options.mode + "'");
  if (const char* url = std::getenv("FRAISEQL_TEST_PG_URL")) options.url = url;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--url") {
      options.url = value;
    } else if (flag == "--observer") {
      options.observer = value;
    } else if (flag == "--receiver") {
      options.receiver = value;
    } else if (flag == "--target") {
      options.target = value;
    } else if (flag == "--arrivals") {
      options.arrivals = value;
    } else if (flag == "--events") {
      options.events = PositiveNumber("--events", value);
    } else if (flag == "--rate") {
      options.rate = PositiveNumber("--rate", value);
    } else if (flag == "--seconds") {
      options.seconds = PositiveNumber("--seconds", value);
    } else if (flag == "--performance") {
      options.performance.push_back(value);
    } else if (flag == "--writers") {
      options.writers = PositiveNumber("--writers", value);
    } else if (flag == "--per-target") {
      options.per_target = PositiveNumber("--per-target", value);
    } else if (flag == "--batch-size") {
      options.batch_size = PositiveNumber("--batch-size", value);
    } else if (flag == "--sync") {
      if (std::strcmp(value, "on") != 0 && std::strcmp(value, "off") != 0) Usage("--sync is on or off");
      options.synchronous = std::strcmp(value, "on") == 0;
    } else if (flag == "--per-second") {
      if (std::strcmp(value, "on") != 0 && std::strcmp(value, "off") != 0) Usage("--per-second is on or off");
      options.per_second = std::strcmp(value, "on") == 0;
    } else if (flag == "--writer-sync") {
      if (std::strcmp(value, "on") != 0 && std::strcmp(value, "off") != 0) Usage("--writer-sync is on or off");
      options.writers_synchronous = std::strcmp(value, "on") == 0;
    } else if (flag == "--actions") {
      if (std::strcmp(value, "webhook") != 0 && std::strcmp(value, "none") != 0) Usage("--actions is webhook or none");
      options.webhook = std::strcmp(value, "webhook") == 0;
    } else {
      Usage("unknown flag " + flag);
    }
  }
  if (options.mode == "latency" && !options.webhook) Usage("latency is measured on webhooks");
  if (!options.arrivals.empty() && options.target.empty()) Usage("--arrivals is the log of a --target receiver");
  if (!options.target.empty()) {
    if (options.target.rfind("http://", 0) != 0 && options.target.rfind("https://", 0) != 0) {
      Usage("--target wants an http:// or https:// URL, not '" + options.target + "'");
    }
    if (options.mode == "latency") Usage("latency matches arrivals at the bundled receiver: no --target");
    if (!options.webhook) Usage("--target receives webhooks: not with --actions none");
  }
  if (options.url.empty()) Usage("no server: pass --url or run `source .test-services/env` (scripts/services start)");
  return options;
}

int64_t RealtimeMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using bench::ClusterCpuSeconds;
using bench::CpuSeconds;
using bench::MustConnect;
using bench::PostgresCpuSeconds;
using bench::PostmasterOf;
using bench::Slurp;
using bench::WithDatabase;

PgResult Must(Result<PgResult> result, const std::string& what) {
  if (!result) throw std::runtime_error(what + ": " + result.error().message);
  return std::move(result).value();
}

int64_t Scalar(PgConnection& conn, const std::string& sql) {
  PgResult result = Must(conn.Execute(sql), sql);
  if (result.rows() == 0 || !result.Get(0, 0)) return -1;
  return std::stoll(std::string(*result.Get(0, 0)));
}

// A process of ours, its output appended to a file; SIGKILLed if still running at destruction.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& log_path) : log_path_(log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(error));
  }
  ~Child() {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  Child(Child&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        exited_(std::exchange(other.exited_, true)),
        status_(other.status_),
        log_path_(std::move(other.log_path_)) {}
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal) const { ::kill(pid_, signal); }
  int Wait() {
    if (!exited_) {
      while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      exited_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  // Reaps the process when it has exited; Wait() then gives its exit code.
  bool Exited() {
    if (!exited_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }
  std::string Output() const {
    return Slurp(log_path_);
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;  // waitpid's, once exited_
  std::string log_path_;
};

// Polls `ready` every 5 ms until it holds or `timeout` passes.
template <typename F>
bool PollUntil(F ready, std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!ready()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Lines appended to a receiver's access log, read as they come: each line is one request and
// starts with its Unix time in seconds (nginx's $msec). Only lines added after opening count.
class ArrivalLog {
 public:
  explicit ArrivalLog(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("cannot open --arrivals " + path + ": " + std::strerror(errno));
    if (::lseek(fd_, 0, SEEK_END) < 0) {
      ::close(fd_);
      throw std::runtime_error("cannot seek in --arrivals " + path + ": " + std::strerror(errno));
    }
  }
  ~ArrivalLog() { ::close(fd_); }
  ArrivalLog(const ArrivalLog&) = delete;
  ArrivalLog& operator=(const ArrivalLog&) = delete;

  // The number of whole lines added so far.
  long Lines() {
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd_, buffer, sizeof buffer)) > 0) {
      for (const char c : std::string_view(buffer, static_cast<size_t>(n))) {
        if (c != '\n') {
          partial_ += c;
          continue;
        }
        ++lines_;
        last_line_ = std::move(partial_);
        partial_.clear();
      }
    }
    if (n < 0 && errno != EINTR) throw std::runtime_error("cannot read " + path_ + ": " + std::strerror(errno));
    return lines_;
  }

  // The time of the last whole line, in microseconds since the epoch.
  int64_t LastMicros() const {
    char* end = nullptr;
    const double seconds = std::strtod(last_line_.c_str(), &end);
    if (end == last_line_.c_str() || seconds <= 0) {
      throw std::runtime_error("the last line of " + path_ + " does not start with a Unix time: '" + last_line_ + "'");
    }
    return static_cast<int64_t>(seconds * 1e6);
  }

 private:
  std::string path_;
  int fd_;
  long lines_ = 0;
  std::string partial_;
  std::string last_line_;
};

// A /proc/<pid>/status field in KiB (VmRSS, VmHWM); 0 when unavailable.
long StatusKib(pid_t pid, const std::string& field) {
  const std::string text = Slurp("/proc/" + std::to_string(pid) + "/status");
  const size_t at = text.find("\n" + field + ":");
  return at == std::string::npos ? 0 : std::atol(text.c_str() + at + field.size() + 2);
}

int FreePort() {
  // Bind port 0, read the port, close: good enough on a quiet loopback for a benchmark.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)) {
    char dir_template[] = "/tmp/pipeline_bench.XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    database_ = "pipeline_bench_" + std::to_string(::getpid());
    admin_url_ = options_.url;
    url_ = WithDatabase(options_.url, database_);
    PgConnection admin = MustConnect(admin_url_);
    Must(admin.Execute("CREATE DATABASE " + database_), "CREATE DATABASE");
    try {
      PgConnection conn = MustConnect(url_);
      Result<MigrationReport> migrated = ApplyMigrations(conn, MigrationMode::kApply);
      if (!migrated) throw std::runtime_error("migrate: " + migrated.error().message);
    } catch (...) {
      CleanUp();
      throw;
    }
  }
  ~Bench() { CleanUp(); }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  int Drain() {
    // An external receiver means a daemon of any build (scripts/bench-compare): it brings the
    // schema to its own version first (nothing to do when it is this program's).
    if (!options_.target.empty()) MigrateWithObserver();
    PgConnection conn = MustConnect(url_);
    std::printf("inserting %ld change-log rows...\n", options_.events);
    std::fflush(stdout);
    InsertRows(conn, options_.events);
    const int64_t last_pk = Scalar(conn, "SELECT max(pk_entity_change_log) FROM core.tb_entity_change_log");
    Must(conn.Execute("VACUUM ANALYZE core.tb_entity_change_log"), "VACUUM");

    const bool external = !options_.target.empty();
    std::optional<Child> receiver;
    if (options_.webhook && !external) receiver.emplace(StartReceiver({"--expect", std::to_string(options_.events)}));
    std::optional<ArrivalLog> arrivals;
    if (!options_.arrivals.empty()) arrivals.emplace(options_.arrivals);
    const pid_t postmaster = external ? PostmasterOf(conn) : 0;
    auto postgres_cpu = [&] { return external ? ClusterCpuSeconds(postmaster) : PostgresCpuSeconds(); };
    const double pg_cpu_before = postgres_cpu();
    const int64_t start_us = RealtimeMicros();
    Child daemon = StartDaemon();
    std::vector<long> rss;  // RSS KiB, sampled through the run
    int64_t end_us = 0;
    double daemon_cpu = 0;
    double receiver_cpu = 0;
    const auto deadline = steady_clock::now() + 30min;
    for (;;) {
      if (daemon.Exited()) throw std::runtime_error("the daemon exited:\n" + daemon.Output());
      if (steady_clock::now() > deadline) throw std::runtime_error("no end after 30 minutes");
      const int64_t done = options_.webhook ? -1 : Scalar(conn, CheckpointPkSql());
      daemon_cpu = CpuSeconds(daemon.pid());
      if (receiver) receiver_cpu = CpuSeconds(receiver->pid());
      if (receiver && receiver->Exited()) {
        end_us = ReceiverLastMicros(*receiver);
        break;
      }
      if (arrivals && arrivals->Lines() >= options_.events) {
        end_us = arrivals->LastMicros();
        break;
      }
      if (external && !arrivals && Scalar(conn, DrainedSql(last_pk)) == 1) {
        end_us = RealtimeMicros();
        break;
      }
      if (!options_.webhook && done >= last_pk) {
        end_us = RealtimeMicros();
        break;
      }
      rss.push_back(StatusKib(daemon.pid(), "VmRSS"));
      std::this_thread::sleep_for(options_.webhook ? 50ms : 10ms);
    }
    const double pg_cpu = postgres_cpu() - pg_cpu_before;
    const long peak_kib = StatusKib(daemon.pid(), "VmHWM");
    daemon.Signal(SIGTERM);
    const int code = daemon.Wait();

    const double seconds = static_cast<double>(end_us - start_us) / 1e6;
    const std::string actions = !options_.webhook ? "no matching observer"
                                : external        ? "one webhook each to " + options_.target
                                                  : "one webhook each";
    std::printf("drain: %ld events (%s, synchronous_commit %s, batch_size %ld) in %.2f s = %.0f events/s\n",
                options_.events, actions.c_str(), options_.synchronous ? "on" : "off", options_.batch_size, seconds,
                static_cast<double>(options_.events) / seconds);
    if (external) {
      std::printf("end: %s\n", arrivals ? ("the last of the lines added to " + options_.arrivals).c_str()
                                          : "checkpoint at the last row and no job left (50 ms polls)");
      char postgres[32] = "n/a (not on this machine)";
      if (postmaster != 0) std::snprintf(postgres, sizeof postgres, "%.2f", pg_cpu);
      std::printf("cpu seconds during the run: daemon %.2f, postgres %s (its cluster), receiver external (wall %.2f s "
                  "on %ld cores)\n",
                  daemon_cpu, postgres, seconds, ::sysconf(_SC_NPROCESSORS_ONLN));
    } else {
      std::printf("cpu seconds during the run: daemon %.2f, postgres %.2f, receiver %.2f (wall %.2f s on %ld cores)\n",
                  daemon_cpu, pg_cpu, receiver_cpu, seconds, ::sysconf(_SC_NPROCESSORS_ONLN));
    }
    PrintRss(rss, peak_kib);
    std::printf("daemon exit code after SIGTERM: %d\n", code);
    // An external receiver that refused deliveries: they were retried, then dead-lettered.
    const int64_t dead = external ? Scalar(conn, "SELECT count(*) FROM observer_dead_letters") : 0;
    if (dead > 0) std::printf("%lld dead letters: the receiver refused deliveries\n", static_cast<long long>(dead));
    return code == 0 && dead == 0 ? 0 : 1;
  }

  int Latency() {
    const long total = options_.rate * options_.seconds;
    Child receiver = StartReceiver({"--expect", std::to_string(total), "--record", dir_ + "/arrivals.txt"});
    Child daemon = StartDaemon();
    PgConnection conn = MustConnect(url_);
    if (!PollUntil([&] { return Scalar(conn, "SELECT count(*) FROM observer_leases WHERE expires_at > now()") > 0; },
                   30s)) {
      throw std::runtime_error("the daemon did not take its lease:\n" + daemon.Output());
    }
    // Writer w inserts rows w, w + writers, ... each at its time on one schedule (open loop: a
    // writer that falls behind catches up without sleeping) and notes each row's commit time.
    const long writers = std::min(options_.writers, total);
    std::vector<PgConnection> connections;
    for (long w = 0; w < writers; ++w) {
      connections.push_back(MustConnect(url_));
      if (!options_.writers_synchronous) Must(connections.back().Execute("SET synchronous_commit = off"), "SET");
    }
    std::vector<std::unordered_map<std::string, int64_t>> committed_by(static_cast<size_t>(writers));
    const std::string insert =
        "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) "
        "VALUES ('Order', 'INSERT', gen_random_uuid(), jsonb_build_object('n', $1::int, 'status', 'new')) "
        "RETURNING id::text";
    const auto start = steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (long w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        PgConnection& writer = connections[static_cast<size_t>(w)];
        std::unordered_map<std::string, int64_t>& committed_at = committed_by[static_cast<size_t>(w)];
        for (long n = w; n < total && !failed; n += writers) {
          std::this_thread::sleep_until(start + std::chrono::microseconds(n * 1000000 / options_.rate));
          const std::optional<std::string> params[] = {std::to_string(n)};
          Result<PgResult> row = writer.Execute(insert, params);
          if (!row) {
            std::fprintf(stderr, "pipeline_bench: INSERT: %s\n", row.error().message.c_str());
            failed = true;
            return;
          }
          committed_at.emplace(MakeDeliveryId(*row->Get(0, 0), "bench", 0), RealtimeMicros());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    if (failed) throw std::runtime_error("an insert failed");
    std::unordered_map<std::string, int64_t> committed_at;  // delivery id -> commit time
    committed_at.reserve(static_cast<size_t>(total));
    for (auto& of_writer : committed_by) committed_at.merge(of_writer);
    const double achieved = static_cast<double>(total) / std::chrono::duration<double>(steady_clock::now() - start).count();
    if (!PollUntil([&] { return receiver.Exited(); }, 120s)) {
      throw std::runtime_error("not every delivery arrived:\n" + daemon.Output());
    }
    daemon.Signal(SIGTERM);
    daemon.Wait();

    std::vector<double> latencies_ms;
    std::map<int64_t, double> worst_by_second;  // second of the commit (from the first) -> worst ms
    int64_t first_commit = std::numeric_limits<int64_t>::max();
    for (const auto& [id, at] : committed_at) first_commit = std::min(first_commit, at);
    const std::string arrivals = Slurp(dir_ + "/arrivals.txt");
    for (size_t line = 0; line < arrivals.size();) {
      const size_t end = std::min(arrivals.find('\n', line), arrivals.size());
      const size_t space = arrivals.find(' ', line);
      if (space < end) {
        const int64_t arrival = std::atoll(arrivals.c_str() + line);
        auto found = committed_at.find(arrivals.substr(space + 1, end - space - 1));
        if (found != committed_at.end()) {
          const double ms = static_cast<double>(arrival - found->second) / 1000.0;
          latencies_ms.push_back(ms);
          double& worst = worst_by_second[(found->second - first_commit) / 1000000];
          worst = std::max(worst, ms);
        }
      }
      line = end + 1;
    }
    if (latencies_ms.empty()) throw std::runtime_error("no arrival matched a commit");
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto percentile = [&](double p) {
      return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
    };
    std::printf("latency: %zu deliveries at %.0f events/s (%ld writers, their commits %s; daemon synchronous_commit "
                "%s), commit to webhook arrival: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                latencies_ms.size(), achieved, writers, options_.writers_synchronous ? "flushed" : "asynchronous",
                options_.synchronous ? "on" : "off", percentile(0.50),
                percentile(0.90), percentile(0.99), latencies_ms.back());
    if (options_.per_second) {
      for (const auto& [second, worst] : worst_by_second) std::printf("  second %3lld: worst %.2f ms\n", static_cast<long long>(second), worst);
    }
    return 0;
  }

 private:
  void CleanUp() noexcept {
    try {
      PgConnection admin = MustConnect(admin_url_);
      (void)admin.Execute("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
    } catch (const std::exception&) {
      std::fprintf(stderr, "pipeline_bench: could not drop database %s\n", database_.c_str());
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void InsertRows(PgConnection& conn, long count) {
    constexpr long kChunk = 50000;
    for (long first = 1; first <= count; first += kChunk) {
      const long last = std::min(count, first + kChunk - 1);
      Must(conn.Execute("INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) "
                        "SELECT 'Order', 'INSERT', gen_random_uuid(), jsonb_build_object('n', g, 'status', 'new', "
                        "'customer', 'customer ' || g, 'total', g * 1.5) FROM generate_series(" +
                        std::to_string(first) + ", " + std::to_string(last) + ") g"),
           "INSERT");
    }
  }

  // 1 when the checkpoint is at `last_pk` and every job is gone (delivered, or dead-lettered:
  // the run then fails on the dead letters).
  static std::string DrainedSql(int64_t last_pk) {
    return "SELECT CASE WHEN COALESCE((SELECT max(last_processed_id) FROM observer_checkpoints WHERE listener_id = "
           "'bench'), 0) >= " +
           std::to_string(last_pk) + " AND NOT EXISTS (SELECT 1 FROM observer_jobs) THEN 1 ELSE 0 END";
  }

  std::string CheckpointPkSql() const {
    return "SELECT COALESCE(max(last_processed_id), 0) FROM observer_checkpoints WHERE listener_id = 'bench'";
  }

  Child StartReceiver(std::vector<std::string> extra) {
    std::vector<std::string> args = {options_.receiver};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log = dir_ + "/receiver.log";
    Child receiver(args, log);
    if (!PollUntil([&] { return receiver.Output().find("listening on 127.0.0.1:") != std::string::npos; }, 10s)) {
      throw std::runtime_error("the receiver did not start:\n" + receiver.Output());
    }
    const std::string output = receiver.Output();
    receiver_port_ = std::atoi(output.c_str() + output.find("127.0.0.1:") + 10);
    return receiver;
  }

  static int64_t ReceiverLastMicros(const Child& receiver) {
    const std::string output = receiver.Output();
    const size_t at = output.find("last_us ");
    if (at == std::string::npos) throw std::runtime_error("the receiver did not report its end:\n" + output);
    return std::atoll(output.c_str() + at + 8);
  }

  void MigrateWithObserver() {
    Child migrate({options_.observer, "migrate", "--database-url", url_}, dir_ + "/migrate.log");
    if (!PollUntil([&] { return migrate.Exited(); }, 120s)) throw std::runtime_error("migrate: no end after 120 s");
    if (migrate.Wait() != 0) throw std::runtime_error(options_.observer + " migrate failed:\n" + migrate.Output());
  }

  Child StartDaemon() {
    std::string config = "[database]\nurl = \"" + url_ + "\"\nlistener_id = \"bench\"\nbatch_size = " +
                         std::to_string(options_.batch_size) + "\nsynchronous_commit = " +
                         (options_.synchronous ? "true" : "false") + "\n\n[metrics]\nlisten = \"127.0.0.1:" +
                         std::to_string(FreePort()) + "\"\n\n";
    config += "[performance]\n";
    if (options_.per_target > 0) config += "max_in_flight_per_target = " + std::to_string(options_.per_target) + "\n";
    for (const std::string& line : options_.performance) config += line + "\n";
    config += "\n";
    config += "[security]\nallow_private_targets = [\"127.0.0.0/8\"]\n\n[[observers]]\nname = \"bench\"\n";
    config += std::string("entity = \"") + (options_.webhook ? "Order" : "NoSuchEntity") + "\"\nevent_type = \"INSERT\"\n";
    // --actions none: the observer matches nothing, so its webhook is never called.
    const int port = options_.webhook ? receiver_port_ : 9;
    const std::string url =
        options_.target.empty() ? "http://127.0.0.1:" + std::to_string(port) + "/hook" : options_.target;
    config += "\n[[observers.actions]]\ntype = \"webhook\"\nurl = \"" + url + "\"\n";
    const std::string path = dir_ + "/config.toml";
    std::ofstream(path) << config;
    return Child({options_.observer, "run", "--config", path, "--log-level", "warn"}, dir_ + "/daemon.log");
  }

  static void PrintRss(const std::vector<long>& rss, long peak_kib) {
    if (rss.empty()) return;
    std::string samples;
    const size_t step = std::max<size_t>(1, rss.size() / 8);
    for (size_t i = 0; i < rss.size(); i += step) {
      samples += " " + std::to_string(rss[i] / 1024);
    }
    std::printf("daemon RSS MiB over the run (%zu samples, every %zu shown):%s; peak (VmHWM) %.1f MiB\n", rss.size(),
                step, samples.c_str(), static_cast<double>(peak_kib) / 1024.0);
  }

  Options options_;
  std::string dir_;
  std::string database_;
  std::string admin_url_;
  std::string url_;
  int receiver_port_ = 0;
};

}  // namespace
}  // namespace fraiseql

int main(int argc, char** argv) {
  try {
    fraiseql::Bench bench(fraiseql::ParseOptions(argc, argv));
    const std::string mode = argv[1];
    return mode == "drain" ? bench.Drain() : bench.Latency();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pipeline_bench: %s\n", error.what());
    return 1;
  }
}
