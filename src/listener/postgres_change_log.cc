#include "listener/postgres_change_log.h"

#include <algorithm>
#include <stop_token>
#include <utility>

namespace fraiseql {
namespace {

// Names the connection in pg_stat_activity (a parameter: the id is never spliced into SQL).
PgSession::OnConnect NameConnection(std::string name) {
  return [name = std::move(name)](PgConnection& conn) -> Result<void> {
    const std::optional<std::string> params[] = {name};
    Result<PgResult> set = conn.Execute("SELECT set_config('application_name', left($1, 63), false)", params);
    if (!set) return std::move(set).error();
    return Ok();
  };
}

}  // namespace

Result<std::unique_ptr<PostgresChangeLog>> PostgresChangeLog::Create(PostgresChangeLogOptions options, Clock& clock) {
  Result<NotifyWakeup> wakeup = NotifyWakeup::Create();
  if (!wakeup) return std::move(wakeup).error();
  return std::unique_ptr<PostgresChangeLog>(
      new PostgresChangeLog(std::move(options), clock, std::move(wakeup).value()));
}

PostgresChangeLog::PostgresChangeLog(PostgresChangeLogOptions options, Clock& clock, NotifyWakeup wakeup)
    : options_(std::move(options)),
      clock_(clock),
      session_(options_.database_url, options_.connect_timeout,
               NameConnection("fraiseql-observer listener " + options_.listener_id)),
      wakeup_(std::move(wakeup)) {}

template <typename T, typename F>
Result<T> PostgresChangeLog::WithReader(F&& read) {
  return session_.Run<T>([&](PgConnection& conn) -> Result<T> {
    if (!reader_) {
      Result<ChangeLogReader> reader = ChangeLogReader::Create(conn, options_.table);
      if (!reader) return std::move(reader).error();
      reader_.emplace(std::move(reader).value());
    }
    return read(*reader_, conn);
  });
}

Result<std::vector<ChangeLogEntry>> PostgresChangeLog::Read(ChangeLogPosition after, ReadLimits limits) {
  return WithReader<std::vector<ChangeLogEntry>>(
      [&](const ChangeLogReader& reader, PgConnection& conn) { return reader.ReadBatch(conn, after, limits); });
}

Result<bool> PostgresChangeLog::HasHeldBackRows(ChangeLogPosition after) {
  return WithReader<bool>(
      [&](const ChangeLogReader& reader, PgConnection& conn) { return reader.HasHeldBackRows(conn, after); });
}

Result<BacklogEstimate> PostgresChangeLog::EstimateBacklog(ChangeLogPosition after) {
  return WithReader<BacklogEstimate>(
      [&](const ChangeLogReader& reader, PgConnection& conn) { return reader.EstimateBacklog(conn, after); });
}

Result<ChangeLogPosition> PostgresChangeLog::LegacyPosition(int64_t last_processed_id) {
  return WithReader<ChangeLogPosition>([&](const ChangeLogReader& reader, PgConnection& conn) {
    return reader.LegacyPosition(conn, last_processed_id);
  });
}

Result<void> PostgresChangeLog::Listen() {
  if (!wakeup_.listening()) {
    FRAISEQL_RETURN_IF_ERROR(wakeup_.Listen(options_.database_url, kChangeLogChannel, options_.connect_timeout));
  }
  Result<size_t> drained = wakeup_.Drain();
  if (!drained) return std::move(drained).error();
  return Ok();
}

Result<ChangeLogSource::Wake> PostgresChangeLog::WaitForNews(std::chrono::steady_clock::time_point deadline,
                                                             std::stop_token stop) {
  // The interrupt is the wake-up's eventfd: set only by this wait's own stop callback.
  wakeup_.ClearInterrupt();
  std::stop_callback interrupt(stop, [this] { wakeup_.Interrupt(); });
  // NOTIFY arrives on a socket, in real time: the clock only says how long is left.
  const auto left = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_.SteadyNow()),
                               std::chrono::milliseconds(0), std::chrono::milliseconds(std::chrono::hours(24)));
  Result<NotifyWakeup::Wake> woke = wakeup_.Wait(left);
  if (!woke) return std::move(woke).error();
  switch (*woke) {
    case NotifyWakeup::Wake::kNotified: return Wake::kNews;
    case NotifyWakeup::Wake::kTimeout: return Wake::kTimeout;
    case NotifyWakeup::Wake::kInterrupted: return Wake::kInterrupted;
  }
  return Wake::kTimeout;
}

}  // namespace fraiseql
