// The CPU the benchmarks report: a process's user + system seconds from /proc, and a PostgreSQL
// cluster's (its postmaster and every backend, live or exited) for CPU-per-event figures.
// Thread-safety: pure functions over /proc.
#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "db/connection.h"

namespace fraiseql::bench {

// The whole of a file ("" when it cannot be read), by read(2): /proc files report size 0, and
// iostreams trip g++ 12's -Wnull-dereference at -O3.
inline std::string Slurp(const std::string& path) {
  std::string text;
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return text;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  std::fclose(file);
  return text;
}

// The fields of /proc/<pid>/stat the CPU figures need, in clock ticks.
struct ProcStat {
  long long ppid = 0;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  long long cutime = 0;  // of children that exited and were waited for
  long long cstime = 0;
};

inline std::optional<ProcStat> ReadProcStat(pid_t pid) {
  const std::string text = Slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // After "pid (comm) ": field 3 (state) onwards; ppid is field 4, utime to cstime 14 to 17.
  ProcStat stat;
  if (std::sscanf(text.c_str() + close + 2, "%*s %lld %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %lld %lld",
                  &stat.ppid, &stat.utime, &stat.stime, &stat.cutime, &stat.cstime) != 5) {
    return std::nullopt;
  }
  return stat;
}

inline double TicksToSeconds(long long ticks) { return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK)); }

// CPU seconds (user + system) a process used; 0 when it is gone.
inline double CpuSeconds(pid_t pid) {
  const std::optional<ProcStat> stat = ReadProcStat(pid);
  return stat ? TicksToSeconds(static_cast<long long>(stat->utime + stat->stime)) : 0;
}

// Calls visit(pid) for every process.
template <typename F>
inline void ForEachProcess(F visit) {
  struct DirCloser {
    void operator()(DIR* dir) const { ::closedir(dir); }
  };
  std::unique_ptr<DIR, DirCloser> proc(::opendir("/proc"));
  if (!proc) return;
  while (dirent* entry = ::readdir(proc.get())) {
    if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') visit(static_cast<pid_t>(std::atoi(entry->d_name)));
  }
}

// One cluster's CPU seconds: its postmaster's, its live children's, and those of the children
// that exited (connections closed during the run), which the postmaster's cutime and cstime keep.
inline double ClusterCpuSeconds(pid_t postmaster) {
  long long ticks = 0;
  ForEachProcess([&](pid_t pid) {
    const std::optional<ProcStat> stat = ReadProcStat(pid);
    if (!stat) return;
    if (pid == postmaster) ticks += static_cast<long long>(stat->utime + stat->stime) + stat->cutime + stat->cstime;
    if (stat->ppid == postmaster) ticks += static_cast<long long>(stat->utime + stat->stime);
  });
  return TicksToSeconds(ticks);
}

// The postmaster of the cluster `conn` talks to (the parent of its backend), or 0 when that
// backend is not a postgres process of this machine.
inline pid_t PostmasterOf(PgConnection& conn) {
  Result<PgResult> pid = conn.Execute("SELECT pg_backend_pid()");
  if (!pid || pid->rows() == 0 || !pid->Get(0, 0)) return 0;
  const auto backend = static_cast<pid_t>(std::atol(std::string(*pid->Get(0, 0)).c_str()));
  if (Slurp("/proc/" + std::to_string(backend) + "/comm") != "postgres\n") return 0;
  const std::optional<ProcStat> stat = ReadProcStat(backend);
  return stat ? static_cast<pid_t>(stat->ppid) : 0;
}

// Every postgres process's CPU seconds: the cluster's share of the machine during a run.
inline double PostgresCpuSeconds() {
  double total = 0;
  ForEachProcess([&](pid_t pid) {
    if (Slurp("/proc/" + std::to_string(pid) + "/comm") == "postgres\n") total += CpuSeconds(pid);
  });
  return total;
}

}  // namespace fraiseql::bench
