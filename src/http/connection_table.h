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
// runs, the wait is ours, and no deadline runs. Draining: its request was refused in the middle
// (the answer sent, our side of the stream ended) and what the client still sends is dropped;
// it serves nothing more, so it is the first to make room, and the deadline it had runs on.
enum class ConnectionPhase { kReading, kHandling, kWriting, kDraining };

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
  // are not kept. When the table is full, one connection not being answered is given up for
  // the new one, the first found of:
  //   1. a draining one (the longest draining);
  //   2. a reader that has waited at least grace() for its request: of the address holding the
  //      most connections, the one waiting longest;
  //   3. any reader, chosen the same way;
  // so that a client that has just connected and is sending its request does not pay for
  // idle or slow ones, and a flood of new connections from few addresses does not push out a
  // lone probe. When none is draining or reading, the new one is refused.
  // REQUIRES: `id` is not in the table.
  Admission Admit(ConnectionId id, const std::string& address, SteadyTime now);
  // The connection moved to `phase` at `now`; reading and writing start a new deadline,
  // draining keeps the one running. Unknown, given-up and draining ids are ignored (a draining
  // connection serves nothing more).
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
  // Counted connections being answered (handling or writing): answers not yet written.
  size_t answering() const { return answering_; }
  // How long a reader waits for its request before it makes room ahead of newer readers: a
  // tenth of the deadline, time enough for a well-behaved client's request to arrive.
  std::chrono::milliseconds grace() const { return limits_.deadline / 10; }
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

  std::optional<ConnectionId> Victim(SteadyTime now) const;
  // Of the addresses with a reader due by `latest_deadline`, the one holding the most
  // connections (ties: the longer waiting reader); its longest-waiting reader.
  std::optional<ConnectionId> LongestReaderOfBusiestAddress(SteadyTime latest_deadline) const;
  // Puts the entry under its phase's deadline (none while handling) and among its address's
  // readers, the draining or the answering, as its phase says; Untrack takes it out of them.
  void Track(ConnectionId id, const Entry& entry, Address& holder);
  void Untrack(ConnectionId id, const Entry& entry, Address& holder);
  // It no longer counts (given up or removed).
  void Forget(ConnectionId id, const Entry& entry);
  void GiveUp(ConnectionId id, Entry& entry);

  ConnectionLimits limits_;
  std::unordered_map<ConnectionId, Entry> entries_;
  std::unordered_map<std::string, Address> per_address_;  // addresses holding counted connections
  size_t counted_ = 0;
  size_t answering_ = 0;
  // Counted connections under a deadline (reading, writing or draining), soonest first.
  std::set<std::pair<SteadyTime, ConnectionId>> deadlines_;
  // Counted draining connections, soonest deadline (longest draining) first.
  std::set<std::pair<SteadyTime, ConnectionId>> draining_;
};

}  // namespace fraiseql::http_internal
