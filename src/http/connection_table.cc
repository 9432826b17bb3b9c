#include "http/connection_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <iterator>

namespace fraiseql::http_internal {

ClientAddress DescribeClient(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address == nullptr) return {"unknown", "unknown"};
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return {text, text};
  }
  if (address->sa_family != AF_INET6) return {"unknown", "unknown"};
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof text);
    return {text, text};
  }
  ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
  in6_addr prefix = in6->sin6_addr;
  std::fill(std::begin(prefix.s6_addr) + 8, std::end(prefix.s6_addr), uint8_t{0});
  char prefix_text[INET6_ADDRSTRLEN] = "";
  ::inet_ntop(AF_INET6, &prefix, prefix_text, sizeof prefix_text);
  return {text, std::string(prefix_text) + "/64"};
}

ConnectionTable::Admission ConnectionTable::Admit(ConnectionId id, const std::string& address, SteadyTime now) {
  Admission admission;
  const auto same_address = per_address_.find(address);
  if (same_address != per_address_.end() && same_address->second.count >= limits_.max_per_address) {
    admission.verdict = Verdict::kOverAddressCap;
    return admission;
  }
  if (counted_ >= limits_.max_connections) {
    const std::optional<ConnectionId> victim = Victim(now);
    if (!victim) {
      admission.verdict = Verdict::kOverTotalCap;
      return admission;
    }
    GiveUp(*victim, entries_.at(*victim));
    admission.evict = victim;
  }
  Entry entry{address, ConnectionPhase::kReading, now + limits_.deadline, false};
  Address& holder = per_address_[address];
  ++holder.count;
  ++counted_;
  Track(id, entry, holder);
  entries_.emplace(id, std::move(entry));
  return admission;
}

void ConnectionTable::Enter(ConnectionId id, ConnectionPhase phase, SteadyTime now) {
  const auto found = entries_.find(id);
  if (found == entries_.end() || found->second.given_up) return;
  Entry& entry = found->second;
  if (entry.phase == ConnectionPhase::kDraining) return;
  Address& holder = per_address_.at(entry.address);
  Untrack(id, entry, holder);
  // Draining does not extend the time the client had; a connection being handled had none.
  if (phase != ConnectionPhase::kDraining || entry.phase == ConnectionPhase::kHandling) {
    entry.deadline = now + limits_.deadline;
  }
  entry.phase = phase;
  Track(id, entry, holder);
}

void ConnectionTable::Remove(ConnectionId id) {
  const auto found = entries_.find(id);
  if (found == entries_.end()) return;
  if (!found->second.given_up) Forget(id, found->second);
  entries_.erase(found);
}

std::vector<ConnectionId> ConnectionTable::TakeOverdue(SteadyTime now) {
  std::vector<ConnectionId> overdue;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const ConnectionId id = deadlines_.begin()->second;
    GiveUp(id, entries_.at(id));
    overdue.push_back(id);
  }
  return overdue;
}

std::optional<SteadyTime> ConnectionTable::NextDeadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

// Connections being answered are never chosen: that is work under way, and their clients did
// their part. A draining one has had its answer and serves nothing more. Then readers: first
// those that have waited past the grace, so that a client whose request is merely on its way
// does not pay for idle or slow ones (whatever its address holds); among readers, one of the
// address holding the most connections, so that a client with few (a probe, a scraper) does not
// pay for a client with many. Linear in the number of addresses, and only when the table is full.
std::optional<ConnectionId> ConnectionTable::Victim(SteadyTime now) const {
  if (!draining_.empty()) return draining_.begin()->second;
  // A reader's deadline is the start of its wait plus the deadline.
  if (const std::optional<ConnectionId> idle = LongestReaderOfBusiestAddress(now - grace() + limits_.deadline)) {
    return idle;
  }
  return LongestReaderOfBusiestAddress(SteadyTime::max());
}

std::optional<ConnectionId> ConnectionTable::LongestReaderOfBusiestAddress(SteadyTime latest_deadline) const {
  const Address* chosen = nullptr;
  for (const auto& [key, holder] : per_address_) {
    if (holder.reading.empty() || holder.reading.begin()->first > latest_deadline) continue;
    if (chosen == nullptr || holder.count > chosen->count ||
        (holder.count == chosen->count && *holder.reading.begin() < *chosen->reading.begin())) {
      chosen = &holder;
    }
  }
  if (chosen == nullptr) return std::nullopt;
  return chosen->reading.begin()->second;
}

void ConnectionTable::Track(ConnectionId id, const Entry& entry, Address& holder) {
  switch (entry.phase) {
    case ConnectionPhase::kReading:
      holder.reading.emplace(entry.deadline, id);
      break;
    case ConnectionPhase::kHandling:
      ++answering_;
      return;  // no deadline: the wait is ours
    case ConnectionPhase::kWriting:
      ++answering_;
      break;
    case ConnectionPhase::kDraining:
      draining_.emplace(entry.deadline, id);
      break;
  }
  deadlines_.emplace(entry.deadline, id);
}

void ConnectionTable::Untrack(ConnectionId id, const Entry& entry, Address& holder) {
  if (entry.phase == ConnectionPhase::kHandling || entry.phase == ConnectionPhase::kWriting) --answering_;
  deadlines_.erase({entry.deadline, id});
  holder.reading.erase({entry.deadline, id});
  draining_.erase({entry.deadline, id});
}

void ConnectionTable::Forget(ConnectionId id, const Entry& entry) {
  const auto holder = per_address_.find(entry.address);
  Untrack(id, entry, holder->second);
  if (--holder->second.count == 0) per_address_.erase(holder);
  --counted_;
}

void ConnectionTable::GiveUp(ConnectionId id, Entry& entry) {
  Forget(id, entry);
  entry.given_up = true;
}

}  // namespace fraiseql::http_internal
