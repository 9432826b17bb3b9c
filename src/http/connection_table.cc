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
  if (same_address != per_address_.end() && same_address->second >= limits_.max_per_address) {
    admission.verdict = Verdict::kOverAddressCap;
    return admission;
  }
  if (counted_ >= limits_.max_connections) {
    // The one that has been reading longest has the earliest deadline: an idle keep-alive
    // connection or a slow client, either of which can come back.
    if (reading_.empty()) {
      admission.verdict = Verdict::kOverTotalCap;
      return admission;
    }
    const ConnectionId victim = reading_.begin()->second;
    GiveUp(victim, entries_.at(victim));
    admission.evict = victim;
  }
  Entry entry{address, ConnectionPhase::kReading, now + limits_.deadline, false};
  deadlines_.emplace(entry.deadline, id);
  reading_.emplace(entry.deadline, id);
  ++per_address_[address];
  ++counted_;
  entries_.emplace(id, std::move(entry));
  return admission;
}

void ConnectionTable::Enter(ConnectionId id, ConnectionPhase phase, SteadyTime now) {
  const auto found = entries_.find(id);
  if (found == entries_.end() || found->second.given_up) return;
  Entry& entry = found->second;
  deadlines_.erase({entry.deadline, id});
  reading_.erase({entry.deadline, id});
  entry.phase = phase;
  if (phase == ConnectionPhase::kHandling) return;
  entry.deadline = now + limits_.deadline;
  deadlines_.emplace(entry.deadline, id);
  if (phase == ConnectionPhase::kReading) reading_.emplace(entry.deadline, id);
}

void ConnectionTable::Remove(ConnectionId id) {
  const auto found = entries_.find(id);
  if (found == entries_.end()) return;
  if (!found->second.given_up) Untrack(id, found->second);
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

void ConnectionTable::Untrack(ConnectionId id, const Entry& entry) {
  deadlines_.erase({entry.deadline, id});
  reading_.erase({entry.deadline, id});
  const auto count = per_address_.find(entry.address);
  if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
  --counted_;
}

void ConnectionTable::GiveUp(ConnectionId id, Entry& entry) {
  Untrack(id, entry);
  entry.given_up = true;
}

}  // namespace fraiseql::http_internal
