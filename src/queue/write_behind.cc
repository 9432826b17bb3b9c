#include "queue/write_behind.h"

#include <algorithm>
#include <utility>

#include "common/backoff.h"
#include "common/log.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// The first retry of a write is immediate (a broken connection is simply replaced); later
// ones back off from this.
constexpr milliseconds kFirstBackoff{50};

nlohmann::json AttemptsToJson(const std::vector<AttemptRecord>& attempts) {
  nlohmann::json out = nlohmann::json::array();
  for (const AttemptRecord& attempt : attempts) out.push_back(AttemptToJson(attempt));
  return out;
}

}  // namespace

RescheduleWrite RescheduleWrite::Of(const Delivery& delivery, std::chrono::system_clock::time_point run_at) {
  RescheduleWrite op{run_at, delivery.attempt_count(), AttemptsToJson(delivery.attempts), std::nullopt};
  if (!delivery.attempts.empty() && !delivery.attempts.back().error.empty()) op.last_error = delivery.attempts.back().error;
  return op;
}

void PendingWrites::AddOp(const std::string& delivery_id, std::optional<RescheduleWrite> op) {
  // A wake is about an earlier reschedule of the delivery; the newer op replaces both.
  wakes.erase(delivery_id);
  ops.insert_or_assign(delivery_id, std::move(op));
}

void PendingWrites::AddWake(const std::string& delivery_id, std::chrono::system_clock::time_point now) {
  // Woken before its reschedule was even written: write it due now instead.
  if (auto op = ops.find(delivery_id); op != ops.end()) {
    if (op->second) op->second->run_at = std::min(op->second->run_at, now);
    return;
  }
  wakes.insert(delivery_id);
}

void PendingWrites::Merge(PendingWrites&& later, std::chrono::system_clock::time_point now) {
  for (nlohmann::json& letter : later.dead_letters) dead_letters.push_back(std::move(letter));
  for (auto& [id, op] : later.ops) AddOp(id, std::move(op));
  for (const std::string& id : later.wakes) AddWake(id, now);
}

FlusherStep NextFlusherStep(const FlusherState& state, SteadyTime now, const FlusherTiming& timing) {
  FlusherStep step;
  if (state.stopping && !state.carrying && state.pending == 0) {
    step.exit = true;
    return step;
  }
  if (state.stopping && now >= state.give_up_at) {
    step.give_up = true;
    return step;
  }
  const bool flush_due = !state.carrying && state.pending > 0 &&
                         (state.stopping || state.pending >= timing.flush_batch || state.flush_requested ||
                          now >= state.pending_since + timing.flush_interval);
  const bool retry_due = state.carrying && now >= state.retry_at;
  step.write = flush_due || retry_due;
  step.extend = !state.stopping && now >= state.next_extend;
  step.stats = !state.stopping && now >= state.next_stats;
  if (step.acts()) return step;
  SteadyTime wake_at = state.stopping ? state.give_up_at : std::min(state.next_extend, state.next_stats);
  if (state.carrying) wake_at = std::min(wake_at, state.retry_at);
  if (!state.carrying && state.pending > 0) wake_at = std::min(wake_at, state.pending_since + timing.flush_interval);
  step.wake_at = wake_at;
  return step;
}

WriteBehind::WriteBehind(Options options, Clock& clock, Writer writer, OnWritten on_written,
                         std::function<void()> periodic)
    : options_(options),
      clock_(clock),
      writer_(std::move(writer)),
      on_written_(std::move(on_written)),
      periodic_(std::move(periodic)),
      locks_(std::max(options.lock_timeout, milliseconds(1)), clock.SteadyNow()) {
  flusher_ = std::jthread([this] { Run(); });
}

WriteBehind::~WriteBehind() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  flusher_.join();
}

