// ConnectionTable: the bookkeeping behind HttpServer's connection limits: who holds how many
// connections, which connection is past its deadline, and which one to give up when full.
// Pure: time comes in as arguments, nothing is closed here. Thread-safety: none; the server
// calls it under its own lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

struct sockaddr;

namespace fraiseql::http_internal {

using SteadyTime = std::chrono::steady_clock::time_point;
using ConnectionId = uint64_t;

struct ClientAddress {
  std::string text;  // shown to handlers: "192.0.2.7", "2001:db8::1"
  std::string key;   // what the per-address cap counts: the address, or its IPv6 /64
};

// An IPv6 client usually holds a whole /64, so the cap counts /64s there; an IPv4-mapped IPv6
// address is its IPv4 address. "unknown" for null and other families.
ClientAddress DescribeClient(const sockaddr* address);

// Where a connection is in its request. Deadlines bind while the client has the move: reading
// (its request, head and body) and writing (our answer, which it must take). While a handler
// runs, the wait is ours, and no deadline runs.
enum class ConnectionPhase { kReading, kHandling, kWriting };

struct ConnectionLimits {
  size_t max_connections = 256;
  size_t max_per_address = 32;
  std::chrono::milliseconds deadline{10'000};
};

class ConnectionTable {
 public:
  enum class Verdict { kAdmitted, kOverAddressCap, kOverTotalCap };
  struct Admission {
    Verdict verdict = Verdict::kAdmitted;
    // Admitted by giving this one up: it must be closed (it no longer counts).
    std::optional<ConnectionId> evict;
  };

  explicit ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

  // A new connection from `address` at `now`, reading its first request. Refused connections
  // are not kept. When the table is full, one reading connection is given up for the new one:
  // of the address holding the most connections, the one that has waited longest for its
  // request; when none is reading, the new one is refused.
  // REQUIRES: `id` is not in the table.
  Admission Admit(ConnectionId id, const std::string& address, SteadyTime now);
  // The connection moved to `phase` at `now`; reading and writing start a new deadline.
  // Unknown or already given-up ids are ignored.
  void Enter(ConnectionId id, ConnectionPhase phase, SteadyTime now);
  // The connection is closed; forgets it. Unknown ids are ignored.
  void Remove(ConnectionId id);

  // Connections past their deadline at `now`, each returned once: they no longer count and
  // must be closed.
  std::vector<ConnectionId> TakeOverdue(SteadyTime now);
  // The earliest deadline still to come; nullopt when none runs.
  std::optional<SteadyTime> NextDeadline() const;

  // Connections that count against the limits (not given up).
  size_t open() const { return counted_; }
  // Connections known, including those given up and not yet removed.
  size_t known() const { return entries_.size(); }

 private:
  struct Entry {
    std::string address;
    ConnectionPhase phase = ConnectionPhase::kReading;
    SteadyTime deadline;
    bool given_up = false;
  };
  struct Address {
    size_t count = 0;  // counted connections
    std::set<std::pair<SteadyTime, ConnectionId>> reading;  // soonest deadline first
  };

  std::optional<ConnectionId> Victim() const;
  // Puts the entry under its phase's deadline (none while handling) and, reading, among its
  // address's readers; Untrack takes it out of both.
  void Track(ConnectionId id, const Entry& entry, Address& holder);
  void Untrack(ConnectionId id, const Entry& entry, Address& holder);
  // It no longer counts (given up or removed).
  void Forget(ConnectionId id, const Entry& entry);
  void GiveUp(ConnectionId id, Entry& entry);

  ConnectionLimits limits_;
  std::unordered_map<ConnectionId, Entry> entries_;
  std::unordered_map<std::string, Address> per_address_;  // addresses holding counted connections
  size_t counted_ = 0;
  // Counted connections under a deadline (reading or writing), soonest first.
  std::set<std::pair<SteadyTime, ConnectionId>> deadlines_;
};

}  // namespace fraiseql::http_internal
