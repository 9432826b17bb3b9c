// PostgresChangeLog: the ChangeLogSource on the change-log table: ChangeLogReader's statements on
// a connection of its own (replaced when lost), and news from LISTEN on the channel migrations/001
// notifies on every insert (NotifyWakeup, on a second connection).
// Thread-safety: one listener thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "common/secret.h"
#include "db/session.h"
#include "listener/change_log_reader.h"
#include "listener/change_log_source.h"
#include "listener/notify_wakeup.h"

namespace fraiseql {

struct PostgresChangeLogOptions {
  Secret database_url;
  std::string table = "core.tb_entity_change_log";  // [database] change_log_table
  std::string listener_id = "default";               // names the connections in pg_stat_activity
  std::chrono::milliseconds connect_timeout{5000};
};

class PostgresChangeLog final : public ChangeLogSource {
 public:
  // Connects lazily. `clock` turns wait deadlines into timeouts; borrowed, must outlive this.
  // kInternal when no eventfd can be made (NotifyWakeup::Create).
  static Result<std::unique_ptr<PostgresChangeLog>> Create(PostgresChangeLogOptions options, Clock& clock);

  Result<std::vector<ChangeLogEntry>> Read(ChangeLogPosition after, ReadLimits limits) override;
  Result<bool> HasHeldBackRows(ChangeLogPosition after) override;
  Result<BacklogEstimate> EstimateBacklog(ChangeLogPosition after) override;
  Result<ChangeLogPosition> LegacyPosition(int64_t last_processed_id) override;
  Result<void> Listen() override;
  void StopListening() override { wakeup_.Close(); }
  Result<Wake> WaitForNews(std::chrono::steady_clock::time_point deadline, std::stop_token stop) override;

  // The LISTEN connection's backend pid (0 when not listening), for tests that end it.
  int listen_backend_pid() const { return wakeup_.backend_pid(); }

 private:
  PostgresChangeLog(PostgresChangeLogOptions options, Clock& clock, NotifyWakeup wakeup);

  // Runs `read(reader, connection)` on the read connection (see PgSession), making the reader
  // on first use (it quotes the table name for the connection's encoding).
  template <typename T, typename F>
  Result<T> WithReader(F&& read);

  const PostgresChangeLogOptions options_;
  Clock& clock_;
  PgSession session_;
  std::optional<ChangeLogReader> reader_;
  NotifyWakeup wakeup_;
};

}  // namespace fraiseql