template <typename F>
void WriteBehind::Enqueue(F&& change) {
  MutexLock lock(&mu_);
  const bool was_empty = pending_.empty();
  if (was_empty) pending_since_ = clock_.SteadyNow();  // starts the flush interval
  change(pending_);
  ++enqueued_seq_;
  if (was_empty || pending_.size() >= options_.timing.flush_batch) wake_.notify_all();
}

void WriteBehind::Hold(std::span<const std::string> delivery_ids, SteadyTime locked_at) {
  MutexLock lock(&mu_);
  for (const std::string& id : delivery_ids) locks_.Hold(id, locked_at);
}

void WriteBehind::Complete(const std::string& delivery_id) {
  Enqueue([&](PendingWrites& writes) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    locks_.Release(delivery_id);
    writes.AddOp(delivery_id, std::nullopt);
  });
}

void WriteBehind::Reschedule(const std::string& delivery_id, RescheduleWrite op) {
  Enqueue([&](PendingWrites& writes) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    locks_.Release(delivery_id);
    writes.AddOp(delivery_id, std::move(op));
  });
}

void WriteBehind::Wake(std::span<const std::string> delivery_ids) {
  const auto now = clock_.Now();
  Enqueue([&](PendingWrites& writes) {
    for (const std::string& id : delivery_ids) writes.AddWake(id, now);
  });
}

void WriteBehind::AddDeadLetter(const DeadLetter& letter) {
  nlohmann::json row = DeadLetterToJson(letter);
  Enqueue([&](PendingWrites& writes) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writes.dead_letters.push_back(std::move(row));
    if (letter.delivery_id) {
      // The delete goes in the same statement, so the dead letter and the job's end are one.
      locks_.Release(*letter.delivery_id);
      writes.AddOp(*letter.delivery_id, std::nullopt);
    }
  });
}

Result<void> WriteBehind::Flush(milliseconds timeout) {
  const SteadyTime deadline = clock_.SteadyNow() + timeout;
  MutexLock lock(&mu_);
  const uint64_t target = enqueued_seq_;
  ++flush_requests_;
  wake_.notify_all();
  while (written_seq_ < target) {
    if (!clock_.WaitUntil(mu_, flushed_, deadline) && written_seq_ < target) {
      return Error::Unavailable("job queue: writes not flushed within " + std::to_string(timeout.count()) + " ms" +
                                (last_write_error_.empty() ? "" : ": " + last_write_error_));
    }
  }
  return Ok();
}

size_t WriteBehind::pending() const {
  MutexLock lock(&mu_);
  return pending_.size();
}

size_t WriteBehind::held() const {
  MutexLock lock(&mu_);
  return locks_.size();
}

