#include "checkpoint/checkpoint_store.h"

#include <charconv>
#include <climits>

#include "common/text.h"

namespace fraiseql {

std::string PositionToString(ChangeLogPosition position) {
  return std::to_string(position.txid) + "/" + std::to_string(position.pk);
}

Result<ChangeLogPosition> ParsePosition(std::string_view text) {
  const size_t slash = text.find('/');
  auto invalid = [&] {
    return Error::InvalidArgument("'" + TruncateUtf8(text, 64) +
                                  "' is not a change-log position (expected <txid>/<pk>, e.g. 7421/1003)");
  };
  if (slash == std::string_view::npos) return invalid();
  const std::string_view txid_text = text.substr(0, slash);
  const std::string_view pk_text = text.substr(slash + 1);
  ChangeLogPosition position;
  auto [txid_end, txid_error] = std::from_chars(txid_text.data(), txid_text.data() + txid_text.size(), position.txid);
  if (txid_error != std::errc() || txid_end != txid_text.data() + txid_text.size() || txid_text.empty()) {
    return invalid();
  }
  auto [pk_end, pk_error] = std::from_chars(pk_text.data(), pk_text.data() + pk_text.size(), position.pk);
  if (pk_error != std::errc() || pk_end != pk_text.data() + pk_text.size() || pk_text.empty() || position.pk < 0) {
    return invalid();
  }
  return position;
}

namespace checkpoint_internal {

Result<void> ValidateCheckpoint(const Checkpoint& checkpoint) {
  if (checkpoint.listener_id.empty()) return Error::InvalidArgument("a checkpoint needs a listener id");
  if (checkpoint.listener_id.size() > 255) {
    return Error::InvalidArgument("listener id '" + TruncateUtf8(checkpoint.listener_id, 64) +
                                  "' is longer than 255 bytes");
  }
  if (checkpoint.position.pk < 0) {
    return Error::InvalidArgument("checkpoint of '" + checkpoint.listener_id + "': pk " +
                                  std::to_string(checkpoint.position.pk) + " is negative");
  }
  if (checkpoint.batch_size < kMinCheckpointBatchSize || checkpoint.batch_size > kMaxCheckpointBatchSize) {
    return Error::InvalidArgument("checkpoint of '" + checkpoint.listener_id + "': batch size " +
                                  std::to_string(checkpoint.batch_size) + " is outside [1, 10000]");
  }
  if (checkpoint.event_count > static_cast<uint32_t>(INT_MAX) ||
      checkpoint.consecutive_errors > static_cast<uint32_t>(INT_MAX)) {
    return Error::InvalidArgument("checkpoint of '" + checkpoint.listener_id + "': a count exceeds 2^31-1");
  }
  if (checkpoint.lease_epoch < 0 || checkpoint.total_events < 0) {
    return Error::InvalidArgument("checkpoint of '" + checkpoint.listener_id +
                                  "': lease epoch and total events must not be negative");
  }
  if (checkpoint.updated_by && checkpoint.updated_by->size() > 255) {
    return Error::InvalidArgument("checkpoint of '" + checkpoint.listener_id +
                                  "': updated_by is longer than 255 bytes");
  }
  return Ok();
}

std::string FailoverReason(int64_t from_epoch, int64_t to_epoch) {
  return "failover: epoch " + std::to_string(from_epoch) + " -> " + std::to_string(to_epoch);
}

std::string MoveReason(ChangeLogPosition to, std::string_view reason) {
  // TruncateUtf8 appends "..." when it cuts, hence the 3 bytes kept free.
  return TruncateUtf8("manual move to " + PositionToString(to) + ": " + std::string(reason),
                      kMaxHistoryReasonBytes - 3);
}

}  // namespace checkpoint_internal
}  // namespace fraiseql
