// ChangeLogReader: the gapless read of the change log (guarantee 1): rows after a (txid, pk)
// position, in that order, whose writer's txid is below pg_snapshot_xmin(pg_current_snapshot()).
// Thread-safety: a reader is immutable and may be shared; each call uses the caller's connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint_store.h"
#include "listener/change_log_source.h"
#include "common/json_limits.h"
#include "common/result.h"
#include "db/connection.h"
#include "event/entity_event.h"

namespace fraiseql {

// What one row may hold (docs/security.md, "Parsers: nesting and size limits"): each JSON column
// (object_data, object_data_before, extra_metadata) at most kChangeLogJsonLimits, each other column
// at most kMaxTextColumnBytes. The reader checks them before parsing anything; a row over one is
// returned as an error entry, which the listener dead-letters with its pk like any unreadable row.
inline constexpr JsonLimits kChangeLogJsonLimits{};
inline constexpr size_t kMaxTextColumnBytes = size_t{64} << 10;  // 64 KiB

// Why this is gapless: every transaction below the xmin bound has ended, so no row can still
// appear behind the position; a row whose transaction commits after a later-numbered row's has a
// smaller txid and is read later, never skipped. No time windows are involved (docs/listener.md).

class ChangeLogReader {
 public:
  // `table` is "schema.table" or "table" (DatabaseConfig::change_log_table), each part taken
  // literally (case-sensitive) and quoted with PQescapeIdentifier on `conn`'s encoding.
  // kInvalidArgument for an empty part or more than one dot.
  static Result<ChangeLogReader> Create(PgConnection& conn, std::string_view table);

  // The rows after `after` within `limits`, in (txid, pk) order, by the rule above. One
  // statement, outside any transaction of the caller's (it needs a fresh snapshot). The server
  // sends no more rows than their stored sizes allow (cheap: no value is decompressed to be
  // measured), and the batch is then cut where the text received passes `limits.bytes` (a
  // compressed value can be far larger as text; such rows arrive, are cut off and read again, so
  // one read's result may exceed `limits.bytes` by their compression ratio). Errors: the server's (kInvalidArgument for a
  // table without the txid column: apply migrations/001).
  Result<std::vector<ChangeLogEntry>> ReadBatch(PgConnection& conn, ChangeLogPosition after, ReadLimits limits) const;

  // True when committed rows after `after` exist that ReadBatch cannot return yet because an
  // older transaction is still running: the caller should look again soon, since no NOTIFY
  // will come when that transaction ends (it may not touch the change log at all).
  Result<bool> HasHeldBackRows(PgConnection& conn, ChangeLogPosition after) const;

  Result<BacklogEstimate> EstimateBacklog(PgConnection& conn, ChangeLogPosition after) const;

  // The position of a checkpoint FraiseQL's own observer wrote (last_processed_id only, txid 0):
  // (T, last_processed_id), T the oldest txid of a row after that id, or below every running
  // transaction if older. No row FraiseQL has not read is skipped; rows it read whose txid is
  // above T are delivered again (at least once). Migration 001 gave every row that existed then
  // one txid, so a checkpoint taken over at the migration skips exactly the rows FraiseQL read.
  Result<ChangeLogPosition> LegacyPosition(PgConnection& conn, int64_t last_processed_id) const;

  // The quoted table name, e.g. "core"."tb_entity_change_log".
  const std::string& quoted_table() const { return quoted_table_; }

 private:
  explicit ChangeLogReader(std::string quoted_table);

  std::string quoted_table_;
  std::string read_sql_;
  std::string held_back_sql_;
  std::string backlog_sql_;
  std::string legacy_position_sql_;
};

}  // namespace fraiseql