void WriteBehind::Run() {
  PendingWrites carry;  // taken from pending_, not yet written: goes before anything newer
  uint64_t carry_seq = 0;
  uint64_t served_requests = 0;
  milliseconds backoff{0};
  SteadyTime retry_at = clock_.SteadyNow();
  SteadyTime next_stats = clock_.SteadyNow();
  SteadyTime give_up_at = SteadyTime::max();

  for (;;) {
    FlusherStep step;
    SteadyTime now;
    std::vector<std::string> extend;
    {
      MutexLock lock(&mu_);
      for (;;) {
        now = clock_.SteadyNow();
        if (stopping_ && give_up_at == SteadyTime::max()) give_up_at = now + options_.shutdown_timeout;
        FlusherState state;
        state.pending = pending_.size();
        state.pending_since = pending_since_;
        state.flush_requested = flush_requests_ != served_requests;
        state.carrying = !carry.empty();
        state.retry_at = retry_at;
        state.next_extend = locks_.next_check();
        state.next_stats = next_stats;
        state.stopping = stopping_;
        state.give_up_at = give_up_at;
        step = NextFlusherStep(state, now, options_.timing);
        if (step.acts()) break;
        clock_.WaitUntil(mu_, wake_, step.wake_at);
      }
      if (step.exit) return;
      if (step.write) {
        served_requests = flush_requests_;
        if (!pending_.empty()) {
          carry.Merge(std::move(pending_), clock_.Now());
          pending_ = PendingWrites{};
        }
        carry_seq = enqueued_seq_;
      }
      if (step.extend) {
        locks_.Checked(now);
        extend = locks_.Due(now);
      }
    }

    if (step.give_up) {
      log::Error("job queue: giving up writing at shutdown; those jobs stay locked until their lock expires, "
                 "then run again",
                 {{"unwritten", std::to_string(carry.size() + pending())}});
      return;
    }

    if (step.write || !extend.empty()) {
      static const PendingWrites kNothing;
      const PendingWrites& writes = step.write ? carry : kNothing;  // a batch waiting for its retry waits on
      Result<WriteCounts> written = writer_(writes, extend);
      {
        MutexLock lock(&mu_);
        if (written) {
          locks_.Extended(extend, now);
        } else if (!extend.empty()) {
          // Not stamped, so still due: look again soon rather than a sixth of the timeout later.
          locks_.CheckAgainBy(now + std::max(backoff, kFirstBackoff));
        }
      }
      PendingWrites retry;  // what stays to be written
      std::string retry_error;
      if (!written && written.error().code != ErrorCode::kInvalidArgument) {
        retry = step.write ? std::move(carry) : PendingWrites{};
        retry_error = written.error().message;
        log::Write(IsRetryable(written.error()) ? log::Level::kWarn : log::Level::kError,
                   "job queue: writing a batch failed; retrying",
            {{"error", retry_error}, {"writes", std::to_string(writes.size())},
             {"extensions", std::to_string(extend.size())}});
      } else if (step.write && !written) {
        log::Error("job queue: a batch was refused; writing its parts one by one",
                   {{"error", written.error().message}, {"writes", std::to_string(carry.size())}});
        retry = WriteEachAlone(carry);
        if (!retry.empty()) retry_error = "parts of a refused batch could not be written yet";
      } else if (step.write && on_written_) {
        on_written_(carry, *written);
      }
      if (!retry.empty()) {
        carry = std::move(retry);
        retry_at = now + backoff;  // the first retry is immediate: a broken connection is simply replaced
        backoff = NextBackoff(backoff, kFirstBackoff, options_.max_backoff);
        MutexLock lock(&mu_);
        last_write_error_ = retry_error;
      } else if (step.write) {
        backoff = milliseconds(0);
        carry = PendingWrites{};
        MutexLock lock(&mu_);
        written_seq_ = carry_seq;
        last_write_error_.clear();
        flushed_.notify_all();
      }
    }

    if (step.stats) {
      if (periodic_) periodic_();
      next_stats = clock_.SteadyNow() + options_.stats_interval;
    }
  }
}

PendingWrites WriteBehind::WriteEachAlone(const PendingWrites& writes) {
  PendingWrites retry;
  const auto now = clock_.Now();
  auto write = [&](PendingWrites part, const std::string& what) {
    Result<WriteCounts> written = writer_(part, {});
    if (written) {
      if (on_written_) on_written_(part, *written);
    } else if (written.error().code == ErrorCode::kInvalidArgument) {
      log::Error("job queue: dropping a write the database refuses", {{"write", what}, {"error", written.error().message}});
    } else {
      retry.Merge(std::move(part), now);  // a connection lost meanwhile: written with the next retry
    }
  };
  for (const nlohmann::json& letter : writes.dead_letters) {
    PendingWrites part;
    part.dead_letters.push_back(letter);
    write(part, "dead letter " + letter.value("delivery_id", std::string("(no delivery)")));
  }
  for (const auto& [id, op] : writes.ops) {
    PendingWrites part;
    part.ops.emplace(id, op);
    write(part, (op ? "reschedule of " : "completion of ") + id);
  }
  for (const std::string& id : writes.wakes) {
    PendingWrites part;
    part.wakes.insert(id);
    write(part, "wake of " + id);
  }
  return retry;
}

}  // namespace fraiseql
