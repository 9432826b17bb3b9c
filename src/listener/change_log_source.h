// ChangeLogSource: where the listener reads the change log, gaplessly (guarantee 1), and how it
// waits for news of new rows. Backends: PostgresChangeLog (the reader's SQL plus LISTEN/NOTIFY)
// and MemoryChangeLog (one process; the listener loop's tests on a FakeClock).
// Thread-safety: one listener thread uses a source (each listener has its own).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint_store.h"
#include "common/result.h"
#include "event/entity_event.h"

namespace fraiseql {

// One row as read. `row` holds the converted columns, or the reason they could not be (a
// non-numeric value in a legacy text column, JSON that does not parse): such a row is
// dead-lettered with `raw`, every column as text, and reading goes on (guarantee 7).
struct ChangeLogEntry {
  ChangeLogPosition position;
  Result<ChangeLogRow> row = Error::Internal("unset");
  nlohmann::json raw;  // column name -> text or null; filled only when `row` is an error
};

// A cheap look at what is left, for the backlog and lag gauges.
struct BacklogEstimate {
  // Rows after the position (approximate in PostgreSQL: pk gaps left by rolled-back inserts
  // count, and rows of other transactions interleave); 0 when caught up.
  int64_t rows = 0;
  // Seconds since the oldest committed row not yet read was written; 0 when caught up.
  double lag_seconds = 0;
};

// How much one Read returns: at most `rows` rows, taken in order while their size in bytes (the
// columns' text, as the reader receives them) stays within `bytes`; the first row is returned
// whatever its size, so one large row never stops reading. Bounding bytes keeps a batch of
// large rows within PostgreSQL's limits on one value (256 MB of jsonb) and the listener's memory
// (PostgreSQL's backend bounds what it sends by stored size, so one read of rows that compress
// very well can still bring more text than `bytes`: see ChangeLogReader::ReadBatch).
struct ReadLimits {
  size_t rows = 1000;
  size_t bytes = size_t{32} << 20;
};

// The row as a JSON object with the change-log column names, for a dead letter's row_data.
nlohmann::json ChangeLogRowToJson(const ChangeLogRow& row, ChangeLogPosition position);

class ChangeLogSource {
 public:
  enum class Wake { kNews, kTimeout, kInterrupted };

  ChangeLogSource() = default;
  virtual ~ChangeLogSource() = default;
  ChangeLogSource(const ChangeLogSource&) = delete;
  ChangeLogSource& operator=(const ChangeLogSource&) = delete;

  // Committed rows after `after` within `limits`, in (txid, pk) order, such that no row can
  // still appear behind them. Errors: kUnavailable when the source cannot be reached (retry).
  virtual Result<std::vector<ChangeLogEntry>> Read(ChangeLogPosition after, ReadLimits limits) = 0;

  // True when committed rows after `after` exist that Read cannot return yet because an older
  // transaction is still open: look again soon, no news will come when it ends.
  virtual Result<bool> HasHeldBackRows(ChangeLogPosition after) = 0;

  virtual Result<BacklogEstimate> EstimateBacklog(ChangeLogPosition after) = 0;

  // The position to continue from after a checkpoint FraiseQL's own observer wrote (a pk only):
  // no row that observer had not read is skipped.
  virtual Result<ChangeLogPosition> LegacyPosition(int64_t last_processed_id) = 0;

  // Starts listening for news (when not yet), and consumes what arrived so far, so news during
  // the Read that follows ends the next wait at once. News sent while nobody listened is gone:
  // always Read after this before waiting.
  virtual Result<void> Listen() = 0;
  // Stops listening (a standby must not: unread notifications would pile up on the server).
  virtual void StopListening() = 0;

  // Waits until news of rows arrives, `deadline` passes on the listener's clock, or `stop` is
  // requested (kInterrupted). Without listening it only waits.
  virtual Result<Wake> WaitForNews(std::chrono::steady_clock::time_point deadline, std::stop_token stop) = 0;
};

}  // namespace fraiseql
